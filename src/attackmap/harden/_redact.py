"""Secret values hidden from what ``harden`` shows: the per-control diffs and ``HARDENING.md``.

The hardened manifests themselves keep their values (they are the user's, and must still
deploy); everything attackmap writes *about* them shows ``<redacted>`` instead.

Secrets are found in the YAML structure, not guessed from lines: each node knows where it
is written, so a value is replaced in place however it is spelt -- a block scalar over
several lines, a flow mapping ``{name: X, value: Y}``, an anchor used through an alias, an
``export TOKEN=...`` inside a command. These are secret:

* the literal ``value`` of an env entry ``{name, value}`` whose name looks like a credential
  (:func:`attackmap.model.is_credential_name`: ``*_KEY``, ``*_TOKEN``, ``*PASSWORD*``...),
  or is ``PWD``;
* every value under a Secret's ``data`` and ``stringData``, and its annotations' values;
* the ``last-applied-configuration`` annotation (a copy of the whole object);
* in any string: ``NAME=value``, ``--name=value`` and ``--name value`` with such a name
  (shell commands, ``args``), and in a list, the item after such a ``--name``;
* anywhere, a value of a known credential shape (:data:`_SHAPES`: NGC ``nvapi-``, Hugging
  Face ``hf_``, OpenAI ``sk-``, GitHub, GitLab, Slack and AWS keys, JWTs) and PEM private keys;
  a whole value of any shape the analysis knows (``attackmap.model._workload.credential_kind``:
  also URLs with a password and ``Bearer`` tokens).

:func:`redact` keeps every line break, so the diff of two redacted texts has the same hunks
as the diff of the texts. Text that is not YAML this reader understands is redacted whole.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import re
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from attackmap.model import is_credential_name
from attackmap.model._objects import LAST_APPLIED
from attackmap.model._workload import credential_kind

__all__ = ["REDACTED", "redact", "scrub", "secret_values"]

REDACTED = "<redacted>"

_LOADER: type[Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_STR = "tag:yaml.org,2002:str"
_MERGE = "tag:yaml.org,2002:merge"

#: Values of a known credential shape, anywhere in a string.
# The token shapes whose *part* of a line is cut out (the rest of the command stays
# readable). A value the model's credential_kind() recognises (model/_workload.py
# CREDENTIAL_SHAPES: the same providers, with the analysis's stricter lengths) is redacted
# whole by _Finder.scalar() in any case, so a shape added there is never shown here.
_SHAPES = re.compile(
    # only at the start of a token (the look-behind), and possessive: each character is
    # looked at a bounded number of times ('eyJ' repeated 100,000 times used to take
    # minutes: every occurrence rescanned the rest of the value)
    r"(?<![A-Za-z0-9_-])(?:"
    r"nvapi-[A-Za-z0-9_-]{8,}+"  # NVIDIA NGC API key
    r"|hf_[A-Za-z0-9]{20,}+"  # Hugging Face
    r"|sk-[A-Za-z0-9_-]{20,}+"  # OpenAI and compatible APIs
    r"|gh[pousr]_[A-Za-z0-9]{20,}+|github_pat_[A-Za-z0-9_]{20,}+"
    r"|glpat-[A-Za-z0-9_-]{20,}+"
    r"|xox[abposr]-[A-Za-z0-9-]{10,}+"
    r"|(?:AKIA|ASIA)[0-9A-Z]{16}"
    r"|eyJ[A-Za-z0-9_-]{8,}+\.eyJ[A-Za-z0-9_-]{8,}+\.[A-Za-z0-9_-]{8,}+"  # JWT
    r")"
)
_PRIVATE_KEY = re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----")
# NAME=value (shell, env files, properties) and --name=value / --name value (flags)
_VALUE = r"(?P<value>\"[^\"\n]*\"|'[^'\n]*'|[^\s;&|<>()`\"']+)"
# Names are bounded and possessive, and a match starts only where a token does: linear in
# the text (an annotation of '.--a' repeated made the flag pattern quadratic).
_ASSIGNMENT = re.compile(r"(?<![\w.-])(?:--?)?(?P<name>[A-Za-z_][\w.-]{0,127}+)=" + _VALUE)
_FLAG_WITH_VALUE = re.compile(  # the value may follow a shell line continuation
    r"(?<![\w.-])--(?P<name>[A-Za-z][\w.-]{0,127}+)(?:[ \t]|\\\r?\n)++(?!-)" + _VALUE
)
#: The default of a shell parameter expansion: ``${HF_TOKEN:-hf_...}``, ``${X=...}``.
_SHELL_DEFAULT = re.compile(r"^\$\{[A-Za-z_]\w{0,127}+:?[-=](?P<value>[^}]{1,4096}+)\}")
_FLAG = re.compile(r"--?(?P<name>[A-Za-z][\w.-]*)")
_LINE_BREAK = re.compile(r"(\r\n|[\n\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029])")
#: Shortest value :func:`scrub` replaces wherever it appears (shorter ones are replaced
#: only where the structure says they are secret, not in every word that happens to match).
_MIN_SCRUBBED = 6


def _credential(name: str) -> bool:
    """A credential's name, or ``PWD`` (a password unless it is a path: hidden either way)."""
    return name.upper() == "PWD" or is_credential_name(re.sub(r"[.-]", "_", name))


