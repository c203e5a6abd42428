"""Safe YAML/JSON reading with line numbers and hard limits.

libyaml (PyYAML's C parser) parses and composes nodes; we then turn nodes into plain
JSON-compatible Python data ourselves, in one pass that also:

* accepts only the standard tags (str, int, float, bool, null, map, seq, merge; timestamps
  and ``!!binary`` stay strings as Kubernetes' own YAML→JSON conversion keeps them) — any
  other tag (``!!python/object``, ``!custom``) is an error, nothing is ever constructed;
* rejects duplicate mapping keys and non-scalar keys (keys become their source text);
* bounds nesting depth and alias expansion (YAML "billion laughs");
* refuses numbers no Kubernetes object can hold: integers outside 64 bits, non-finite
  floats (``.inf``, ``.nan``, ``1e400`` -- JSON has no such values) and number literals
  longer than :data:`MAX_NUMBER_CHARS` (constructing them would be slow or raise).

Every error names the file, the line and the field path (``spec.containers[0].ports``).

Nothing here keeps nodes: when a later stage needs the line of a field (an error), the
document is composed again and the field path walked (:func:`locate`) — the happy path
pays nothing for line numbers beyond each document's start line.
"""

from __future__ import annotations

import functools
import math
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from attackmap.errors import InputError

__all__ = [
    "MAX_ALIAS_CHARS",
    "MAX_DEPTH",
    "MAX_DOCUMENTS_PER_FILE",
    "MAX_EXPANDED_NODES",
    "MAX_FILE_BYTES",
    "MAX_FILE_NODES",
    "MAX_NUMBER_CHARS",
    "RawDocument",
    "decode_bytes",
    "format_path",
    "item_lines",
    "locate",
    "parse_text",
    "read_file",
    "read_stream",
]

#: Largest file (or stdin / text input) read, in bytes.
MAX_FILE_BYTES = 64 * 1024 * 1024
#: Most YAML documents in one file.
MAX_DOCUMENTS_PER_FILE = 100_000
#: Deepest nesting of mappings/sequences in one document (Kubernetes objects need ~15).
MAX_DEPTH = 64
#: Most nodes one document may expand to, counting every alias expansion (alias bombs).
MAX_EXPANDED_NODES = 1_000_000
#: Most nodes libyaml may compose from one file, counted *while* composing: a document is
#: refused before its node tree (~300 bytes a node) outgrows the memory budget. Real
#: manifests have under 1,000 nodes a document; a `kubectl get -o yaml` list of about
#: 1,500 pods fits (split larger dumps, e.g. one file per namespace).
MAX_FILE_NODES = 500_000
#: Most characters aliases may add to one document beyond its own text (an alias counts
#: the size of what it expands to): a 1 MB anchored string used 300 times is refused
#: instead of becoming 300 MB of output.
MAX_ALIAS_CHARS = 4 * 1024 * 1024
#: Longest integer or float literal accepted (int64 needs 20 characters, a double ~25).
MAX_NUMBER_CHARS = 100
_INT64_MIN, _INT64_MAX = -(2**63), 2**64 - 1  # int64 and uint64 fields both exist

