"""``load()``: sources → documents → objects → workloads + context → linked Inventory.

Sources: file paths, directories (read recursively for ``*.yaml|*.yml|*.json``, sorted;
an entry of such a name that is not a regular file is skipped with a warning; a Helm
chart or a kustomization is rendered whole, see :mod:`attackmap.model._render`),
``-`` (stdin), YAML/JSON text, parsed mappings and lists of mappings. Every input error is
an :class:`~attackmap.errors.InputError` carrying ``path:line: field.path: message``.

A file that is not a Kubernetes object (a chart's values, a kustomization, a Go template)
is skipped with its reason in ``Inventory.skipped``. With ``keep_going``, a file or object
that is an input error is skipped too, its reason beginning with :data:`INPUT_ERROR`.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import errno
import logging
import os
import stat
import sys
from collections.abc import Generator, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from pydantic import ValidationError

from attackmap._args import as_strings
from attackmap._fork import MAX_WORKERS, available_cpus, fork_refusal, pool_worker_start
from attackmap._gc import without_gc
from attackmap.errors import AttackmapError, InputError
from attackmap.model import _objects as objs
from attackmap.model._context import ClusterContext
from attackmap.model._crds import CRD_KINDS, RUNTIME_KINDS, check_runtime
from attackmap.model._inventory import Inventory
from attackmap.model._k8s import K8sPodTemplate, type_name
from attackmap.model._kinds import (
    CLUSTER_SCOPED,
    CONTEXT_KINDS,
    QUALIFIED_KINDS,
    WORKLOAD_KINDS,
    Extracted,
    KindError,
    TemplateSpec,
    group_of,
    name_problem,
    object_ref,
)
from attackmap.model._links import link
from attackmap.model._refs import (
    LoadWarning,
    ObjectRef,
    SkippedObject,
    SourceLocation,
    replace,
    trusted,
)
from attackmap.model._render import (
    PatchFiles,
    Render,
    chart_of,
    go_template_reason,
    included_kustomizations,
    is_chart,
    kustomization_of,
    not_rendered_reason,
    part_of_a_chart_or_kustomization,
    render,
    renderer,
)
from attackmap.model._workload import (
    ContainerMemo,
    Volume,
    Workload,
    build_pod,
    credential_kind,
    is_redacted_name,
    redacted_credential,
)
from attackmap.model._yaml import (
    RawDocument,
    decode_bytes,
    format_path,
    item_lines,
    locate,
    parse_text,
    read_file,
    read_stream,
)

__all__ = ["INPUT_ERROR", "Render", "Source", "build_workload", "load", "relink"]

log = logging.getLogger(__name__)

Source = str | Path | Mapping[str, Any] | Iterable[Mapping[str, Any]] | RawDocument

SUFFIXES = (".yaml", ".yml", ".json")
REDACTED = "<redacted>"
_ADMISSION = {
    ("apiserver.config.k8s.io", "AdmissionConfiguration"),
    ("pod-security.admission.config.k8s.io", "PodSecurityConfiguration"),
}
#: kinds custom-resource extractors consult, with the API groups they are read from (a
#: ServingRuntime of another group is skipped as unknown, so it is not used either)
_LOOKUP_GROUPS = {
    **{kind: frozenset({"serving.kserve.io"}) for kind in RUNTIME_KINDS},
    "NIMCache": CRD_KINDS["NIMCache"][0],
}
_PYDANTIC_TAGS = frozenset({"int", "str", "float", "bool", "none", "list", "dict"})


@dataclass(frozen=True, slots=True)
class _Object:
    """One Kubernetes object with its origin (``item``: its index inside a ``*List``, one
    index per level of nested Lists; ``()`` for a document of its own)."""

    data: dict[str, Any]
    doc: RawDocument
    item: tuple[int, ...]
    line: int | None

    def source(self) -> SourceLocation:
        return trusted(  # values of the right types, set by the reader
            SourceLocation,
            path=self.doc.path,
            document=self.doc.index,
            line=self.line,
            helm_source=self.doc.helm_source,
        )

    def error(
        self, parts: tuple[str | int, ...], message: str, hint: str | None = None
    ) -> InputError:
        prefix = _items_path(self.item)
        line = locate(self.doc.text, self.doc.index, prefix + parts) if self.doc.text else self.line
        return InputError(
            message, path=self.doc.path, line=line, field=format_path(parts) or None, hint=hint
        )


def _skipped(
    source: SourceLocation,
    reason: str,
    kind: str | None = None,
    api_version: str | None = None,
    name: str | None = None,
    namespace: str | None = None,
) -> SkippedObject:
    """A document or object attackmap does not analyse, and why: what it is as far as
    it is known (a file that is no object at all, a Kustomization without a name...)."""
    return SkippedObject(
        kind=kind,
        api_version=api_version,
        name=name,
        namespace=namespace,
        source=source,
        reason=reason,
    )


# --------------------------------------------------------------------------- reading


#: How the reason of an object or file skipped by ``keep_going`` begins.
INPUT_ERROR = "input error: "


@dataclass(frozen=True, slots=True)
class _Reading:
    """How one load reads its sources: charts rendered with ``render``; with
    ``keep_going`` a bad file is skipped with its error instead of ending the run; the
    patch files of the kustomizations met so far (a new ``_Reading`` per load)."""

    render: Render = field(default_factory=Render)
    keep_going: bool = False
    patches: PatchFiles = field(default_factory=PatchFiles, compare=False)


def _read_path(path: Path) -> list[RawDocument]:
    text = decode_bytes(read_file(path), str(path))
    try:
        return parse_text(text, str(path))
    except InputError:
        reason = go_template_reason(text)
        if reason is None:
            raise
        return [_SkippedFile(None, str(path), 0, None, None, None, reason, "listed")]


def _read_guarded(read: Any, source: object, reading: _Reading) -> list[RawDocument]:
    """``read()``, or with ``keep_going`` the error it raises as a skipped file."""
    try:
        docs: list[RawDocument] = read()
    except InputError as e:
        if not reading.keep_going:
            raise
        path = (
            str(e.path)
            if e.path is not None
            else str(source)
            if isinstance(source, Path) or (isinstance(source, str) and len(source) < 4096)
            else "<input>"
        )
        reason = INPUT_ERROR + e.summary()
        return [_SkippedFile(None, path, 0, e.line, None, None, reason, "listed")]
    return docs


#: Parse files in worker processes only for inputs at least this large (forking and
#: sending the parsed data back cost ~0.1 s; small inputs stay in-process).
PARALLEL_MIN_FILES = 8
PARALLEL_MIN_BYTES = 4 * 1024 * 1024


def _parse_task(paths: list[Path]) -> list[list[RawDocument] | None]:
    """For each file its documents, or ``None`` when the file is bad (read again in turn,
    to raise exactly the error a sequential read raises)."""
    out: list[list[RawDocument] | None] = []
    for path in paths:
        try:
            out.append(_read_path(path))
        except AttackmapError:
            out.append(None)
    return out


def _parse_in_worker(paths: list[Path]) -> tuple[list[str | None], list[bytes | None]]:
    """Worker side of :func:`_parse_task`: each file's text and its documents as JSON
    (``orjson``: 9x faster than the standard library's encoder here, and the collecting
    process -- the busiest -- reads JSON 1.6x faster than pickled objects, orjson's 1.7x
    faster again). The documents are JSON data (the YAML builder makes sure: string
    keys, finite floats, integers within 64 bits, exactly orjson's range); a file whose
    documents orjson refuses anyway is sent as ``None`` and read again by the collecting
    process, like a bad file."""
    texts: list[str | None] = []
    files: list[bytes | None] = []
    for docs in _parse_task(paths):
        encoded = None
        if docs is not None and not any(isinstance(d, _SkippedFile) for d in docs):
            with contextlib.suppress(orjson.JSONEncodeError):
                encoded = orjson.dumps([(d.data, d.index, d.line, d.helm_source) for d in docs])
        texts.append(docs[0].text if docs and encoded is not None else None)
        files.append(encoded)
    return texts, files


def _from_worker(
    paths: list[Path], sent: tuple[list[str | None], list[bytes | None]]
) -> list[list[RawDocument] | None]:
    texts, files = sent
    out: list[list[RawDocument] | None] = []
    for path, text, encoded in zip(paths, texts, files, strict=True):
        name = str(path)
        out.append(
            None
            if encoded is None
            else [
                RawDocument(data, name, i, line, helm, text)
                for data, i, line, helm in orjson.loads(encoded)
            ]
        )
    return out


#: Bytes of input per task: small enough that the first results reach the collecting
#: process at once and the parsers finish together, large enough that the cost of a
#: task (~0.1 ms) stays negligible for many small files.
TASK_BYTES = 256 * 1024


def _sizes(files: list[Path]) -> list[int]:
    sizes = []
    for f in files:
        try:
            sizes.append(f.stat().st_size)
        except OSError:  # reported when the file is read
            sizes.append(0)
    return sizes


def _workers(files: list[Path], sizes: list[int]) -> int:
    """How many worker processes parse ``files`` besides this one (0 = none).

    Parallel only where forking is safe and cheap (:func:`attackmap._fork.fork_refusal`:
    Linux, no other threads running, not in a worker already), several CPUs, a large input.
    """
    if len(files) < PARALLEL_MIN_FILES or sum(sizes) < PARALLEL_MIN_BYTES:
        return 0
    cpus = available_cpus()
    if cpus < 2:
        return 0
    refusal = fork_refusal()
    if refusal is not None:
        log.debug("parsing %d files in this process: %s", len(files), refusal)
        return 0
    return min(cpus, len(files), MAX_WORKERS)


def _tasks(files: list[Path], sizes: list[int], parsers: int) -> list[list[Path]]:
    """``files`` in order, cut into runs of about :data:`TASK_BYTES` (at least 8 per
    parser, so that no parser is left with a long last run while the others idle).

    The first run of each parser and the runs of the last ``parsers`` x target bytes are
    a quarter of that: the collecting process gets its first documents sooner, and
    after the parsers finish it has less left to collect alone."""
    total = sum(sizes)
    target = max(1, min(TASK_BYTES, total // (parsers * 8)))
    small = max(1, target // 4)
    tasks: list[list[Path]] = []
    run: list[Path] = []
    size = done = 0
    for f, n in zip(files, sizes, strict=True):
        run.append(f)
        size += n
        done += n
        edge = len(tasks) < parsers or total - done < parsers * target
        if size >= (small if edge else target):
            tasks.append(run)
            run, size = [], 0
    if run:
        tasks.append(run)
    return tasks


def _build_validator() -> None:
    """Build the validator that takes longest to build (~30 ms; at first use,
    ``defer_build``, so that the CLI starts faster) and that every load of workloads uses:
    during a parallel load the collecting process builds it while it waits for the
    workers' first results."""
    if not K8sPodTemplate.__pydantic_complete__:
        K8sPodTemplate.model_rebuild()


def _file_batches(files: list[Path], reading: _Reading) -> Generator[list[RawDocument], None, None]:
    """The documents of each of ``files``, in order — for a large input parsed ahead in
    worker processes while the caller works on the files already parsed. The batches
    and any error are exactly those of reading the files one by one."""
    sizes = _sizes(files) if len(files) >= PARALLEL_MIN_FILES else []
    workers = _workers(files, sizes)
    if workers == 0:
        for f in files:
            yield _read_guarded(lambda f=f: _read_path(f), str(f), reading)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("fork"),
        initializer=pool_worker_start,  # ends with this process, leaves Ctrl-C to it
        initargs=(os.getpid(),),
    )
    try:
        tasks = _tasks(files, sizes, workers)
        results = pool.map(_parse_in_worker, tasks)  # submits every task
        _build_validator()  # while the first results are parsed
        for task, sent in zip(tasks, results, strict=True):
            for f, docs in zip(task, _from_worker(task, sent), strict=True):
                yield (
                    docs
                    if docs is not None
                    else _read_guarded(lambda f=f: _read_path(f), str(f), reading)
                )
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _looks_like_text(s: str) -> bool:
    return "\n" in s or s.lstrip().startswith(("{", "[", "apiVersion:", "kind:", "---"))


