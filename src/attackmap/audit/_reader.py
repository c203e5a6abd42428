"""Streaming reader of Kubernetes API-server audit logs.

Input (any mix, in the order given):

* a file of JSON lines (one ``audit.k8s.io/v1`` or ``v1beta1`` ``Event`` per line; a line
  holding an ``EventList``, as the webhook backend batches them, yields its items), plain or
  gzip-compressed (detected by its magic bytes, not its name);
* a directory: its regular, non-hidden files (not recursive), oldest first -- see
  :func:`rotation_order`;
* ``-`` for stdin, or an open binary or text stream.

The reader is a generator over lines: memory stays flat whatever the size of the log (a
line is never longer than ``max_line_bytes``; at most ``stage_window`` requests wait for
their final stage). A line that is not an audit event (truncated, garbage, binary, wrong
shape) is counted in :class:`ReadStats` with its ``file:line`` and skipped; it never stops
the reader. Only a path that cannot be opened at all raises :class:`AuditError`.

Stages. The API server may log one request up to four times (``RequestReceived``,
``ResponseStarted`` for long-running requests such as watches, ``ResponseComplete``,
``Panic``). The reader yields each request once: the ``ResponseComplete`` (or ``Panic``)
event when there is one; otherwise, once ``stage_window`` further events have gone by
without it (or at the end of the input), the latest earlier stage (``ResponseStarted``
over ``RequestReceived``). Dropped stage events are counted in
``ReadStats.skipped_stages``. Events without an ``auditID`` are always yielded.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import logging
import os
import re
import sys
import zlib
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from pydantic import BaseModel, ConfigDict, ValidationError

from attackmap.audit._events import (
    AuditEvent,
    BindingSubject,
    BindingSummary,
    OwnerRef,
    PodSummary,
    RoleRef,
    Source,
)
from attackmap.errors import AuditError

__all__ = ["AuditReader", "BadLine", "ReadStats", "read", "rotation_order"]

log = logging.getLogger(__name__)

AUDIT_API_VERSIONS = frozenset({"audit.k8s.io/v1", "audit.k8s.io/v1beta1"})
FINAL_STAGES = frozenset({"ResponseComplete", "Panic"})
# among non-final stages of one request, the later one wins
_STAGE_RANK = {"RequestReceived": 0, "ResponseStarted": 1}

_NEWLINES = (b"\n", "\n")
_decode = json.JSONDecoder().decode  # json.loads(str) without its checks
DEFAULT_MAX_LINE_BYTES = 64 * 1024 * 1024
#: How far an over-long line is skipped looking for its end before the input is refused
#: (an audit log has one JSON event a line; an endless stream without line breaks, such as
#: ``/dev/zero``, would otherwise be read forever).
MAX_LINE_SKIP_BYTES = 256 * 1024 * 1024
DEFAULT_STAGE_WINDOW = 20_000
DEFAULT_MAX_BAD_LOCATIONS = 20

# pod-template location per workload kind
_TEMPLATE_PATHS: dict[str, tuple[str, ...]] = {
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "ReplicationController": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
_BINDING_KINDS = frozenset({"RoleBinding", "ClusterRoleBinding"})

#: An input: a path (file, directory, or ``-`` for stdin) or an open binary/text stream.
AuditSource = str | os.PathLike[str] | IO[bytes] | IO[str]


class BadLine(BaseModel):
    """A line that was not an audit event: where, and why."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    file: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}"