_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_MERGE = "tag:yaml.org,2002:merge"
_BaseLoader: type[Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_IMPLICIT = yaml.resolver.Resolver.yaml_implicit_resolvers


#: A number as the Kubernetes API server's YAML reader (go-yaml) reads one: ``1e5`` and
#: ``1.5E-3`` are numbers, though PyYAML's YAML 1.1 rules (an exponent needs a dot and a
#: sign) read them as strings.
_GO_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_GO_INT = re.compile(r"[-+]?[0-9]+")
#: What Python's ``json`` writes for non-finite floats; JSON itself has no such values.
_JSON_NON_FINITE = frozenset({"NaN", "Infinity", "-Infinity", "+Infinity"})
#: The tag of such a plain scalar in a JSON text (refused by the builder).
_NON_FINITE = "tag:attackmap,2026:json-non-finite"
#: YAML 1.1's booleans as go-yaml reads them, which adds y/Y/n/N (`privileged: y` is true
#: to the API server).
_GO_BOOLS = frozenset({"y", "Y", "n", "N"})
_BOOL_VALUES: dict[str, bool] = {**SafeConstructor.bool_values, "y": True, "n": False}


@functools.lru_cache(maxsize=65536)
def _plain_scalar_tag(value: str) -> str:
    """The implicit tag of a plain scalar, as the API server's YAML reader resolves it
    (memoised: manifests repeat the same keys and values endlessly).

    PyYAML's YAML 1.1 rules, except where Kubernetes' reader (go-yaml) differs: base-60
    numbers (``1:00``, read as 60 by YAML 1.1) are strings, a number with an exponent but no
    dot or sign (``1e3``) is a number (one that overflows, ``1e999``, stays a string), and
    ``y``/``n`` (any case) are booleans.
    """
    if value in _GO_BOOLS:
        return _BOOL
    for tag, regexp in _IMPLICIT.get(value[0] if value else "", []) + _IMPLICIT.get(None, []):
        if regexp.match(value):
            if tag in (_INT, _FLOAT) and ":" in value:  # sexagesimal
                return _STR
            return str(tag)
    digits = value.replace("_", "")  # go-yaml drops underscores before it parses a number
    if _GO_FLOAT.fullmatch(digits):
        if _GO_INT.fullmatch(digits):  # go-yaml tries an integer first
            return _INT
        if math.isfinite(float(digits)):
            return _FLOAT
    return _STR


@functools.lru_cache(maxsize=4096)
def _json_scalar_tag(value: str) -> str:
    """:func:`_plain_scalar_tag` in a JSON text: every unquoted number is a number (``1e999``
    too, refused later as not finite) and ``NaN``/``Infinity`` get their own tag."""
    if value in _JSON_NON_FINITE:
        return _NON_FINITE
    if _GO_FLOAT.fullmatch(value):
        return _FLOAT if any(c in value for c in ".eE") else _INT
    return _plain_scalar_tag(value)


class _TooManyNodes(Exception):
    """Raised from inside libyaml's composer when a file has too many nodes."""

    def __init__(self, line: int) -> None:
        super().__init__(line)
        self.line = line


class _Loader(_BaseLoader):  # type: ignore[misc]  # PyYAML's loaders are untyped
    """libyaml's parser and composer with a memoised tag resolver and a node budget.

    The composer calls ``descend_resolver(parent, index)`` before composing each node
    (a hook for path resolvers, which attackmap never registers): it counts the nodes
    composed from the file and stops the composer at :data:`MAX_FILE_NODES`, before a
    huge document's node tree exists. ``ascend_resolver`` stays a C callable that returns
    at once (``tuple()``)."""

    ascend_resolver = staticmethod(tuple)
    nodes = 0

    def descend_resolver(self, parent: Node | None, index: Any) -> None:
        self.nodes += 1
        if self.nodes > MAX_FILE_NODES:
            raise _TooManyNodes(parent.start_mark.line + 1 if parent is not None else 1)

    def resolve(self, kind: type[Node], value: Any, implicit: tuple[bool, bool]) -> str:
        if kind is ScalarNode:
            return _plain_scalar_tag(value) if implicit[0] else _STR
        return _MAP if kind is MappingNode else _SEQ


class _JsonLoader(_Loader):
    """:class:`_Loader` for a text that starts like JSON (``{`` or ``[``), as the API
    server's decoder decides: JSON's number syntax, and ``NaN``/``Infinity`` refused."""

    def resolve(self, kind: type[Node], value: Any, implicit: tuple[bool, bool]) -> str:
        if kind is ScalarNode:
            return _json_scalar_tag(value) if implicit[0] else _STR
        return _MAP if kind is MappingNode else _SEQ


_JSON_START = re.compile(r"[ \t\r\n]*[\[{]")


_SC = SafeConstructor()


@functools.lru_cache(maxsize=4096)
def _number_value(tag: str, text: str) -> int | float:
    """PyYAML's value of an int or float scalar (memoised: ports, user ids and replica
    counts repeat; the value depends on the text alone)."""
    node = ScalarNode(tag, text)
    value: int | float = (
        _SC.construct_yaml_int(node) if tag == _INT else _SC.construct_yaml_float(node)
    )
    return value


_HELM_SOURCE = "# Source: "  # Helm's comment above each rendered template

_KEY_TAGS = frozenset({_STR, _INT, _FLOAT, _BOOL, _NULL})  # scalar keys become their text
_KEEP_AS_STRING = frozenset({"tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:binary"})


@dataclass(frozen=True, slots=True)
class RawDocument:
    """One parsed document: plain data plus where it came from."""

    data: Any
    path: str
    index: int  # 0-based document index in the file
    line: int | None  # 1-based line of the document's first node
    helm_source: str | None
    text: str | None  # the whole source text, for :func:`locate` on errors


_READ_CHUNK = 1024 * 1024


def _oversize(path: str | Path, size: int | None) -> InputError:
    """``size`` is None for a stream refused after reading one byte past the limit."""
    told = f"{size} bytes, more than" if size is not None else "larger than"
    return InputError(
        f"file is {told} the limit of {MAX_FILE_BYTES} bytes",
        path=path,
        hint="split the input into smaller files",
    )


def read_stream(stream: BinaryIO, path: str | Path, first: int = _READ_CHUNK) -> bytes:
    """The bytes of ``stream`` (stdin, a pipe, a file), reading at most one byte more than
    :data:`MAX_FILE_BYTES`: an endless or oversize stream is refused, never read whole.
    ``first``: the size of the first read (a file's expected size + 1: one read)."""
    chunks: list[bytes] = []
    size = 0
    want = first
    while True:
        chunk = stream.read(min(want, MAX_FILE_BYTES + 1 - size))
        want = _READ_CHUNK
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_FILE_BYTES:
            raise _oversize(path, None)


def read_file(path: Path) -> bytes:
    """The bytes of file ``path``; one larger than :data:`MAX_FILE_BYTES` is refused from
    its size before any of it is read (special files whose size ``stat`` does not tell --
    FIFOs, ``/dev/stdin``, ``/proc`` -- by a bounded read)."""
    try:
        with path.open("rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size > MAX_FILE_BYTES:
                raise _oversize(path, size)
            return read_stream(f, path, first=size + 1 if size else _READ_CHUNK)
    except OSError as e:
        raise InputError(f"cannot read: {e.strerror}", path=path) from e


def decode_bytes(raw: bytes, path: str) -> str:
    """Decode a file's bytes as UTF-8 (BOM allowed); refuse oversize, non-UTF-8 and NUL."""
    if len(raw) > MAX_FILE_BYTES:
        raise _oversize(path, len(raw))
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise InputError(
            f"not valid UTF-8 (byte {e.start})", path=path, line=line, hint="save the file as UTF-8"
        ) from e
    return text


def _check_text(text: str, path: str) -> None:
    if len(text) > MAX_FILE_BYTES:
        raise InputError(f"input is larger than the limit of {MAX_FILE_BYTES} bytes", path=path)
    nul = text.find("\x00")
    if nul >= 0:
        raise InputError(
            "contains a NUL byte (binary file?)", path=path, line=text.count("\n", 0, nul) + 1
        )


class _NodeError(Exception):
    """A refused node; the field path is collected while the builder unwinds (so the happy
    path never pays for it) and turned into an :class:`InputError` by :func:`parse_text`."""

    def __init__(self, message: str, line: int, detail: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.detail = detail  # shown unless the field may hold a secret
        self.parts: list[str | int] = []  # innermost first

    def to_input_error(self, path: str) -> InputError:
        parts = self.parts[::-1]
        message = self.message
        if self.detail and not _may_hold_a_secret(parts):
            message = f"{message} {self.detail}"
        return InputError(message, path=path, line=self.line, field=format_path(parts) or None)


def _tag_detail(tag: str) -> str:
    """How an error names a refused tag: a standard one (``!!python/object``) by its name, a
    local one (``!Ref``, ``!anything``) not at all: it is free text, and may be a secret
    written where a value belongs (``password: !S3cret``)."""
    return repr(tag) if tag.startswith("tag:yaml.org,2002:") else "(a local tag)"


#: Top-level fields whose values are data (a Secret's, a ConfigMap's).
_DATA_FIELDS = frozenset({"data", "stringData", "binaryData"})


def _may_hold_a_secret(parts: Sequence[str | int]) -> bool:
    """Whether a field's value may be a secret: a Secret's or ConfigMap's data, an env
    value, an annotation, a command or argument (``export TOKEN=...``)."""
    while len(parts) > 1 and parts[0] == "items" and isinstance(parts[1], int):
        parts = parts[2:]  # an object inside a List (nested ones too) is checked as itself
    if parts and parts[0] in _DATA_FIELDS:
        return True
    for i, part in enumerate(parts):
        inner = parts[i + 1 :]
        if part in ("annotations", "command", "args") and inner:
            return True
        if part == "env" and inner[1:2] == ["value"]:
            return True
    return False


class _Builder:
    """Turns one composed document into plain data, enforcing the limits."""

    __slots__ = ("aliases", "chars", "done", "expanded", "in_progress", "max_chars", "path")

    def __init__(self, path: str, aliases: bool = True, text_chars: int = 0) -> None:
        """``aliases=False``: the text has no anchor (no ``&``), so no node is shared and
        the alias bookkeeping (every collection node by id) is skipped. ``text_chars``: the
        length of the document's text; with aliases, the characters of every scalar
        visited (an alias counts what it expands to) may exceed it by at most
        :data:`MAX_ALIAS_CHARS`."""
        self.path = path
        self.aliases = aliases
        self.expanded = 0
        self.chars = 0
        self.max_chars = text_chars + MAX_ALIAS_CHARS
        self.done: dict[int, tuple[Any, int, int]] = {}
        self.in_progress: set[int] = set()

    def error(self, node: Node, message: str, detail: str = "") -> _NodeError:
        return _NodeError(message, node.start_mark.line + 1, detail)

    def duplicate(self, key_node: Node, key: str) -> _NodeError:
        error = self.error(key_node, f"duplicate key {key!r}")
        error.parts.append(key)
        return error

    def count_chars(self, node: Node, n: int) -> None:
        self.chars += n
        if self.chars > self.max_chars:
            raise self.error(
                node,
                f"aliases expand the document by more than {MAX_ALIAS_CHARS} characters",
            )

    def build(self, node: Node, depth: int) -> tuple[Any, int]:
        """Return (value, expanded node count of the subtree); counts the characters of
        every scalar visited (:meth:`count_chars`)."""
        if isinstance(node, ScalarNode):
            self.count_chars(node, len(node.value))
            return self.scalar(node), 1
        key = id(node) if self.aliases else 0
        chars_before = self.chars
        if self.aliases:
            seen = self.done.get(key)
            if seen is not None:  # an alias of an already built collection
                self.expanded += seen[1]
                if self.expanded > MAX_EXPANDED_NODES:
                    raise self.error(
                        node,
                        f"aliases expand to more than {MAX_EXPANDED_NODES} nodes (alias bomb?)",
                    )
                self.count_chars(node, seen[2])
                return seen[0], seen[1]
            if key in self.in_progress:
                raise self.error(node, "recursive alias")
            self.in_progress.add(key)
        if depth > MAX_DEPTH:
            raise self.error(node, f"nested deeper than {MAX_DEPTH} levels")
        if isinstance(node, SequenceNode):
            if node.tag != _SEQ:
                raise self.error(node, "unsupported YAML tag", _tag_detail(node.tag))
            items: list[Any] = []
            size = 1
            for i, child in enumerate(node.value):
                if child.__class__ is ScalarNode and child.tag == _STR:  # the common case
                    items.append(child.value)
                    self.count_chars(child, len(child.value))
                    size += 1
                    continue
                try:
                    value, n = self.build(child, depth + 1)
                except _NodeError as e:
                    e.parts.append(i)
                    raise
                items.append(value)
                size += n
            result: tuple[Any, int] = (items, size)
        elif isinstance(node, MappingNode):
            result = self.mapping(node, depth)
        else:  # pragma: no cover - libyaml composes only these three node types
            raise self.error(node, "unsupported YAML node")
        if self.aliases:
            self.in_progress.discard(key)
            self.done[key] = (result[0], result[1], self.chars - chars_before)
        self.expanded += result[1]
        if self.expanded > MAX_EXPANDED_NODES:
            raise self.error(node, f"document expands to more than {MAX_EXPANDED_NODES} nodes")
        return result

    def plain(self, node: Node, depth: int) -> Any:
        """:meth:`build` for a document without anchors (``aliases=False``), the common
        case: no node is shared, so the expanded size is the node count, counted per
        collection, and nothing is remembered per node."""
        cls = node.__class__
        if cls is ScalarNode:
            return node.value if node.tag == _STR else self.scalar(node)  # type: ignore[arg-type]
        if depth > MAX_DEPTH:
            raise self.error(node, f"nested deeper than {MAX_DEPTH} levels")
        self.expanded += len(node.value) + 1
        if self.expanded > MAX_EXPANDED_NODES:
            raise self.error(node, f"document expands to more than {MAX_EXPANDED_NODES} nodes")
        if cls is SequenceNode:
            if node.tag != _SEQ:
                raise self.error(node, "unsupported YAML tag", _tag_detail(node.tag))
            items: list[Any] = []
            for i, child in enumerate(node.value):
                if child.__class__ is ScalarNode and child.tag == _STR:  # the common case
                    items.append(child.value)
                    continue
                try:
                    items.append(self.plain(child, depth + 1))
                except _NodeError as e:
                    e.parts.append(i)
                    raise
            return items
        if cls is not MappingNode:  # pragma: no cover - libyaml composes only three types
            raise self.error(node, "unsupported YAML node")
        if node.tag != _MAP:
            raise self.error(node, "unsupported YAML tag", _tag_detail(node.tag))
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.__class__ is not ScalarNode or key_node.tag not in _KEY_TAGS:
                # merge keys (<<), refused keys: the general path, from this node on
                self.expanded -= len(node.value) + 1
                return self.mapping(node, depth)[0]  # type: ignore[arg-type]
            key = key_node.value
            if key in out:
                raise self.duplicate(key_node, key)
            if value_node.__class__ is ScalarNode and value_node.tag == _STR:
                out[key] = value_node.value
                continue
            try:
                out[key] = self.plain(value_node, depth + 1)
            except _NodeError as e:
                e.parts.append(key)
                raise
        return out

    def mapping(self, node: MappingNode, depth: int) -> tuple[Any, int]:
        if node.tag != _MAP:
            raise self.error(node, "unsupported YAML tag", _tag_detail(node.tag))
        out: dict[str, Any] = {}
        merged: dict[str, Any] = {}
        size = 1
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                raise self.error(key_node, "mapping keys must be scalars")
            if key_node.tag == _MERGE:
                value, n = self.build(value_node, depth + 1)
                size += n
                sources = value if isinstance(value, list) else [value]
                for source in reversed(sources):
                    if not isinstance(source, dict):
                        raise self.error(value_node, "a merge key (<<) needs a mapping")
                    merged.update(source)
                continue
            if key_node.tag not in _KEY_TAGS:
                raise self.error(key_node, "unsupported YAML tag", _tag_detail(key_node.tag))
            key = key_node.value
            if key in out:
                raise self.duplicate(key_node, key)
            self.count_chars(key_node, len(key))
            if value_node.__class__ is ScalarNode and value_node.tag == _STR:
                out[key] = value_node.value
                self.count_chars(value_node, len(value_node.value))
                size += 1
                continue
            try:
                value, n = self.build(value_node, depth + 1)
            except _NodeError as e:
                e.parts.append(key)
                raise
            out[key] = value
            size += n
        if merged:
            merged.update(out)
            out = merged
        return out, size

    def scalar(self, node: ScalarNode) -> Any:
        tag = node.tag
        if tag == _STR or tag in _KEEP_AS_STRING:
            return node.value
        if tag == _NULL:
            return None
        if tag == _BOOL:  # SafeConstructor.construct_yaml_bool, refusing what it cannot read
            value = _BOOL_VALUES.get(node.value.lower())
            if value is None:  # only an explicit !!bool tag gets here
                raise self.error(
                    node, "malformed boolean (a !!bool tag on a value that is not one)"
                )
            return value
        if tag in (_INT, _FLOAT):
            return self.number(node)
        if tag == _NON_FINITE:
            raise self.error(node, _NOT_FINITE)
        raise self.error(
            node, "unsupported YAML tag", f"{_tag_detail(tag)} (only standard tags are accepted)"
        )

    def number(self, node: ScalarNode) -> int | float:
        text = node.value
        if len(text) > MAX_NUMBER_CHARS:
            raise self.error(
                node, f"number literal of {len(text)} characters (limit {MAX_NUMBER_CHARS})"
            )
        try:
            value = _number_value(node.tag, text)
        except (ValueError, OverflowError, IndexError) as e:  # an explicit !!int/!!float tag
            tag_name, kind = (
                ("!!int", "an integer") if node.tag == _INT else ("!!float", "a number")
            )
            raise self.error(
                node, f"malformed number (a {tag_name} tag on a value that is not {kind})"
            ) from e
        if isinstance(value, int):
            if not _INT64_MIN <= value <= _INT64_MAX:
                raise self.error(node, f"integer of {len(text)} characters does not fit in 64 bits")
        elif not math.isfinite(value):
            raise self.error(node, _NOT_FINITE)
        return value


#: Errors name the field and the line, never the value: it may be a secret (a Secret's
#: data, a credential in an env var).
_NOT_FINITE = "not a finite number (JSON and the Kubernetes API have no infinity or NaN)"


def _yaml_error(e: yaml.YAMLError, path: str) -> InputError:
    mark = getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
    problem = getattr(e, "problem", None) or str(e)
    line = mark.line + 1 if mark is not None else None
    return InputError(f"invalid YAML: {problem}", path=path, line=line)


def _compose(text: str, path: str) -> Iterator[Node]:
    loader = (_JsonLoader if _JSON_START.match(text) else _Loader)(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is not None:
                yield node
    except yaml.YAMLError as e:
        raise _yaml_error(e, path) from e
    except _TooManyNodes as e:
        raise InputError(
            f"more than {MAX_FILE_NODES} YAML nodes in one file",
            path=path,
            line=e.line,
            hint="split the input into smaller files",
        ) from None
    finally:
        loader.dispose()


def _helm_sources(text: str) -> list[tuple[int, str]]:
    """(line, template) of each line ``# Source: <template>`` (trailing blanks dropped).

    Found with ``str.find`` (a memchr-speed scan) rather than a multi-line regular
    expression, which tries a match at every character: a seventh of the parse time."""
    sources: list[tuple[int, str]] = []
    line, counted, pos = 1, 0, 0
    while (start := text.find(_HELM_SOURCE, pos)) >= 0:
        pos = start + len(_HELM_SOURCE)
        if start and text[start - 1] != "\n":  # not at the start of a line
            continue
        end = text.find("\n", pos)
        rest = text[pos : end if end >= 0 else len(text)]
        if not rest:
            continue
        line += text.count("\n", counted, start)  # lines counted from the previous one on
        counted = start
        sources.append((line, rest.rstrip() or rest[0]))  # what (.+?)\s*$ captures
    return sources


def parse_text(text: str, path: str) -> list[RawDocument]:
    """Parse YAML (or JSON) text into documents; empty documents are dropped."""
    _check_text(text, path)
    sources = _helm_sources(text)
    docs: list[RawDocument] = []
    aliases = "&" in text  # an anchor needs "&"; without one no node is shared
    previous_end = 0
    next_source = 0  # sources before it lie at or above the previous document's start
    for index, node in enumerate(_compose(text, path)):
        line = node.start_mark.line + 1
        if index >= MAX_DOCUMENTS_PER_FILE:
            raise InputError(
                f"more than {MAX_DOCUMENTS_PER_FILE} documents",
                path=path,
                line=line,
                hint="split the input into several files",
            )
        # the last "# Source:" comment between the previous document's end and this one's
        # start (one pass over the comments for the whole file, not one per document)
        helm = None
        while next_source < len(sources) and sources[next_source][0] <= line:
            if sources[next_source][0] > previous_end:
                helm = sources[next_source][1]
            next_source += 1
        previous_end = node.end_mark.line + 1
        try:
            if aliases:
                chars = node.end_mark.index - node.start_mark.index
                data = _Builder(path, True, chars).build(node, 0)[0]
            else:
                data = _Builder(path, False).plain(node, 0)
        except _NodeError as e:
            raise e.to_input_error(path) from None
        except RecursionError as e:  # pragma: no cover - MAX_DEPTH keeps well below the limit
            raise InputError("nested too deeply", path=path, line=line) from e
        docs.append(RawDocument(data, path, index, line, helm, text))
    return docs


def format_path(parts: Sequence[str | int]) -> str:
    """``("spec", "containers", 0, "name")`` → ``spec.containers[0].name``."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _document_node(text: str, index: int) -> Node | None:
    """Document ``index`` of ``text`` composed again (for the line of a field or an item:
    the happy path keeps no nodes), or ``None`` when it is not there or not YAML."""
    try:
        loader = _Loader(text)
        try:
            node: Node | None = None
            for _ in range(index + 1):
                if not loader.check_node():
                    return None
                node = loader.get_node()
        finally:
            loader.dispose()
    except yaml.YAMLError:
        return None
    return node


def locate(text: str | None, index: int, parts: Sequence[str | int]) -> int | None:
    """The 1-based line of field ``parts`` in document ``index`` of ``text`` (best effort).

    Walks as far down the path as the document goes and returns that node's line.
    """
    node = _document_node(text, index) if text is not None else None
    if node is None:
        return None
    line = node.start_mark.line + 1
    for part in parts:
        child: Node | None = None
        if isinstance(node, MappingNode) and isinstance(part, str):
            for key_node, value_node in node.value:
                if isinstance(key_node, ScalarNode) and key_node.value == part:
                    child, line = value_node, key_node.start_mark.line + 1
                    break
        elif (
            isinstance(node, SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value)
        ):
            child = node.value[part]
            line = child.start_mark.line + 1
        if child is None:
            break
        node = child
    return line


def item_lines(text: str | None, index: int, items: Sequence[tuple[int, ...]]) -> list[int | None]:
    """The 1-based start line of each List item of document ``index`` at ``items`` (index
    paths, one index per level of nested Lists: ``(1, 0)`` is ``items[1].items[0]``),
    composing the document once; ``None`` for an item that is not there."""
    root = _document_node(text, index) if text is not None else None
    return [_item_line(root, at) for at in items]


def _item_line(node: Node | None, at: tuple[int, ...]) -> int | None:
    for i in at:
        items = None
        if isinstance(node, MappingNode):
            items = next(
                (v for k, v in node.value if isinstance(k, ScalarNode) and k.value == "items"),
                None,
            )
        if not (isinstance(items, SequenceNode) and i < len(items.value)):
            return None
        node = items.value[i]
    return node.start_mark.line + 1 if node is not None else None