def _read_source(source: Source, sources: list[str], reading: _Reading) -> list[RawDocument]:
    return [d for batch in _source_batches(source, sources, reading) for d in batch]


def _source_batches(
    source: Source, sources: list[str], reading: _Reading
) -> Generator[list[RawDocument], None, None]:
    """The documents of ``source``, one batch per file (files of a directory are parsed
    ahead in worker processes when the input is large; the files a directory walk skips
    come first, as :class:`_SkippedFile` documents; the charts and kustomizations it
    found come last, each rendered whole)."""
    if isinstance(source, str) and not source.strip():
        # (Path("") is the working directory: an empty variable read it all)
        raise InputError(
            "an empty or blank string is neither a path nor YAML text",
            hint="name a file or directory, or pass the YAML text",
        )
    if isinstance(source, Path | str) and not (
        isinstance(source, str) and (source == "-" or _looks_like_text(source))
    ):
        path = Path(source)
        if path.is_dir():
            files, skipped, units = _walk_units(path)
            if skipped:
                yield skipped
            sources.extend(str(f) for f in files)
            yield from _file_batches(files, reading)
            for unit in units:
                yield _read_guarded(lambda u=unit: _render_unit(u, reading, sources), unit, reading)
            return
    yield _read_guarded(lambda: _read_one(source, sources, reading.patches), source, reading)


def _render_unit(directory: Path, reading: _Reading, sources: list[str]) -> list[RawDocument]:
    """The documents of a chart or a kustomization, rendered; a skipped file saying how to
    render it when no program for it is on ``PATH``."""
    argv, what = renderer(directory, reading.render)
    if argv is None:
        reason = not_rendered_reason(directory, what)
        return [_SkippedFile(None, str(directory), 0, None, None, None, reason, "unrendered")]
    label = f"{directory} ({'helm template' if what == 'Helm chart' else 'kustomize'})"
    sources.append(label)
    return parse_text(render(directory, argv, what), label)


#: How the warning of a file a directory walk skips begins (logged when it is skipped).
SKIPPED_FILE = "skipped: "


@dataclass(frozen=True, slots=True)
class _SkippedFile(RawDocument):
    """A file not read as manifests, carried as an empty document so that :func:`load`
    lists it even when it receives the documents :func:`read_documents` returned.

    ``kind``: ``special`` -- a directory entry named like a manifest that is not a regular
    file, never opened (``Inventory.warnings``); ``listed`` -- a file that is not a
    Kubernetes object, or (``keep_going``) a bad one (``Inventory.skipped``);
    ``unrendered`` -- a chart or kustomization without its program (``Inventory.skipped``;
    an error when the input holds nothing else)."""

    reason: str = ""
    kind: str = "special"

    @classmethod
    def error(cls, doc: RawDocument, e: InputError) -> _SkippedFile:
        """A document that is an input error, skipped (``keep_going``)."""
        return cls(
            None,
            doc.path,
            doc.index,
            e.line or doc.line,
            None,
            None,
            INPUT_ERROR + e.summary(),
            "listed",
        )

    def skipped(self) -> SkippedObject:
        where = trusted(SourceLocation, path=self.path, document=self.index, line=self.line)
        return _skipped(where, self.reason)


def _walk(root: Path) -> tuple[list[Path], list[RawDocument]]:
    """:func:`_walk_units` without the charts and kustomizations (``harden`` edits files)."""
    files, skipped, _ = _walk_units(root)
    return files, skipped


