"""Reading a profile document (JSON or YAML) with the line of every field.

JSON is parsed with :mod:`json` (the authority on what is valid JSON); the line numbers
come from composing the same text with PyYAML's safe composer (JSON is YAML once tabs,
which JSON only allows as whitespace, become spaces). YAML documents (security-profiles-
operator objects, ``kubectl get -o yaml`` output) are composed and constructed safely.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from attackmap.errors import SeccompError

Where = tuple[str | int, ...]


def format_where(where: Where) -> str:
    """``("syscalls", 3, "action")`` -> ``syscalls[3].action``."""
    text = ""
    for part in where:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text


@dataclass(frozen=True)
class Document:
    """One parsed document: its data, where it came from, and the line of each field."""

    data: Any
    path: str | None
    lines: dict[Where, int] = field(default_factory=dict)

    def line(self, where: Where) -> int | None:
        """The line of ``where`` or of its nearest located parent."""
        for end in range(len(where), -1, -1):
            line = self.lines.get(where[:end])
            if line is not None:
                return line
        return None

    def error(self, message: str, where: Where = (), *, hint: str | None = None) -> SeccompError:
        return SeccompError(
            message,
            path=self.path,
            line=self.line(where),
            field=format_where(where) or None,
            hint=hint,
        )

    def child(self, where: Where, data: Any) -> Document:
        """The sub-document at ``where`` (lines re-rooted there)."""
        n = len(where)
        lines = {k[n:]: v for k, v in self.lines.items() if k[:n] == where}
        return Document(data=data, path=self.path, lines=lines)


def _record_lines(node: yaml.Node, where: Where, lines: dict[Where, int]) -> None:
    lines.setdefault(where, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                lines[(*where, str(key.value))] = key.start_mark.line + 1
                _record_lines(value, (*where, str(key.value)), lines)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _record_lines(item, (*where, i), lines)


#: What PyYAML's safe constructor raises for a value its explicit tag does not fit, other
#: than its own ConstructorError: ``!!bool maybe`` (KeyError), ``!!int ""`` (IndexError),
#: ``!!timestamp x`` (AttributeError), ``!!int abc`` (ValueError).
_CONSTRUCT_ERRORS = (KeyError, IndexError, AttributeError, TypeError, ValueError, OverflowError)


def _bad_scalar(loader: yaml.SafeLoader, node: yaml.Node) -> yaml.Node | None:
    """The first scalar under ``node`` that PyYAML's safe constructor cannot build."""
    if isinstance(node, yaml.ScalarNode):
        try:
            loader.construct_object(node, deep=True)
        except (*_CONSTRUCT_ERRORS, yaml.YAMLError):
            return node
        return None
    children = (
        [n for pair in node.value for n in pair]
        if isinstance(node, yaml.MappingNode)
        else list(node.value)
    )
    for child in children:
        bad = _bad_scalar(loader, child)
        if bad is not None:
            return bad
    return None


def _compose_all(text: str) -> list[tuple[yaml.Node, Any]]:
    """Each document's node and data. A value its explicit tag does not fit (``!!bool
    maybe``, ``!!int ""``, ``!!timestamp x``: PyYAML raises KeyError, IndexError,
    AttributeError for them) is a ValueError naming the value and its line."""
    loader = yaml.SafeLoader(text)
    try:
        docs = []
        while loader.check_node():
            node = loader.get_node()
            if node is not None:
                try:
                    docs.append((node, loader.construct_document(node)))
                except _CONSTRUCT_ERRORS as e:
                    bad = _bad_scalar(yaml.SafeLoader(""), node)
                    if bad is None:  # no one scalar to blame: the document's line
                        raise ValueError(f"line {node.start_mark.line + 1}: {e}") from e
                    raise ValueError(
                        f"line {bad.start_mark.line + 1}: {bad.value!r} is not a valid "
                        f"{str(bad.tag).rsplit(':', 1)[-1]}"
                    ) from e
        return docs
    finally:
        loader.dispose()


def parse_documents(text: str, path: str | None) -> list[Document]:
    """Every document in ``text`` (one for JSON, one or more for YAML)."""
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise SeccompError(
                f"not valid JSON: {e.msg} (column {e.colno})",
                path=path,
                line=e.lineno,
                hint="a seccomp profile is a JSON object with defaultAction and syscalls",
            ) from e
        lines: dict[Where, int] = {}
        try:
            for node, _ in _compose_all(text.replace("\t", " ")):
                _record_lines(node, (), lines)
        except yaml.YAMLError:  # line numbers are a courtesy; the JSON itself is valid
            lines = {}
        return [Document(data=data, path=path, lines=lines)]
    try:
        composed = _compose_all(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        raise SeccompError(
            f"neither JSON nor YAML: {getattr(e, 'problem', None) or e}",
            path=path,
            line=mark.line + 1 if mark is not None else None,
            hint="give a seccomp profile (JSON) or a SeccompProfile object (YAML)",
        ) from e
    docs = []
    for node, data in composed:
        lines = {}
        _record_lines(node, (), lines)
        docs.append(Document(data=data, path=path, lines=lines))
    return docs


#: Largest file read (profiles are refused past 16 MiB once read; this bounds the read
#: itself: a file is refused by its size, a device or pipe after this many bytes).
MAX_READ_BYTES = 64 * 1024 * 1024


def read_text(path: Path) -> str:
    """The UTF-8 text of ``path``, as a :class:`SeccompError` when it cannot be read or is
    larger than :data:`MAX_READ_BYTES` (``/dev/zero`` used to be read until memory ran out)."""
    try:
        with path.open("rb") as f:
            too_big = os.fstat(f.fileno()).st_size > MAX_READ_BYTES
            data = b"" if too_big else f.read(MAX_READ_BYTES + 1)
        if too_big or len(data) > MAX_READ_BYTES:
            raise SeccompError(
                f"file is larger than the limit of {MAX_READ_BYTES} bytes", path=path
            )
        return data.decode("utf-8")
    except FileNotFoundError as e:
        raise SeccompError("file not found", path=path) from e
    except UnicodeDecodeError as e:
        raise SeccompError(f"not UTF-8 text: {e.reason}", path=path) from e
    except OSError as e:
        raise SeccompError(f"cannot read: {e.strerror}", path=path) from e