class ReadStats(BaseModel):
    """What a read saw: complete only once the iteration has finished.

    ``lines`` counts physical lines (blank ones included), ``events`` the events yielded,
    ``bad_lines`` the lines skipped as not being audit events (the first
    ``max_bad_locations`` are in ``bad_locations``), ``skipped_stages`` the events dropped
    per stage because a better stage of the same request was kept.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    files: tuple[str, ...] = ()
    lines: int = 0
    events: int = 0
    bad_lines: int = 0
    bad_locations: tuple[BadLine, ...] = ()
    skipped_stages: dict[str, int] = {}


class _BadEvent(Exception):
    """A parsed line that is not a usable audit event (internal)."""


@dataclass
class _Counters:
    files: list[str] = field(default_factory=list)
    lines: int = 0
    events: int = 0
    bad_lines: int = 0
    bad_locations: list[BadLine] = field(default_factory=list)
    skipped_stages: dict[str, int] = field(default_factory=dict)

    def skip(self, stage: str, n: int = 1) -> None:
        self.skipped_stages[stage or "<none>"] = self.skipped_stages.get(stage or "<none>", 0) + n


# --------------------------------------------------------------------------- ordering

_NUMBERED = re.compile(r"^(?P<base>.+?)\.(?P<n>\d+)(?P<gz>\.gz)?$")
_STAMPED = re.compile(
    r"^(?P<base>.+?)-(?P<ts>\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}(?:\.\d+)?)(?P<ext>\.[^.]+)?(?P<gz>\.gz)?$"
)


def _rotation_key(name: str) -> tuple[str, int, int, str]:
    m = _STAMPED.match(name)
    if m:  # lumberjack (kube-apiserver --audit-log-maxbackup): audit-<timestamp>.log[.gz]
        return (m["base"] + (m["ext"] or ""), 0, 0, m["ts"])
    m = _NUMBERED.match(name)
    if m:  # logrotate: audit.log.1 is the newest backup, audit.log.2[.gz] older
        return (m["base"], 1, -int(m["n"]), "")
    plain = name.removesuffix(".gz")
    return (plain, 2, 0, name)


def rotation_order(names: Iterable[str]) -> list[str]:
    """File names of a log directory, oldest first.

    Files are grouped by their base name (``audit.log``), groups sorted by name. Within a
    group: kube-apiserver backups ``audit-2026-03-10T14-01-58.003.log[.gz]`` by timestamp,
    then logrotate backups ``audit.log.N[.gz]`` from the highest ``N`` (oldest) to
    ``audit.log.1``, then the active ``audit.log`` last.
    """
    return sorted(names, key=lambda n: (*_rotation_key(n), n))


# --------------------------------------------------------------------------- conversion


def _dig(obj: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def _strs(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(v for v in value if isinstance(v, str))


def _pod_summary(obj: dict[str, Any]) -> PodSummary | None:
    kind = obj.get("kind")
    if kind == "Pod":
        spec = obj.get("spec")
    elif isinstance(kind, str) and kind in _TEMPLATE_PATHS:
        spec = _dig(obj, _TEMPLATE_PATHS[kind])
    else:
        return None
    meta = obj.get("metadata")
    if not isinstance(spec, dict) or not isinstance(meta, dict):
        return None
    name = meta.get("name") or meta.get("generateName") or ""
    owner = None
    owners = [o for o in meta.get("ownerReferences") or () if isinstance(o, dict)]
    if owners:
        chosen = next((o for o in owners if o.get("controller") is True), owners[0])
        if isinstance(chosen.get("kind"), str) and isinstance(chosen.get("name"), str):
            owner = OwnerRef(kind=chosen["kind"], name=chosen["name"])
    labels = meta.get("labels")
    privileged: list[str] = []
    caps: set[str] = set()
    for group in ("initContainers", "containers", "ephemeralContainers"):
        for c in spec.get(group) or ():
            if not isinstance(c, dict):
                continue
            sc = c.get("securityContext")
            if not isinstance(sc, dict):
                continue
            if sc.get("privileged") is True:
                privileged.append(str(c.get("name", "")))
            caps.update(_strs(_dig(sc, ("capabilities", "add"))))
    host_paths = []
    for v in spec.get("volumes") or ():
        path = _dig(v, ("hostPath", "path"))
        if isinstance(path, str):
            host_paths.append(path)
    sa = spec.get("serviceAccountName") or spec.get("serviceAccount") or ""
    namespace = meta.get("namespace")
    return PodSummary(
        kind=kind,
        name=name if isinstance(name, str) else "",
        namespace=namespace if isinstance(namespace, str) else "",
        owner=owner,
        labels={k: v for k, v in labels.items() if isinstance(v, str)}
        if isinstance(labels, dict)
        else {},
        service_account=sa if isinstance(sa, str) else "",
        privileged_containers=tuple(privileged),
        host_path_volumes=tuple(sorted(set(host_paths))),
        host_namespaces=tuple(
            k for k in ("hostIPC", "hostNetwork", "hostPID") if spec.get(k) is True
        ),
        added_capabilities=tuple(sorted(caps)),
    )


def _binding_summary(obj: dict[str, Any]) -> BindingSummary | None:
    if obj.get("kind") not in _BINDING_KINDS:
        return None
    ref = obj.get("roleRef")
    if not isinstance(ref, dict):
        return None
    subjects = tuple(
        BindingSubject(
            kind=str(s.get("kind", "")),
            name=str(s.get("name", "")),
            namespace=str(s.get("namespace", "")),
        )
        for s in obj.get("subjects") or ()
        if isinstance(s, dict)
    )
    return BindingSummary(
        role_ref=RoleRef(kind=str(ref.get("kind", "")), name=str(ref.get("name", ""))),
        subjects=subjects,
    )


# top-level event fields kept (everything else, requestObject and responseObject included,
# is dropped here; requestObject only feeds the summaries)
_EVENT_KEYS = (
    "apiVersion",
    "level",
    "auditID",
    "stage",
    "requestURI",
    "verb",
    "user",
    "impersonatedUser",
    "sourceIPs",
    "objectRef",
    "responseStatus",
    "annotations",
    "requestReceivedTimestamp",
)


def _event(obj: Any, source: Source) -> AuditEvent:
    """Reduce one decoded JSON event to an :class:`AuditEvent` (raises ``_BadEvent``)."""
    if not isinstance(obj, dict):
        raise _BadEvent(f"not an audit event: a JSON {type(obj).__name__}")
    api_version = obj.get("apiVersion")
    if api_version is not None and (
        not isinstance(api_version, str) or api_version not in AUDIT_API_VERSIONS
    ):
        raise _BadEvent(f"not an audit event: apiVersion {api_version!r}")
    kind = obj.get("kind")
    if kind is not None and kind != "Event":
        raise _BadEvent(f"not an audit event: kind {kind!r}")
    if "verb" not in obj and "stage" not in obj:
        raise _BadEvent("not an audit event: no verb and no stage")
    fields = {k: v for k in _EVENT_KEYS if (v := obj.get(k)) is not None}
    fields["source"] = source
    request_object = obj.get("requestObject")
    if isinstance(request_object, dict):
        pod = _pod_summary(request_object)
        if pod is not None:
            fields["pod"] = pod
        else:
            binding = _binding_summary(request_object)
            if binding is not None:
                fields["binding"] = binding
    try:
        return AuditEvent.model_validate(fields)
    except ValidationError as e:
        err = e.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise _BadEvent(f"field {where!r}: {err['msg']}") from e


# --------------------------------------------------------------------------- input


class _Prefixed(io.RawIOBase):
    """A binary stream with ``head`` put back in front (to sniff gzip on any stream)."""

    def __init__(self, head: bytes, rest: IO[bytes]) -> None:
        self._head = head
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        if self._head:
            n = min(len(view), len(self._head))
            view[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._rest.read(len(view))
        view[: len(data)] = data
        return len(data)


def _binary_lines(stream: IO[bytes], limit: int) -> IO[bytes]:
    """Wrap a binary stream, decompressing it when it starts with the gzip magic."""
    head = stream.read(2)
    buffered = io.BufferedReader(_Prefixed(head, stream), buffer_size=1 << 20)
    if head == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=buffered, mode="rb")  # type: ignore[return-value]  # GzipFile is a binary IO
    return buffered


def _expand(source: AuditSource) -> list[tuple[str, AuditSource]]:
    """(display name, input) pairs: directories expanded, paths checked to be readable."""
    if not isinstance(source, str | os.PathLike):
        return [(getattr(source, "name", None) or "<stream>", source)]
    if isinstance(source, str) and source == "-":
        return [("-", source)]
    path = Path(source)
    try:
        if path.is_dir():
            names = []
            for p in sorted(path.iterdir()):
                if p.name.startswith("."):
                    continue
                if p.is_file():
                    names.append(p.name)
                elif not p.is_dir():  # a FIFO, a device, a dangling link: never opened
                    log.warning("%s: skipped: not a regular file (never opened)", p)
            return [(str(path / n), path / n) for n in rotation_order(names)]
        if not path.exists():
            raise AuditError(
                "audit log not found", path=path, hint="give an audit log file, a directory or -"
            )
        if not os.access(path, os.R_OK):
            raise AuditError("audit log is not readable (permission denied)", path=path)
    except OSError as e:
        raise AuditError(f"cannot open audit log: {e.strerror}", path=path) from e
    return [(str(path), path)]


class AuditReader:
    """Iterate the audit events of one or more logs; :attr:`stats` once done.

    >>> reader = AuditReader("audit.log")          # doctest: +SKIP
    >>> for event in reader: ...                    # doctest: +SKIP
    >>> reader.stats.bad_lines                      # doctest: +SKIP

    Paths are checked when the reader is created (:class:`AuditError` if one does not
    exist or cannot be read); the logs are read lazily, line by line.
    """

    def __init__(
        self,
        *sources: AuditSource,
        max_bad_locations: int = DEFAULT_MAX_BAD_LOCATIONS,
        max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
        stage_window: int = DEFAULT_STAGE_WINDOW,
    ) -> None:
        self._inputs = [pair for s in sources for pair in _expand(s)]
        self._max_bad = max_bad_locations
        self._limit = max_line_bytes
        self._window = stage_window
        self._c = _Counters()
        self._done = False

    @property
    def stats(self) -> ReadStats:
        """Counters of the read so far (final once iteration has ended)."""
        c = self._c
        return ReadStats(
            files=tuple(c.files),
            lines=c.lines,
            events=c.events,
            bad_lines=c.bad_lines,
            bad_locations=tuple(c.bad_locations),
            skipped_stages=dict(sorted(c.skipped_stages.items())),
        )

    @property
    def finished(self) -> bool:
        """Whether the iteration ran to the end (so :attr:`stats` is complete)."""
        return self._done

    def __iter__(self) -> Iterator[AuditEvent]:
        self._c = _Counters()
        self._done = False
        pending: OrderedDict[str, tuple[int, AuditEvent, int]] = OrderedDict()
        seen: OrderedDict[str, None] = OrderedDict()  # auditIDs already yielded (bounded)
        seen_cap = 5 * self._window
        seq = 0
        c = self._c

        def remember(audit_id: str) -> None:
            seen[audit_id] = None
            if len(seen) > seen_cap:
                seen.popitem(last=False)

        for name, src in self._inputs:
            c.files.append(name)
            for ev in self._events_of(name, src):
                seq += 1
                aid = ev.audit_id
                if not aid:
                    c.events += 1
                    yield ev
                elif aid in seen:
                    c.skip(ev.stage)
                elif ev.stage in FINAL_STAGES or ev.stage not in _STAGE_RANK:
                    waiting = pending.pop(aid, None)
                    if waiting is not None:
                        c.skip(waiting[1].stage, waiting[2])
                    remember(aid)
                    c.events += 1
                    yield ev
                else:
                    waiting = pending.get(aid)
                    if waiting is None:
                        pending[aid] = (seq, ev, 1)
                    elif _STAGE_RANK[ev.stage] >= _STAGE_RANK.get(waiting[1].stage, 0):
                        c.skip(waiting[1].stage)
                        pending[aid] = (waiting[0], ev, waiting[2])
                    else:
                        c.skip(ev.stage)
                while pending:
                    first = next(iter(pending.values()))
                    if first[0] > seq - self._window:
                        break
                    orphan_id, (_, orphan, _) = pending.popitem(last=False)
                    remember(orphan_id)
                    c.events += 1
                    yield orphan
        for _, orphan, _ in pending.values():
            c.events += 1
            yield orphan
        self._done = True

    # ----------------------------------------------------------------- one input

    def _bad(self, file: str, line: int, reason: str) -> None:
        c = self._c
        c.bad_lines += 1
        if len(c.bad_locations) < self._max_bad:
            c.bad_locations.append(BadLine(file=file, line=line, reason=reason))

    def _events_of(self, name: str, src: AuditSource) -> Iterator[AuditEvent]:
        bad_before = self._c.bad_lines
        with contextlib.ExitStack() as stack:
            stream: IO[bytes] | IO[str]
            if isinstance(src, str) and src == "-":
                stream = _binary_lines(sys.stdin.buffer, self._limit)
            elif isinstance(src, str | os.PathLike):
                try:
                    raw = stack.enter_context(open(src, "rb"))
                except OSError as e:
                    raise AuditError(f"cannot open audit log: {e.strerror}", path=name) from e
                stream = stack.enter_context(_binary_lines(raw, self._limit))
            elif isinstance(src, io.TextIOBase):
                stream = src
            else:
                stream = _binary_lines(src, self._limit)  # type: ignore[arg-type]  # not a text stream, so binary
            yield from self._parse(name, stream)
        bad = self._c.bad_lines - bad_before
        if bad:
            firsts = [str(b) for b in self._c.bad_locations if b.file == name][:3]
            log.warning(
                "%s: skipped %d line(s) that are not audit events (first: %s)",
                name,
                bad,
                "; ".join(firsts) or "see the read statistics",
            )

    def _parse(self, name: str, stream: IO[bytes] | IO[str]) -> Iterator[AuditEvent]:
        c = self._c
        limit = self._limit
        lineno = 0
        readline = stream.readline
        while True:
            try:
                line = readline(limit)
            except (EOFError, OSError, zlib.error) as e:
                if isinstance(e, OSError) and not isinstance(e, gzip.BadGzipFile):
                    raise AuditError(
                        f"cannot read audit log: {e.strerror or e}", path=name, line=lineno + 1
                    ) from e
                c.lines += 1
                self._bad(name, lineno + 1, f"corrupt or truncated gzip stream: {e}")
                return
            except UnicodeDecodeError as e:  # a text stream with undecodable bytes
                lineno += 1
                c.lines += 1
                self._bad(name, lineno, f"not UTF-8: {e.reason}")
                continue
            if not line:
                return
            lineno += 1
            c.lines += 1
            if len(line) >= limit and line[-1:] not in _NEWLINES:
                self._bad(name, lineno, f"line longer than {limit} bytes")
                skipped = len(line)
                while line and line[-1:] not in _NEWLINES:
                    line = readline(limit)
                    skipped += len(line)
                    if skipped > MAX_LINE_SKIP_BYTES:  # /dev/zero: no line break, ever
                        raise AuditError(
                            f"no line break in {MAX_LINE_SKIP_BYTES} bytes: not an audit log",
                            path=name,
                            line=lineno,
                        )
                continue
            try:
                if isinstance(line, bytes):
                    if line[:1] == b"{" and line[1:2] != b"\x00":
                        # json.loads(bytes) would sniff UTF-8 here and decode the same way
                        obj = _decode(line.decode("utf-8", "surrogatepass"))
                    elif not line.strip():
                        continue
                    else:
                        obj = json.loads(line)
                elif line[:1] == "{":
                    obj = _decode(line)
                elif not line.strip():
                    continue
                else:
                    obj = json.loads(line)
            except RecursionError:
                self._bad(name, lineno, "JSON nested too deeply")
                continue
            except UnicodeDecodeError as e:
                self._bad(name, lineno, f"not UTF-8: {e.reason}")
                continue
            except ValueError as e:
                self._bad(name, lineno, f"not JSON: {e}")
                continue
            source = Source(file=name, line=lineno)
            items = (
                obj.get("items")
                if isinstance(obj, dict) and obj.get("kind") == "EventList"
                else [obj]
            )
            if not isinstance(items, list):
                self._bad(name, lineno, "EventList without items")
                continue
            for item in items:
                try:
                    yield _event(item, source)
                except _BadEvent as e:
                    self._bad(name, lineno, str(e))
                except RecursionError:
                    self._bad(name, lineno, "JSON nested too deeply")


def read(
    *sources: AuditSource,
    max_bad_locations: int = DEFAULT_MAX_BAD_LOCATIONS,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
    stage_window: int = DEFAULT_STAGE_WINDOW,
) -> AuditReader:
    """An :class:`AuditReader` over ``sources`` (files, directories, ``-``, streams).

    Iterate it for :class:`AuditEvent` s; its ``stats`` are complete after the iteration.
    """
    return AuditReader(
        *sources,
        max_bad_locations=max_bad_locations,
        max_line_bytes=max_line_bytes,
        stage_window=stage_window,
    )