def _walk_units(root: Path) -> tuple[list[Path], list[RawDocument], list[Path]]:
    """The manifest files under directory ``root`` (``*.yaml``, ``*.yml``, ``*.json`` at
    any depth, sorted), and the entries it skips, each with the reason (logged as a
    warning too). Only regular files are opened: a FIFO would block the reader and a
    device never ends. Symbolic links to files are followed; links to directories are
    not (a link may point back up the tree) and are skipped with a warning. A directory
    that cannot be listed is an error, as a file that cannot be read is.

    A directory holding a ``Chart.yaml`` or a ``kustomization.yaml`` is not walked: it is
    returned third, to be rendered whole, unless another kustomization found includes it
    (a base its overlays render). Files of a directory inside a chart are skipped."""
    files: list[Path] = []
    skipped: list[tuple[Path, str]] = []
    listed: list[tuple[Path, str]] = []
    units: list[Path] = []
    inside_a_chart = chart_of(root / "_") is not None
    pending = [root]
    while pending:
        folder = pending.pop()
        if is_chart(folder) or kustomization_of(folder) is not None:
            units.append(folder)
            continue
        try:
            with os.scandir(folder) as it:
                entries = list(it)
        except OSError as e:
            raise InputError(f"cannot read directory: {e.strerror}", path=folder) from e
        for entry in entries:
            path = Path(entry.path)
            if entry.is_dir(follow_symlinks=False):
                pending.append(path)
                continue
            manifest = path.suffix.lower() in SUFFIXES
            if not (manifest or entry.is_symlink()):
                continue  # not a manifest by its name (a README, a socket)
            try:
                mode = entry.stat().st_mode  # follows a symbolic link; opens nothing
            except OSError as e:
                if manifest:
                    skipped.append((path, _unresolved_link(e)))
                continue
            if stat.S_ISREG(mode):
                if manifest:
                    files.append(path)
            elif stat.S_ISDIR(mode):  # (a real directory was walked above)
                skipped.append((path, "a symbolic link to a directory: not followed"))
            elif manifest:
                reason = f"{_file_type(mode)}, not a regular file: never opened"
                skipped.append((path, f"{reason} (reading one can block or never end)"))
    skipped.sort()
    for path, reason in skipped:
        log.warning("%s: %s%s", path, SKIPPED_FILE, reason)
    if inside_a_chart:  # `analyze chart/templates/`: none of it is a manifest
        listed = [(f, part_of_a_chart_or_kustomization(f) or "") for f in files]
        files = []
    included = included_kustomizations([u for u in units if not is_chart(u)])
    not_read: list[RawDocument] = [
        _SkippedFile(None, str(path), 0, None, None, None, reason) for path, reason in skipped
    ]
    not_read += [
        _SkippedFile(None, str(path), 0, None, None, None, reason, "listed")
        for path, reason in sorted(listed)
    ]
    return (
        sorted(files),
        not_read,
        sorted(u for u in units if u.resolve() not in included),
    )


def _unresolved_link(e: OSError) -> str:
    if e.errno == errno.ENOENT:
        return "a dangling symbolic link (its target does not exist)"
    if e.errno == errno.ELOOP:
        return "a symbolic link in a loop"
    return f"cannot follow the symbolic link: {e.strerror}"


