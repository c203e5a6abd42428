"""Manifests as edited text: ruamel.yaml round-trip documents, comments and key order kept.

Each input file is split into its ``---`` documents; a document no control touches is
written back byte for byte, a changed one is re-emitted by ruamel.yaml (its comments and
key order kept; blank lines and trailing spaces may be normalised). Analysis never reads
ruamel's data: the emitted text is re-read by :func:`attackmap.load`, so the verification
sees exactly what is written.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from attackmap.errors import HardenError, InputError
from attackmap.model._loader import _walk as walk
from attackmap.model._yaml import decode_bytes, parse_text, read_file

log = logging.getLogger(__name__)

# A document marker at the start of a line; what follows it on that line (a comment, or the
# document itself: `--- {apiVersion: v1, ...}`, `--- !!map`) belongs to the next document.
_SEPARATOR = re.compile(r"^---(?:[ \t]+|(?=\r?\n)|\Z)", re.MULTILINE)


def yaml_rt() -> YAML:
    y = YAML(typ="rt")
    y.preserve_quotes = True
    y.width = 4096
    y.indent(mapping=2, sequence=4, offset=2)
    return y


@dataclass
class SourceFile:
    """One input file: its path, its document texts and their round-trip data."""

    path: str
    name: str
    head: str  # text before the first document (comments), kept verbatim
    chunks: list[str]  # each document's text (None-safe: empty documents dropped)
    docs: list[Any]  # ruamel CommentedMap per chunk

    def fresh_docs(self) -> list[Any]:
        """New round-trip data for every document (patches mutate what they get)."""
        y = yaml_rt()
        return [y.load(chunk) for chunk in self.chunks]


def _split(text: str) -> tuple[str, list[str]]:
    """Text before the first document and each document's text (separators excluded)."""
    parts = _SEPARATOR.split(text)
    pieces = list(parts)
    head = ""
    chunks: list[str] = []
    for i, piece in enumerate(pieces):
        body = "\n".join(line for line in piece.splitlines() if not line.lstrip().startswith("#"))
        if not body.strip():
            if i == 0 or not chunks:
                head += piece
            else:
                chunks[-1] += piece  # trailing comments belong to the previous document
            continue
        chunks.append(piece.lstrip("\n"))
    return head, chunks


def read_sources(sources: list[str | Path]) -> list[SourceFile]:
    """Read files and directories (``*.yaml|*.yml|*.json``, sorted) as :class:`SourceFile`."""
    files: list[Path] = []
    for source in sources:
        path = Path(source)
        if path.is_dir():
            # the loader's walk: special files (a FIFO, a link to /dev/zero, a dangling
            # link) are never opened, and each is logged as a warning, as `analyze` does
            files.extend(walk(path)[0])
        elif path.is_file():
            files.append(path)
        else:
            raise HardenError("no such file or directory", path=path)
    if not files:
        raise HardenError("no manifest files given", hint="pass YAML files or directories")
    out: list[SourceFile] = []
    names: set[str] = set()
    y = yaml_rt()
    for path in files:
        # The model's reader: a file over MAX_FILE_BYTES is refused by its size before any
        # of it is read, as `inventory` and `analyze` refuse it (same InputError).
        text = decode_bytes(read_file(path), str(path))
        # The model's parser first: its errors carry the file's real line numbers and it
        # refuses what attackmap never reads (unsafe tags, alias bombs, duplicate keys).
        if not parse_text(text, str(path)):
            raise HardenError("no Kubernetes documents in this file", path=path)
        head, chunks = _split(text)
        docs: list[Any] = []
        kept: list[str] = []
        for chunk in chunks:
            try:
                data = y.load(chunk)
            except YAMLError as e:
                mark = getattr(e, "problem_mark", None)
                raise HardenError(
                    f"invalid YAML: {getattr(e, 'problem', None) or e}",
                    path=path,
                    line=None
                    if mark is None
                    else text[: text.find(chunk)].count("\n") + mark.line + 1,
                ) from e
            if data is None:
                continue
            if not isinstance(data, dict):
                raise HardenError("a document must be a mapping", path=path)
            docs.append(data)
            kept.append(chunk)
        name = path.name
        n = 2
        while name in names:  # same base name in two directories
            name = f"{path.stem}-{n}{path.suffix}"
            n += 1
        names.add(name)
        out.append(SourceFile(path=str(path), name=name, head=head, chunks=kept, docs=docs))
    return out


def dump(doc: Any) -> str:
    """One document as YAML text (round-trip emitter).

    ruamel.yaml can misplace a comment that sat between the items of a sequence it was
    asked to change (the GPU Operator's driver DaemonSet: ``volumeMounts:   -``), which
    makes text no YAML reader accepts. The text is checked; when it does not parse, the
    document is emitted again without its comments (a warning says so), never broken."""
    text = _emit(doc)
    if not _reads_back(text):
        log.warning(
            "the patched document %s/%s lost its comments: the YAML emitter could not keep "
            "them in place",
            _field(doc, "kind"),
            _field(doc, "metadata", "name"),
        )
        text = _emit(_plain(doc))
    return text


#: Digests of emitted texts already checked (every control harden tries emits every
#: document again, mostly unchanged): digest -> whether it parses. Bounded.
_CHECKED: dict[bytes, bool] = {}


def _reads_back(text: str) -> bool:
    """Whether emitted ``text`` parses with the reader that re-reads it for the
    verification (remembered by its digest, not by the text)."""
    digest = hashlib.blake2b(text.encode(), digest_size=16).digest()
    found = _CHECKED.get(digest)
    if found is None:
        try:
            parse_text(text, "<patched>")
            found = True
        except InputError:
            found = False
        if len(_CHECKED) >= 4096:
            _CHECKED.clear()
        _CHECKED[digest] = found
    return found


def _emit(doc: Any) -> str:
    buf = io.StringIO()
    yaml_rt().dump(doc, buf)
    return buf.getvalue()


def _plain(value: Any) -> Any:
    """``value`` as plain dicts and lists, in the same order, without ruamel's comments."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _field(doc: Any, *keys: str) -> str:
    for key in keys:
        doc = doc.get(key) if isinstance(doc, dict) else None
    return str(doc) if doc is not None else "?"


def join(head: str, chunks: list[str]) -> str:
    """A multi-document file from its head and document texts."""
    text = head
    for i, chunk in enumerate(chunks):
        if i or head.strip() or text:
            if text and not text.endswith("\n"):
                text += "\n"
            text += "---\n"
        text += chunk if chunk.endswith("\n") else chunk + "\n"
    return text