@dataclass(frozen=True)
class _Hit:
    node: ScalarNode
    parts: tuple[str, ...]
    """The secret parts of the scalar's value; empty: the whole value."""


class _Finder:
    """Walks composed documents once, collecting the secret scalars (by node identity:
    an aliased node is one node, found once)."""

    def __init__(self) -> None:
        self.hits: dict[int, _Hit] = {}
        self.seen: set[int] = set()

    def whole(self, node: Node | None) -> None:
        """Every scalar value under ``node`` (mapping keys excepted) is secret."""
        for scalar in _values(node):
            if scalar.value != "":
                self.hits[id(scalar)] = _Hit(scalar, ())

    def walk(self, root: Node) -> None:
        stack = [root]
        while stack:
            node = stack.pop()
            if id(node) in self.seen:
                continue
            self.seen.add(id(node))
            if isinstance(node, ScalarNode):
                self.scalar(node)
            elif isinstance(node, MappingNode):
                items = _items(node)
                self.mapping(items)
                stack.extend(items.values())
            elif isinstance(node, SequenceNode):
                for item, after in zip(node.value, node.value[1:], strict=False):
                    flag = _FLAG.fullmatch(item.value) if isinstance(item, ScalarNode) else None
                    if flag and _credential(flag.group("name")):
                        self.whole(after)  # ["--token", "hf_..."]
                stack.extend(node.value)

    def secret(self, items: dict[str, Node]) -> None:
        self.whole(items.get("data"))
        self.whole(items.get("stringData"))
        meta = items.get("metadata")
        if isinstance(meta, MappingNode):
            self.whole(_items(meta).get("annotations"))

    def mapping(self, items: dict[str, Node]) -> None:
        kind = _text(items.get("kind"))
        if kind == "Secret":
            self.secret(items)
        listed = items.get("items")
        if kind == "SecretList" and isinstance(listed, SequenceNode):
            # the API's typed list: its items carry no kind (inside a List too)
            for item in listed.value:
                if isinstance(item, MappingNode):
                    self.secret(_items(item))
        name = _text(items.get("name"))
        if name is not None and "value" in items and _credential(name):
            self.whole(items["value"])
        if LAST_APPLIED in items:
            self.whole(items[LAST_APPLIED])

    def scalar(self, node: ScalarNode) -> None:
        if node.tag != _STR or id(node) in self.hits:
            return
        value: str = node.value
        if _PRIVATE_KEY.search(value):
            self.hits[id(node)] = _Hit(node, ())
            return
        parts = [m.group() for m in _SHAPES.finditer(value)]
        for pattern in (_ASSIGNMENT, _FLAG_WITH_VALUE):
            for m in pattern.finditer(value):
                secret = m.group("value").strip("\"'")
                if not (_credential(m.group("name")) and secret):
                    continue
                if not secret.startswith("$"):
                    parts.append(secret)
                elif default := _SHELL_DEFAULT.search(secret):  # ${HF_TOKEN:-hf_...}
                    parts.append(default.group("value"))
        if parts:
            self.hits[id(node)] = _Hit(node, tuple(sorted(set(parts), key=len, reverse=True)))
        elif credential_kind(value) is not None:
            # a shape the analysis knows and _SHAPES does not cut out (a URL's password,
            # a Bearer token...): the whole value
            self.hits[id(node)] = _Hit(node, ())


def _text(node: Node | None) -> str | None:
    return node.value if isinstance(node, ScalarNode) else None


def _items(node: MappingNode, depth: int = 0) -> dict[str, Node]:
    """Scalar key -> value node, with ``<<`` merges, nested ones too (the mapping's own
    keys win, then the first source's)."""
    merged: dict[str, Node] = {}
    own: dict[str, Node] = {}
    for key, value in node.value:
        if key.tag == _MERGE or (isinstance(key, ScalarNode) and key.value == "<<"):
            sources = value.value if isinstance(value, SequenceNode) else [value]
            for source in sources:
                if isinstance(source, MappingNode) and source is not node and depth < 64:
                    for k, v in _items(source, depth + 1).items():
                        merged.setdefault(k, v)
        elif isinstance(key, ScalarNode):
            own[key.value] = value
    return {**merged, **own}