def _file_type(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a special file"


def _read_one(source: Source, sources: list[str], patches: PatchFiles) -> list[RawDocument]:
    if isinstance(source, RawDocument):  # already read (e.g. by read_documents), keeps provenance
        if isinstance(source, _SkippedFile):
            return [source]  # not read: not among the sources
        if not (sources and sources[-1] == source.path) and source.path not in sources:
            sources.append(source.path)  # (the documents of one file come one after another)
        return [source]
    if isinstance(source, Mapping):
        sources.append("<object>")
        return [RawDocument(copy.deepcopy(dict(source)), "<object>", 0, None, None, None)]
    if isinstance(source, Path) or (isinstance(source, str) and not _looks_like_text(source)):
        if str(source) == "-":
            sources.append("<stdin>")
            raw = read_stream(sys.stdin.buffer, "<stdin>")
            return parse_text(decode_bytes(raw, "<stdin>"), "<stdin>")
        path = Path(source)
        if not path.exists():
            raise InputError("no such file or directory", path=path)
        sources.append(str(path))
        reason = part_of_a_chart_or_kustomization(path, patches)
        if reason is not None:  # a chart's values.yaml passed by a pre-commit hook
            return [_SkippedFile(None, str(path), 0, None, None, None, reason, "listed")]
        return _read_path(path)
    if isinstance(source, str):
        sources.append("<text>")
        return parse_text(source, "<text>")
    if isinstance(source, bytes | bytearray | memoryview) or not isinstance(source, Iterable):
        raise TypeError(
            "a source is a path, '-' (stdin), YAML/JSON text, a mapping or a list of "
            f"mappings; got {type(source).__name__}"
        )
    docs = []
    for i, item in enumerate(source):
        if not isinstance(item, Mapping):
            raise InputError(
                f"expected a mapping, got {type_name(item)}", path="<object>", field=f"[{i}]"
            )
        docs.append(RawDocument(copy.deepcopy(dict(item)), "<object>", i, None, None, None))
    sources.append("<object>")
    return docs


def _objects(doc: RawDocument, warnings: list[LoadWarning] | None = None) -> list[_Object]:
    if isinstance(doc, _SkippedFile):
        if warnings is not None and doc.kind == "special":
            where = trusted(SourceLocation, path=doc.path, document=0)
            warnings.append(LoadWarning(message=SKIPPED_FILE + doc.reason, source=where))
        return []
    data = doc.data
    if data is None:
        return []
    if not isinstance(data, dict):
        raise InputError(
            f"a document must be a mapping, got {type_name(data)}", path=doc.path, line=doc.line
        )
    glued = [
        k
        for k in data
        if isinstance(k, str) and k.startswith("---") and k[3:] in ("apiVersion", "kind")
    ]
    if glued:
        # `---apiVersion: x` (a separator glued to the first key, a known Helm chart bug):
        # Helm's own splitter reads it as a new document; so do we, with a warning.
        data = {(k[3:] if k in glued else k): v for k, v in data.items()}
        doc = RawDocument(data, doc.path, doc.index, doc.line, doc.helm_source, doc.text)
        if warnings is not None:
            where = SourceLocation(
                path=doc.path, document=doc.index, line=doc.line, helm_source=doc.helm_source
            )
            warnings.append(
                LoadWarning(
                    message="document separator '---' glued to the first key; read as Helm does",
                    source=where,
                )
            )
    if _is_list(data):
        return _list_items(doc, data)
    return [_Object(data, doc, (), doc.line)]


def _is_list(data: dict[str, Any]) -> bool:
    """``kind: List`` (``kubectl get -o yaml``) or a list of one kind (``PodList``,
    ``DeploymentList``: what the API returns): any ``*List`` kind with ``items``. A custom
    resource whose kind ends in ``List`` but has no ``items`` is an object of its own."""
    kind = data.get("kind")
    return isinstance(kind, str) and kind.endswith("List") and "items" in data


def _items_path(item: tuple[int, ...]) -> tuple[str | int, ...]:
    """The field path of a List item: ``(1, 0)`` → ``items[1].items[0]``."""
    return tuple(part for i in item for part in ("items", i))


def _list_items(doc: RawDocument, data: dict[str, Any]) -> list[_Object]:
    """The objects of a List document, in order, the items of nested Lists in place.

    An item of ``kind: List`` names its own kind and apiVersion. An item of a list of one
    kind (``kind: PodList``, as the API returns them, items without kind and apiVersion)
    is of the list's kind less ``List`` and takes the list's apiVersion when it names
    none; an item naming another kind (a Service in a PodList, a List in a PodList) is an
    error at its ``kind``: the API never returns one, and which object was meant is a
    guess. ``items: null`` (the API's empty list in JSON) has no items."""

    def refuse(at: tuple[int, ...], field: tuple[str | int, ...], message: str) -> InputError:
        parts = _items_path(at) + field
        line = locate(doc.text, doc.index, parts) if doc.text else doc.line
        return InputError(message, path=doc.path, line=line, field=format_path(parts))

    found: list[tuple[tuple[int, ...], dict[str, Any]]] = []
    pending: list[tuple[tuple[int, ...], dict[str, Any]]] = [((), data)]
    while pending:  # depth first, in document order; no recursion (nesting is unbounded)
        at, obj = pending.pop()
        if at and not _is_list(obj):
            found.append((at, obj))
            continue
        kind, items = obj["kind"], obj["items"]
        if items is None:
            continue
        if not isinstance(items, list):
            raise refuse(at, ("items",), f"expected a list of objects, got {type_name(items)}")
        of = kind[: -len("List")]  # "" for kind: List
        expanded = []
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                raise refuse((*at, i), (), f"a List item must be a mapping, got {type_name(item)}")
            if of:
                own = item.get("kind")
                if isinstance(own, str) and own != of:
                    message = f"a {kind} holds only {of} objects, got {own!r}"
                    raise refuse((*at, i), ("kind",), message)
                inherited = {"kind": of, "apiVersion": obj.get("apiVersion")}
                missing = {k: v for k, v in inherited.items() if item.get(k) is None}
                if missing:
                    item = {**item, **missing}
            expanded.append(((*at, i), item))
        pending.extend(reversed(expanded))
    lines = item_lines(doc.text, doc.index, [at for at, _ in found])
    return [
        _Object(item, doc, at, line if line is not None else doc.line)
        for (at, item), line in zip(found, lines, strict=True)
    ]


# --------------------------------------------------------------------------- workloads


def _pydantic_error(obj: _Object, prefix: tuple[str | int, ...], e: ValidationError) -> InputError:
    err = e.errors(include_url=False)[0]
    parts = prefix + tuple(
        p for p in err["loc"] if not (isinstance(p, str) and (p in _PYDANTIC_TAGS or "[" in p))
    )
    t = err["type"]
    expected = {
        "string_type": "a string", "int_type": "an integer", "int_parsing": "an integer",
        "bool_type": "a boolean", "bool_parsing": "a boolean", "list_type": "a list",
        "dict_type": "a mapping", "model_type": "a mapping", "model_attributes_type": "a mapping",
        "float_type": "a number", "int_from_float": "an integer",
    }.get(t)  # fmt: skip
    if t == "missing":
        message = "required field missing"
    elif t in ("too_short", "string_too_short"):
        message = "must not be empty"
    elif expected:
        message = f"expected {expected}, got {type_name(err.get('input'))}"
    else:
        message = str(err["msg"]).removeprefix("Value error, ")
    return obj.error(parts, message)


def _scrubbed_value(entry: object) -> str | None:
    """What replaces an env entry's literal value in ``pod_template``: ``<redacted:KIND>`` for
    a value shaped like a credential (its kind survives a rebuild from the template),
    ``<redacted>`` under a credential-like name or the name of a credential's path
    (:func:`is_redacted_name`), ``None`` to keep it."""
    if not isinstance(entry, dict) or "value" not in entry:
        return None
    value = entry["value"]
    kind = credential_kind(value) if isinstance(value, str) and value else None
    if kind is not None:  # first: the kind must survive a rebuild, whatever the name
        return redacted_credential(kind)
    if is_redacted_name(str(entry.get("name", ""))):  # credential names and path names
        return REDACTED
    return None


def _scrub(template: dict[str, Any]) -> dict[str, Any]:
    """The template with the literal env values of credential-like names (and of names of
    a credential's path) replaced; shares the rest."""
    spec = dict(template.get("spec") or {})
    for group in ("initContainers", "containers", "ephemeralContainers"):
        containers = spec.get(group)
        if not isinstance(containers, list):
            continue
        new_list = []
        for c in containers:
            env = c.get("env") if isinstance(c, dict) else None
            if isinstance(env, list):
                scrubbed = [_scrubbed_value(e) for e in env]
                if any(v is not None for v in scrubbed):
                    c = dict(c)
                    c["env"] = [
                        {**e, "value": v} if isinstance(e, dict) and v is not None else e
                        for e, v in zip(env, scrubbed, strict=True)
                    ]
            new_list.append(c)
        spec[group] = new_list
    meta = template.get("metadata")
    meta = (
        {k: v for k, v in meta.items() if k not in ("managedFields",)}
        if isinstance(meta, dict)
        else {}
    )
    if isinstance(meta.get("annotations"), dict) and objs.LAST_APPLIED in meta["annotations"]:
        meta["annotations"] = {
            k: v for k, v in meta["annotations"].items() if k != objs.LAST_APPLIED
        }
    return {"metadata": meta, "spec": spec}


def build_workload(
    spec: TemplateSpec,
    source: SourceLocation,
    error: Any = None,
    containers: ContainerMemo | None = None,
) -> Workload:
    """Validate and normalise one pod template into an (unlinked) Workload.

    ``error(parts, message)`` builds the InputError for a field path (default: no line);
    ``containers``: the load's containers built so far (see :func:`build_pod`).
    """
    try:
        parsed = K8sPodTemplate.model_validate(spec.template)
    except ValidationError as e:
        if error is None:
            raise InputError(
                str(e.errors(include_url=False)[0]["msg"]), path=source.path, line=source.line
            ) from e
        raise error(spec.field_path, e) from e
    raw_spec = spec.template.get("spec") or {}
    pod = build_pod(parsed, raw_spec, containers)
    if spec.claim_templates:
        names = {v.name for v in pod.volumes}
        extra = tuple(
            trusted(
                Volume,
                name=n,
                type="persistentVolumeClaim",
                claim_name=f"{n}-{spec.ref.name}-0",
                access_modes=modes,
            )
            for n, modes in spec.claim_templates
            if n not in names
        )
        pod = replace(pod, volumes=pod.volumes + extra)
    meta = parsed.metadata
    return trusted(
        Workload,
        ref=spec.ref,
        owner_chain=spec.owner_chain,
        replicas=spec.replicas,
        source=source,
        labels=dict(meta.labels or {}) if meta else {},
        annotations={k: v for k, v in (meta.annotations or {}).items() if k != objs.LAST_APPLIED}
        if meta
        else {},
        pod=pod,
        pod_template=_scrub(spec.template),
        rendered=spec.rendered,
    )


# --------------------------------------------------------------------------- context


@dataclass(slots=True)
class _Collected:
    workloads: dict[ObjectRef, Workload]
    context: dict[str, dict[ObjectRef, Any]]
    admission: list[tuple[dict[str, Any], _Object]]
    cluster_context: list[tuple[ClusterContext, _Object]]
    skipped: list[SkippedObject]
    seen: dict[tuple[str, str | None, str], _Object]
    warnings: list[LoadWarning]
    lookup: dict[tuple[str, str | None, str], dict[str, Any]]
    #: objects an operator would render from a custom resource, with that resource's ref:
    #: collected after every manifest (see :func:`_collect_rendered`)
    rendered: list[tuple[_Object, ObjectRef]] = field(default_factory=list)
    #: the custom resource that rendered each collected object, if one did
    renderers: dict[tuple[str, str | None, str], ObjectRef] = field(default_factory=dict)
    #: workloads that two manifests define differently: every copy, built after the
    #: whole input is read (see :func:`_resolve_copies`)
    copies: dict[tuple[str, str | None, str], list[_Object]] = field(default_factory=dict)
    #: where each object in ``lookup`` was read (the copy that sorts first is consulted)
    lookup_sources: dict[tuple[str, str | None, str], tuple[str, int, int]] = field(
        default_factory=dict
    )
    #: sources an identical copy that sorts first replaces (see :func:`_identical_copy`)
    renamed: dict[SourceLocation, SourceLocation] = field(default_factory=dict)
    #: the containers built so far, by content (see :func:`build_pod`)
    containers: ContainerMemo = field(default_factory=dict)


def _context_object(
    kind: str,
    ref: ObjectRef,
    raw: dict[str, Any],
    source: SourceLocation,
    labels: dict[str, str],
    annotations: dict[str, str],
) -> tuple[str, Any]:
    """The Inventory field and the record of a context object. The kinds every manifest
    set has are read by ``_objects.py``; the others' readers (their parse models, ~60
    classes in all) are imported with the first object of their kind: start-up."""
    if kind == "Service":
        return "services", objs.parse_service(ref, raw, source)
    if kind == "Namespace":
        return "namespaces", objs.parse_namespace(ref.name, labels, source)
    if kind == "Secret":
        return "secrets", objs.parse_secret(ref, raw, source, labels, annotations)
    if kind == "ConfigMap":
        return "configmaps", objs.parse_configmap(ref, raw, source, labels)
    if kind in ("Ingress", "HTTPRoute", "GRPCRoute", "VirtualService") or (
        kind == "Gateway.networking.istio.io"
    ):
        from attackmap.model import _read_exposure as exposure

        if kind == "Ingress":
            return "ingresses", exposure.parse_ingress(ref, raw, source)
        if kind == "VirtualService":
            return "virtual_services", exposure.parse_virtual_service(ref, raw, source)
        if kind == "Gateway.networking.istio.io":
            return "istio_gateways", exposure.parse_istio_gateway(ref, raw, source)
        return "routes", exposure.parse_route(ref, raw, source)
    if kind == "NetworkPolicy":
        from attackmap.model._read_netpol import parse_network_policy

        return "network_policies", parse_network_policy(ref, raw, source)
    if kind in ("ServiceAccount", "Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"):
        from attackmap.model import _read_rbac as rbac

        if kind == "ServiceAccount":
            return "service_accounts", rbac.parse_service_account(ref, raw, source)
        if kind in ("Role", "ClusterRole"):
            return "roles", rbac.parse_role(ref, raw, source, labels)
        return "bindings", rbac.parse_binding(ref, raw, source)
    if kind in ("CiliumNetworkPolicy", "CiliumClusterwideNetworkPolicy"):
        from attackmap.model._read_cilium import parse_cilium_policy

        return "cilium_policies", parse_cilium_policy(ref, raw, source)
    if kind in ("NetworkPolicy.projectcalico.org", "GlobalNetworkPolicy"):
        from attackmap.model._read_calico import parse_calico_policy

        return "calico_policies", parse_calico_policy(ref, raw, source)
    if kind in ("NetworkSet", "GlobalNetworkSet"):
        from attackmap.model._read_calico import parse_calico_network_set

        return "calico_network_sets", parse_calico_network_set(ref, raw, source, labels)
    from attackmap.model import _read_cluster as cluster

    if kind == "PersistentVolumeClaim":
        return "pvcs", cluster.parse_pvc(ref, raw, source)
    if kind == "PersistentVolume":
        return "pvs", cluster.parse_pv(ref, raw, source)
    return "runtime_classes", cluster.parse_runtime_class(ref, raw, source)


def _meta(obj: _Object) -> tuple[str, dict[str, str], dict[str, str]]:
    meta = obj.data.get("metadata")
    if meta is None:
        raise obj.error(("metadata",), "required field missing")
    if not isinstance(meta, dict):
        raise obj.error(("metadata",), f"expected a mapping, got {type_name(meta)}")
    name = meta.get("name") or meta.get("generateName")
    if name is None:
        raise obj.error(("metadata", "name"), "required field missing")
    if not isinstance(name, str):
        raise obj.error(("metadata", "name"), f"expected a string, got {type_name(name)}")
    result: list[dict[str, str]] = []
    for key in ("labels", "annotations"):
        value = meta.get(key)
        if value is None:
            result.append({})
            continue
        if not isinstance(value, dict):
            raise obj.error(("metadata", key), f"expected a mapping, got {type_name(value)}")
        for k, v in value.items():
            if not isinstance(v, str):  # the API server refuses `version: 1` (a number)
                raise obj.error(("metadata", key, k), f"expected a string, got {type_name(v)}")
        result.append(value)
    return name, result[0], result[1]


def _collect(
    obj: _Object, c: _Collected, default_ns: str, rendered_by: ObjectRef | None = None
) -> None:
    data = obj.data
    kind, api = data.get("kind"), data.get("apiVersion")
    if kind is None and api is None:
        schema = data.get("schema")
        if isinstance(schema, str) and schema.startswith("attackmap."):
            # (an --out-dir or -o inside an input directory: the next run reads it)
            reason = f"an attackmap report ({schema}), not a Kubernetes object"
        else:
            reason = "not a Kubernetes object (no apiVersion and no kind), e.g. a Helm values file"
        c.skipped.append(_skipped(obj.source(), reason))
        return
    for key, value in (("kind", kind), ("apiVersion", api)):
        if value is None:
            raise obj.error((key,), "required field missing")
        if not isinstance(value, str) or not value:
            raise obj.error((key,), f"expected a non-empty string, got {type_name(value)}")
    assert isinstance(kind, str) and isinstance(api, str)
    group = group_of(api)
    if group == "kustomize.config.k8s.io":  # a Kustomization or Component: a build recipe
        reason = "a kustomization, not a Kubernetes object (analyse its directory to render it)"
        c.skipped.append(_skipped(obj.source(), reason, kind, api))
        return
    kind = QUALIFIED_KINDS.get((group, kind), kind)
    if (group, kind) in _ADMISSION:
        c.admission.append((data, obj))
        return
    if kind == "ClusterContext" and api.startswith("attackmap/"):
        try:
            c.cluster_context.append((ClusterContext.model_validate(data), obj))
        except ValidationError as e:
            raise _pydantic_error(obj, (), e) from e
        return
    name, labels, annotations = _meta(obj)
    meta_ns = data["metadata"].get("namespace")
    if meta_ns is not None and not isinstance(meta_ns, str):
        raise obj.error(("metadata", "namespace"), f"expected a string, got {type_name(meta_ns)}")
    ns = None if kind in CLUSTER_SCOPED else (meta_ns or default_ns)
    if "name" not in data["metadata"]:  # generateName only: the API server adds a suffix
        data = {**data, "metadata": {**data["metadata"], "name": name}}
    first = c.seen.get((kind, ns, name))
    if first is not None and rendered_by is None and (kind, ns, name) not in c.renderers:
        copies = c.copies.get((kind, ns, name))
        if copies is not None and any(o.data == data for o in copies):
            copies.append(_Object(data, obj.doc, obj.item, obj.line))  # one of them
            return
        if copies is None and first.data == data:
            _identical_copy(c, first, _Object(data, obj.doc, obj.item, obj.line), (kind, ns, name))
            return
    _check_names(obj, c, kind, name, ns)
    if data is not obj.data:
        obj = _Object(data, obj.doc, obj.item, obj.line)
    handler = WORKLOAD_KINDS.get(kind) or CRD_KINDS.get(kind)
    context_groups = CONTEXT_KINDS.get(kind)
    groups = handler[0] if handler else context_groups
    if kind in RUNTIME_KINDS and group == "serving.kserve.io":
        if c.lookup.get((kind, ns, name)) is not data:  # indexed = checked already
            try:
                check_runtime(data)
            except KindError as e:
                raise obj.error(e.parts, e.message) from e
        reason = (
            "KServe serving runtime: a pod template analysed through the InferenceServices"
            " that use it"
        )
        c.skipped.append(_skipped(obj.source(), reason, kind, api, name, ns))
        return
    if groups is None or group not in groups:
        if groups is None:
            reason = f"kind {kind} is not analysed by attackmap"
        else:
            expected = " or ".join(sorted(g or "core" for g in groups))
            reason = f"unknown apiVersion {api} for kind {kind} (expected group {expected})"
        c.skipped.append(_skipped(obj.source(), reason, kind, api, name, ns))
        return
    seen_key = (kind, ns, name)
    if seen_key in c.seen:
        shown = f"{kind}/{ns + '/' if ns else ''}{name}"
        if rendered_by is not None:  # a manifest, or the first renderer, wins (see load())
            renderer_first = c.renderers.get(seen_key)
            used = (
                f"the manifest at {c.seen[seen_key].source()}"
                if renderer_first is None
                else f"the one rendered by {renderer_first}"
            )
            c.warnings.append(
                LoadWarning(
                    message=f"also rendered by {rendered_by}; {used} is used",
                    ref=object_ref(kind, ns, name),
                    source=obj.source(),
                )
            )
            return
        if handler is not None and seen_key not in c.renderers:
            _second_definition(c, obj, seen_key)  # a workload: every copy is analysed
            return
        first_source, second_source = sorted(
            (c.seen[seen_key].source(), obj.source()), key=_source_order
        )
        found = obj.error(
            (),
            f"duplicate object {shown} (defined at {first_source} and at {second_source}), "
            "the two copies differ",
            hint="an object that is not a workload may appear only once (identical copies "
            "are one): the cluster has one and other objects name it; analyse one render "
            "of a chart at a time",
        )
        raise _DuplicateObject(found.message, path=found.path, line=found.line, hint=found.hint)
    c.seen[seen_key] = obj
    if rendered_by is not None:
        c.renderers[seen_key] = rendered_by
    ref = object_ref(kind, ns, name)
    source = obj.source()
    if handler is not None:
        _build(c, obj, seen_key, handler[1])
        return
    try:
        field, value = _context_object(kind, ref, data, source, labels, annotations)
    except ValidationError as e:
        raise _pydantic_error(obj, (), e) from e
    except (AttributeError, TypeError, ValueError, KeyError) as e:
        # a field of an unexpected shape that no specific check caught
        raise obj.error((), f"malformed {kind}: {e}") from e
    c.context.setdefault(field, {})[ref] = value


class _DuplicateObject(InputError):
    """Two different definitions of one object that is not a workload: an error even with
    ``keep_going``."""


def _build(
    c: _Collected,
    obj: _Object,
    key: tuple[str, str | None, str],
    extract: Any,
    origin: str | None = None,
) -> None:
    """Build the workloads of ``obj`` (a workload or custom resource) and queue what its
    operator would render; ``origin`` qualifies their refs (:func:`_resolve_copies`)."""
    kind, ns, name = key
    try:
        extracted: Extracted = extract(obj.data, kind, ns, c.lookup)
    except KindError as e:
        raise obj.error(e.parts, e.message) from e
    except (AttributeError, TypeError, ValueError, KeyError) as e:
        # a field of an unexpected shape that no specific check caught
        raise obj.error((), f"malformed {kind}: {e}") from e
    source = obj.source()
    for spec in extracted.templates:
        if origin is not None:
            spec = dataclasses.replace(spec, ref=spec.ref.model_copy(update={"origin": origin}))
        wl = build_workload(
            spec, source, lambda parts, err: _pydantic_error(obj, parts, err), c.containers
        )
        c.workloads[wl.ref] = wl
    ref = object_ref(kind, ns, name)
    if origin is not None:
        ref = ref.model_copy(update={"origin": origin})
    c.rendered.extend((_Object(r, obj.doc, obj.item, obj.line), ref) for r in extracted.objects)


def _second_definition(c: _Collected, obj: _Object, key: tuple[str, str | None, str]) -> None:
    """Another manifest defines the workload ``key``: keep every copy, built once the whole
    input is read (so that the order of the input changes nothing). What the first copy
    built when it was collected is taken back."""
    copies = c.copies.get(key)
    if copies is not None:
        copies.append(obj)
        return
    c.copies[key] = [c.seen[key], obj]
    for ref in [r for r in c.workloads if (r.kind, r.namespace, r.name) == key]:
        del c.workloads[ref]
    c.rendered[:] = [(o, r) for o, r in c.rendered if (r.kind, r.namespace, r.name) != key]


#: characters a workload's name in the attack graph cannot hold (``state@Kind/ns/name``,
#: ``[container]``, ``:`` scopes)
_ORIGIN_UNSAFE = str.maketrans(dict.fromkeys("@[]:", "_"))


def _origins(objects: list[_Object]) -> list[str]:
    """Each copy's origin: its file; with the document (and List item) where two copies
    share a file."""
    labels = [o.doc.path for o in objects]
    if len(set(labels)) != len(labels):
        labels = [
            o.doc.path
            if labels.count(o.doc.path) == 1
            else f"{o.doc.path}, document {o.doc.index + 1}"
            for o in objects
        ]
    if len(set(labels)) != len(labels):
        labels = [
            f"{label}, item {'.'.join(map(str, o.item))}" if o.item else label
            for label, o in zip(labels, objects, strict=True)
        ]
    return [label.translate(_ORIGIN_UNSAFE) for label in labels]


def _resolve_copies(c: _Collected, keep_going: bool) -> None:
    """Workloads two manifests define differently (docs/model.md, "Objects defined
    twice"): every distinct copy is analysed as a workload of its own, its ref qualified
    by its file (``Deployment/ns/app (deploy/prod.yaml)``), and a warning names every
    copy. Identical copies among them are one (the one that sorts first). Copies are
    taken in the order of their sources, never of the input."""
    for key in sorted(c.copies, key=lambda k: (k[0], k[1] or "", k[2])):
        kind, ns, name = key
        ref = object_ref(kind, ns, name)
        distinct: list[_Object] = []
        for obj in sorted(c.copies[key], key=lambda o: (_source_order(o.source()), o.item)):
            same = next((d for d in distinct if d.data == obj.data), None)
            if same is None:
                distinct.append(obj)
                continue
            c.warnings.append(
                LoadWarning(
                    message=f"an identical copy at {obj.source()} is the same object",
                    ref=ref,
                    source=same.source(),
                )
            )
        handler = WORKLOAD_KINDS.get(kind) or CRD_KINDS[kind]
        built: list[str] = []
        for obj, origin in zip(distinct, _origins(distinct), strict=True):
            try:
                _build(c, obj, key, handler[1], origin)
            except InputError as e:
                if not keep_going:
                    raise
                skip = _error_skip(obj, e)
                if skip not in c.skipped:  # the copy collected first was skipped already
                    c.skipped.append(skip)
                continue
            built.append(f"{ref} ({origin})")
        *others, last = (str(o.source()) for o in distinct)
        places = f"{', '.join(others)} and {last}"
        broken = len(distinct) - len(built)
        message = (
            f"defined differently at {places}: each copy is analysed as a workload of its "
            f"own ({', '.join(built)}){'; the others are input errors' if broken else ''}; "
            "keep the one the cluster runs"
        )
        log.warning("%s: %s", ref, message)
        c.warnings.append(LoadWarning(message=message, ref=ref, source=distinct[0].source()))


def _identical_copy(
    c: _Collected, first: _Object, copy_: _Object, key: tuple[str, str | None, str]
) -> None:
    """``copy_`` is identical to the object ``first`` collected for ``key``: one object,
    whose source is the copy that sorts first (so that the order of the input does not
    change the report); a warning names the other."""
    kept, other = sorted((first, copy_), key=lambda o: _source_order(o.source()))
    if kept is copy_:
        c.seen[key] = copy_
        # what was collected with ``first``'s source takes the copy's once the input is read
        # (:func:`_rename_sources`: one pass, however many copies sort first)
        c.renamed[first.source()] = copy_.source()
        c.rendered[:] = [
            (_Object(o.data, copy_.doc, copy_.item, copy_.line), r)
            if o.doc is first.doc and o.item == first.item
            else (o, r)
            for o, r in c.rendered
        ]
    kind, ns, name = key
    c.warnings.append(
        LoadWarning(
            message=f"an identical copy at {other.source()} is the same object",
            ref=object_ref(kind, ns, name),
            source=kept.source(),
        )
    )


def _rename_sources(c: _Collected) -> None:
    """Give what was collected from an object the source of the identical copy that sorts
    first (:func:`_identical_copy` records each replacement; a later copy may replace the
    replacement)."""
    if not c.renamed:
        return

    def final(source: SourceLocation) -> SourceLocation:
        while source in c.renamed:
            source = c.renamed[source]
        return source

    for ref, wl in list(c.workloads.items()):
        if wl.source in c.renamed:
            c.workloads[ref] = wl.model_copy(update={"source": final(wl.source)})
    for objects in c.context.values():
        for ref, value in list(objects.items()):
            source = getattr(value, "source", None)
            if source in c.renamed:
                objects[ref] = value.model_copy(update={"source": final(source)})
    c.warnings[:] = [
        w.model_copy(update={"source": final(w.source)}) if w.source in c.renamed else w
        for w in c.warnings
    ]


def _check_names(obj: _Object, c: _Collected, kind: str, name: str, ns: str | None) -> None:
    """Warn of a name or namespace the API server would refuse (a chart's placeholder such
    as ``FILLED BY THE OPERATOR``): the object is still analysed, as what it would be
    once the placeholder is filled in."""
    meta = obj.data["metadata"]
    checks: list[tuple[str, str | None, str]] = [] if "name" not in meta else [("name", kind, name)]
    if ns is not None and ns == meta.get("namespace"):
        checks.append(("namespace", None, ns))
    for what, name_kind, value in checks:
        problem = name_problem(name_kind, value)
        if problem is not None:
            c.warnings.append(
                LoadWarning(
                    message=f"metadata.{what} {value!r} is {problem}; the API server would "
                    "refuse this object",
                    source=obj.source(),
                )
            )


def _source_order(source: SourceLocation | None) -> tuple[str, int, int]:
    if source is None:
        return ("", 0, 0)
    return (source.path, source.document, source.line or 0)


def _warning_order(w: LoadWarning) -> tuple[tuple[str, int, int], str, str]:
    return (_source_order(w.source), str(w.ref or ""), w.message)


def _one_of(found: list[tuple[Any, _Object]], what: str, why: str) -> None:
    """Refuse a second, different ``what`` (identical copies are one), naming both places in
    an order that does not depend on the input's (the first found would otherwise win)."""
    distinct: list[tuple[Any, _Object]] = []
    for value, obj in found:
        if all(value != kept for kept, _ in distinct):
            distinct.append((value, obj))
    if len(distinct) > 1:
        first, second = sorted(
            (obj for _, obj in distinct), key=lambda o: _source_order(o.source())
        )[:2]
        raise second.error(
            (),
            f"more than one {what} (at {first.source()} and at {second.source()}): {why}",
            hint="keep the one the cluster uses",
        )


def _collect_rendered(c: _Collected, default_ns: str) -> None:
    """Collect what operators would render from the custom resources (a NIMService's
    Service), after every manifest and in an order that does not depend on the input's:
    an object defined by a manifest wins over a rendered one of the same kind, namespace
    and name, and of two renderings the one whose custom resource sorts first wins (a
    warning names the other)."""
    while c.rendered:
        batch = sorted(
            c.rendered,
            key=lambda pair: (
                str(pair[0].data.get("kind")),
                str((pair[0].data.get("metadata") or {}).get("namespace") or ""),
                str((pair[0].data.get("metadata") or {}).get("name") or ""),
                ObjectRef.sort_key(pair[1]),
            ),
        )
        c.rendered = []
        for obj, rendered_by in batch:
            _collect(obj, c, default_ns, rendered_by=rendered_by)


def _load_context(context: Any) -> ClusterContext | None:
    if context is None or isinstance(context, ClusterContext):
        return context
    if isinstance(context, Mapping):
        try:
            return ClusterContext.model_validate(dict(context))
        except ValidationError as e:
            raise InputError(
                f"invalid ClusterContext: {e.errors(include_url=False)[0]['msg']}", path="<context>"
            ) from e
    docs = _read_source(context, [], _Reading())
    found: list[ClusterContext] = []
    for doc in docs:
        for obj in _objects(doc):
            try:
                found.append(ClusterContext.model_validate(obj.data))
            except ValidationError as e:
                raise _pydantic_error(obj, (), e) from e
    if len(found) != 1:
        raise InputError(
            f"expected one ClusterContext document, found {len(found)}", path=str(context)
        )
    return found[0]


def _register_lookup(obj: _Object, c: _Collected, default_ns: str) -> None:
    """Index the objects custom-resource extractors consult (NIMCache, serving runtimes).

    Only objects of the API groups they are read from, and only serving runtimes whose
    shape is right: a malformed runtime is reported at its own line when it is collected,
    never used (and blamed on an InferenceService) first."""
    kind, api = obj.data.get("kind"), obj.data.get("apiVersion")
    if not isinstance(kind, str) or not isinstance(api, str):
        return
    groups = _LOOKUP_GROUPS.get(kind)
    if groups is None or group_of(api) not in groups:
        return
    meta = obj.data.get("metadata")
    name = meta.get("name") if isinstance(meta, dict) else None
    if not (isinstance(name, str) and isinstance(meta, dict)):
        return
    if kind in RUNTIME_KINDS:
        try:
            check_runtime(obj.data)
        except KindError:
            return
    meta_ns = meta.get("namespace")
    ns = (
        None
        if kind in CLUSTER_SCOPED
        else (meta_ns if isinstance(meta_ns, str) and meta_ns else default_ns)
    )
    # of two copies, the one that sorts first is consulted, whatever the input's order
    order = _source_order(obj.source())
    previous = c.lookup_sources.get((kind, ns, name))
    if previous is None or order < previous:
        c.lookup[(kind, ns, name)] = obj.data
        c.lookup_sources[(kind, ns, name)] = order


@without_gc
def load(
    *sources: Source,
    namespace: str | None = None,
    context: Any = None,
    helm_values: Iterable[str] | str = (),
    helm_set: Iterable[str] | str = (),
    keep_going: bool = False,
) -> Inventory:
    """Read manifests into a linked, frozen :class:`Inventory`.

    ``namespace``: for objects without ``metadata.namespace`` (default ``default``, as
    ``kubectl apply``). ``context``: a ``ClusterContext`` model, mapping, or file path;
    overrides a ClusterContext document found among the manifests. ``helm_values``
    (files) and ``helm_set`` (``key=value``): passed to ``helm template`` for each chart
    directory among the sources. ``keep_going``: a file or object that is an input error
    is skipped (``Inventory.skipped``, its reason beginning with :data:`INPUT_ERROR`)
    instead of raised; two different definitions of one object that is not a workload
    stay an error. Two manifests defining one workload differently are both analysed, as
    workloads of their own (:attr:`ObjectRef.origin`), with a warning.

    Raises :class:`~attackmap.errors.InputError` for bad input (with file, line, field)
    and ``TypeError`` for arguments of the wrong type (a source that is none of the
    above, a ``namespace`` that is not a string).
    """
    return _load(sources, namespace, context, _reading(helm_values, helm_set, keep_going))


@without_gc
def read_and_load(
    *sources: Source,
    namespace: str | None = None,
    context: Any = None,
    helm_values: Iterable[str] | str = (),
    helm_set: Iterable[str] | str = (),
    keep_going: bool = False,
) -> tuple[list[RawDocument], Inventory]:
    """:func:`read_documents` and :func:`load` of its result in one pass: the documents
    (what ``Report.apply()`` patches) and the inventory, which is exactly
    ``load(*read_documents(...))``'s; the objects are built while later files are still
    being parsed (two passes parse every file before building any). An input without a
    single document raises as :func:`require_documents` does, after the reading errors
    and before the loading ones, as ``read_documents`` then ``require_documents`` then
    ``load`` do."""
    documents: list[RawDocument] = []
    inventory = _load(
        sources,
        namespace,
        context,
        _reading(helm_values, helm_set, keep_going),
        kept=documents,
    )
    return documents, inventory


def _load(
    sources: tuple[Source, ...],
    namespace: str | None,
    context: Any,
    reading: _Reading,
    kept: list[RawDocument] | None = None,
) -> Inventory:
    """:func:`load`; with ``kept``, every document read is appended to it and an input
    without a document is refused (:func:`require_documents`) once every source is read."""
    keep_going = reading.keep_going
    if namespace is not None:
        if not isinstance(namespace, str):
            raise TypeError(f"namespace must be a string or None, got {type(namespace).__name__}")
        namespace = str(namespace)  # a str subclass becomes a str
    read: list[str] = []
    c = _Collected({}, {}, [], [], [], {}, [], {})
    default_ns = namespace or "default"

    def collect(obj: _Object) -> None:
        try:
            _collect(obj, c, default_ns)
        except _DuplicateObject:
            raise  # which copy to analyse is the user's call, whatever keep_going says
        except InputError as e:
            if not keep_going:
                raise
            c.skipped.append(_error_skip(obj, e))

    # Objects are collected as their files arrive (while later files are still being
    # parsed), in input order. Custom resources consult other objects (a NIMService its
    # NIMCache), so from the first of them on objects wait for the whole input. A
    # collecting error waits too: reading errors of later files come first, as when all
    # files are read before any object is collected.
    waiting: list[_Object] = []
    failed: InputError | None = None
    documents = 0
    # With ``kept``, the warning of a chart that could not be rendered waits for a
    # document: an input of nothing else is refused with that reason, not warned about.
    unrendered: list[_SkippedFile] = []
    live = False
    shape: InputError | None = None  # with ``kept``: the first document that is no object
    for source in sources:
        with contextlib.closing(_source_batches(source, read, reading)) as batches:
            for batch in batches:  # (closing: stops the parsing workers on an error)
                documents += len(batch)
                if kept is not None:
                    kept.extend(batch)
                for doc in batch:
                    if isinstance(doc, _SkippedFile) and doc.kind != "special":
                        if doc.kind == "unrendered":  # the rest is analysed: say so
                            unrendered.append(doc)
                            if kept is None or live:
                                _log_unrendered(unrendered)
                        c.skipped.append(doc.skipped())
                        continue
                    if not live and doc.data is not None:
                        live = True
                        _log_unrendered(unrendered)  # held while the input might be empty
                    try:
                        objects = _objects(doc, c.warnings)
                    except InputError as e:
                        if not keep_going:
                            if kept is None:
                                raise
                            shape = shape or e  # raised after the reading errors, as before
                            continue
                        c.skipped.append(_SkippedFile.error(doc, e).skipped())
                        continue
                    for obj in objects:
                        _register_lookup(obj, c, default_ns)
                        kind = obj.data.get("kind")
                        if (
                            waiting
                            or failed is not None
                            or (isinstance(kind, str) and kind in CRD_KINDS)
                        ):
                            waiting.append(obj)
                            continue
                        try:
                            collect(obj)
                        except InputError as e:
                            failed = e
    if kept is not None:
        require_documents(kept, sources)
        _log_unrendered(unrendered)
    if shape is not None:
        raise shape
    if failed is not None:
        raise failed
    for obj in waiting:
        collect(obj)
    _rename_sources(c)
    _resolve_copies(c, keep_going)
    _collect_rendered(c, default_ns)
    _one_of(c.cluster_context, "ClusterContext document", "attackmap reads one")
    _one_of(c.admission, "Pod Security admission configuration", "the API server reads one")
    cluster_context = _load_context(context) or (
        c.cluster_context[0][0] if c.cluster_context else None
    )
    log.debug(
        "read %d documents from %d sources: %d workloads", documents, len(read), len(c.workloads)
    )

    def ordered(field: str) -> tuple[Any, ...]:
        items = c.context.get(field, {})
        return tuple(items[k] for k in sorted(items, key=ObjectRef.sort_key))

    inventory = trusted(
        Inventory,
        services=ordered("services"),
        ingresses=ordered("ingresses"),
        routes=ordered("routes"),
        network_policies=ordered("network_policies"),
        service_accounts=ordered("service_accounts"),
        roles=ordered("roles"),
        bindings=ordered("bindings"),
        namespaces=ordered("namespaces"),
        secrets=ordered("secrets"),
        configmaps=ordered("configmaps"),
        pvcs=ordered("pvcs"),
        pvs=ordered("pvs"),
        runtime_classes=ordered("runtime_classes"),
        virtual_services=ordered("virtual_services"),
        istio_gateways=ordered("istio_gateways"),
        cilium_policies=ordered("cilium_policies"),
        calico_policies=ordered("calico_policies"),
        calico_network_sets=ordered("calico_network_sets"),
        admission=tuple(data for data, _ in c.admission[:1]),
        context=cluster_context,
        skipped=tuple(
            sorted(
                c.skipped,
                key=lambda s: (
                    s.source.path,
                    s.source.document,
                    s.source.line or 0,
                    s.kind or "",
                    s.name or "",
                ),
            )
        ),
        sources=tuple(read),
        # reading warnings, in an order that does not depend on the input's; link() adds
        # the dangling references
        warnings=tuple(sorted(c.warnings, key=_warning_order)),
    )
    return link(
        inventory, tuple(c.workloads[k] for k in sorted(c.workloads, key=ObjectRef.sort_key))
    )


@without_gc
def relink(inventory: Inventory, replaced: Mapping[ObjectRef, Mapping[str, Any]]) -> Inventory:
    """Re-analyse after patching: each ``ref → pod template`` replaces that workload's
    ``pod_template`` (``{"metadata": ..., "spec": ...}``), the workload is rebuilt and the
    whole inventory re-linked. Context objects are unchanged. Unknown refs are an error."""
    current = {w.ref: w for w in inventory.workloads}
    for ref, template in replaced.items():
        old = current.get(ref)
        if old is None:
            raise InputError(f"no workload {ref} in the inventory")
        spec = TemplateSpec(
            ref=ref,
            template=copy.deepcopy(dict(template)),
            field_path=(),
            owner_chain=old.owner_chain,
            replicas=old.replicas,
            rendered=old.rendered,
        )
        current[ref] = build_workload(spec, old.source)
        extra = tuple(
            v
            for v in old.pod.volumes
            if v.type == "persistentVolumeClaim"
            and current[ref].pod.volume(v.name) is None
            and any(m.name == v.name for c in current[ref].pod.containers for m in c.volume_mounts)
        )
        if extra:  # StatefulSet volumeClaimTemplates live outside the pod template
            current[ref] = current[ref].model_copy(
                update={
                    "pod": current[ref].pod.model_copy(
                        update={"volumes": current[ref].pod.volumes + extra}
                    )
                }
            )
    unlinked = tuple(current[k] for k in sorted(current, key=ObjectRef.sort_key))
    kept = tuple(w for w in inventory.warnings if w.ref is None)
    linked = link(inventory.model_copy(update={"warnings": ()}), unlinked)
    return linked.model_copy(update={"warnings": kept + linked.warnings})


@without_gc  # as load: at 10k workloads the collector took 3.6 s walking the parsed documents
def read_documents(
    *sources: Source,
    helm_values: Iterable[str] | str = (),
    helm_set: Iterable[str] | str = (),
    keep_going: bool = False,
) -> list[RawDocument]:
    """Read ``sources`` (as :func:`load` takes them, with its ``helm_values``,
    ``helm_set`` and ``keep_going``) into raw documents with provenance, without building
    the inventory; ``load(*documents)`` accepts the result."""
    reading = _reading(helm_values, helm_set, keep_going)
    read: list[str] = []
    docs: list[RawDocument] = []
    for source in sources:
        docs.extend(_read_source(source, read, reading))
    return docs


def _log_unrendered(docs: list[_SkippedFile]) -> None:
    """Log (and forget) the charts and kustomizations skipped because they could not be
    rendered: the rest of the input is analysed."""
    for doc in docs:
        log.warning("%s: skipped: %s", doc.path, doc.reason)
    docs.clear()


def _reading(
    helm_values: Iterable[str] | str, helm_set: Iterable[str] | str, keep_going: bool
) -> _Reading:
    values = as_strings(helm_values, "helm_values")
    for v in values:
        if not Path(v).is_file():
            raise InputError("no such values file", path=v, field="--values")
    return _Reading(Render(values, as_strings(helm_set, "helm_set")), bool(keep_going))


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _error_skip(obj: _Object, e: InputError) -> SkippedObject:
    """An object skipped because it is an input error (``keep_going``)."""
    data = obj.data
    meta = data.get("metadata")
    name = meta.get("name") if isinstance(meta, dict) else None
    ns = meta.get("namespace") if isinstance(meta, dict) else None
    source = obj.source()
    if e.line is not None:
        source = source.model_copy(update={"line": e.line})
    reason = INPUT_ERROR + e.summary()
    kind, api = _text(data.get("kind")), _text(data.get("apiVersion"))
    return _skipped(source, reason, kind, api, _text(name), _text(ns))


def require_documents(documents: list[RawDocument], sources: Iterable[object]) -> None:
    """Refuse an input without a single document -- an empty file or directory, only
    comments or ``---``, only skipped special files, only charts or kustomizations that
    could not be rendered: ``analyze`` and ``inventory`` both exit 2 with "nothing to
    analyse" rather than print an empty result. Files skipped because they are not
    Kubernetes objects (a chart's ``values.yaml`` from a pre-commit hook) are an input."""
    if all(d.data is None for d in documents):
        if any(isinstance(d, _SkippedFile) and d.kind == "listed" for d in documents):
            return
        unrendered = [
            d for d in documents if isinstance(d, _SkippedFile) and d.kind == "unrendered"
        ]
        if unrendered:
            raise InputError(unrendered[0].reason, path=unrendered[0].path)
        named = (
            ", ".join(
                "<text>" if isinstance(s, str) and _looks_like_text(s) else str(s)
                for s in sources
                if isinstance(s, str | Path)
            )
            or "the input"
        )
        raise InputError(
            "no Kubernetes documents found",
            path=named[:200],
            hint="check the path; directories are searched for *.yaml, *.yml and *.json",
        )