def _values(node: Node | None) -> Iterator[ScalarNode]:
    """The scalars under ``node``, mapping keys excepted."""
    stack = [] if node is None else [node]
    seen: set[int] = set()
    while stack:
        n = stack.pop()
        if id(n) in seen:
            continue
        seen.add(id(n))
        if isinstance(n, ScalarNode):
            yield n
        elif isinstance(n, MappingNode):
            stack.extend(v for _, v in n.value)
        elif isinstance(n, SequenceNode):
            stack.extend(n.value)


def _hits(text: str) -> list[_Hit] | None:
    """The secret scalars of ``text``; ``None`` when it cannot be read as YAML."""
    finder = _Finder()
    try:
        for root in yaml.compose_all(text, Loader=_LOADER):
            if root is not None:
                finder.walk(root)
    except (yaml.YAMLError, RecursionError, ValueError):
        return None
    return list(finder.hits.values())


def _blank(region: str) -> str:
    """``region`` with each line's text replaced by ``<redacted>`` (indentation of the lines
    after the first kept, line breaks kept)."""
    pieces = _LINE_BREAK.split(region)
    for i in range(0, len(pieces), 2):  # even pieces are text, odd ones line breaks
        text = pieces[i]
        if text.strip():
            indent = "" if i == 0 else text[: len(text) - len(text.lstrip())]
            pieces[i] = indent + REDACTED
    return "".join(pieces)


def _replace_parts(region: str, hit: _Hit) -> str:
    """``region`` (a scalar as written) with each secret part replaced, or blanked whole
    when a part is not written literally (escapes, folded lines)."""
    value: str = hit.node.value
    for part in hit.parts:
        if region.count(part) < value.count(part):
            return _blank(region)
    for part in hit.parts:
        region = region.replace(part, REDACTED)
    return region


def redact(text: str, values: Collection[str] = ()) -> str:
    """``text`` with every secret literal replaced by ``<redacted>``, line breaks kept; then
    :func:`scrub` with ``values`` (secrets found in other texts)."""
    hits = _hits(text)
    if hits is None:
        return _blank_all(text)
    out = text
    for hit in sorted(hits, key=lambda h: h.node.start_mark.index, reverse=True):
        start, end = hit.node.start_mark.index, hit.node.end_mark.index
        region = out[start:end]
        new = _blank(region) if not hit.parts else _replace_parts(region, hit)
        out = out[:start] + new + out[end:]
    return scrub(out, values)


def _blank_all(text: str) -> str:
    """Every line of ``text`` as ``<indentation><redacted>``: what cannot be read is shown
    as nothing but its shape."""
    return "".join(
        line[: len(line) - len(line.lstrip())] + REDACTED if line.strip() else line
        for line in _LINE_BREAK.split(text)
    )


def secret_values(texts: Iterable[str]) -> frozenset[str]:
    """The secret values in ``texts`` long enough to :func:`scrub` elsewhere: each whole
    value, its lines and words, its base64-decoded text (Secret ``data``), each secret part."""
    found: set[str] = set()
    for text in texts:
        for hit in _hits(text) or ():
            if hit.parts:
                found.update(hit.parts)
                continue
            value = str(hit.node.value)
            found.add(value)
            found.update(line.strip() for line in value.splitlines())
            found.update(value.split())  # folded scalars join lines with spaces
            with contextlib.suppress(binascii.Error, UnicodeDecodeError, ValueError):
                found.add(base64.b64decode(value, validate=True).decode("utf-8"))
    return frozenset(v for v in found if _scrubbable(v))


def _scrubbable(value: str) -> bool:
    """Long enough, on one line, and not a plain lower-case word (``enabled``, ``default``)
    that a diff would lose everywhere else."""
    return (
        len(value) >= _MIN_SCRUBBED
        and _LINE_BREAK.search(value) is None
        and not re.fullmatch(r"[a-z]+", value)
    )


def scrub(text: str, values: Collection[str] = ()) -> str:
    """``text`` (any text: Markdown, a message) with each of ``values`` and each value of a
    known credential shape replaced by ``<redacted>``."""
    for value in sorted(values, key=len, reverse=True):
        if _scrubbable(value):
            text = text.replace(value, REDACTED)
    return _SHAPES.sub(REDACTED, text)
