"""Shared storage: which workloads mount the same data, who writes it, who runs code from it.

A volume is *shared* when another workload mounts the same data: the same PVC of a
namespace, PVCs bound to the same PV, PVs or inline volumes of the same NFS server and
export, or the same host directory (a hostPath, or a hostPath/local PV; any two pods may
share a node: attackmap does not trust scheduling to keep them apart). Access modes do not
limit sharing (a ReadWriteOnce claim is shared by the pods of one node, and a caching Job
writes what the server reads later); they limit writing: a mount is writable unless the
mount, the volume source or a claim of only ``ReadOnlyMany`` says read-only (that the
storage driver enforces ``ReadOnlyMany`` is assumed, as the access mode promises).

Each mount has a :data:`Location`: a root (``pvc:<ns>/<claim>``, ``pv:<name>``,
``nfs:<server>``, ``host``) and a path below it (the ``subPath``, the export or host path).
Two mounts overlap when one path lies inside the other (a ``subPathExpr`` counts as the
volume's root: its value is not known). :class:`StoreIndex` answers, for a location,
which mounts overlap it, by walking the path's ancestors and descendants: no pairwise
comparison of workloads.

A container *runs code from* a mount when its manifest shows a code source there
(:class:`~attackmap.model.CodeSource`: a Triton or TorchServe repository, a pickled model,
a script, ``PYTHONPATH``...), or a code source without a path (``--trust-remote-code``,
``NIM_TRUST_CUSTOM_CODE``) and the mount is a model store. A mount is a *model store* when
it is where NIM keeps models (``/model-store``, ``NIM_CACHE_PATH``, volume ``model-store``
or ``nim-cache``, ``/models``, ``/mnt/models``, ``/opt/nim/.cache``) or a model code
source lies in it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property

from attackmap.model import Workload
from attackmap.model._workload import Container, ResolvedMount, Volume

# (root, path components)
Location = tuple[str, tuple[str, ...]]

MODEL_STORE_PATHS = ("/model-store", "/opt/nim/.cache", "/mnt/models", "/models")
_MODEL_STORE_VOLUMES = ("model-store", "nim-cache")
# hostPaths that are devices, kernel interfaces or sockets, not stored data
_NOT_DATA_TYPES = frozenset({"Socket", "CharDevice", "BlockDevice"})
# Host directories of the system, the kubelet and the runtime, not stored data: writing
# there is an escape (escape-host-write and its kin), not a shared store.
_NOT_DATA_PATHS = (
    "/dev",
    "/proc",
    "/sys",
    "/etc",
    "/usr",
    "/bin",
    "/sbin",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/boot",
    "/run",
    "/var/run",
    "/var/log",
    "/var/lib/kubelet",
    "/var/lib/containerd",
    "/var/lib/docker",
    "/var/lib/cni",
    "/opt/cni",
)


def norm_path(path: str) -> str:
    parts = [p for p in path.split("/") if p and p != "."]
    return "/" + "/".join(parts)


def _parts(path: str | None) -> tuple[str, ...]:
    return tuple(p for p in (path or "").split("/") if p and p != ".")


def is_model_store(c: Container, m: ResolvedMount) -> bool:
    """Whether mount ``m`` of ``c`` is where the container keeps its models (the rule of
    the ``model_store:*`` facts)."""
    path = norm_path(m.mount.mount_path)
    cache_env = any(e.name == "NIM_CACHE_PATH" for e in c.env)
    return (
        path in MODEL_STORE_PATHS
        or (m.volume is not None and m.volume.name in _MODEL_STORE_VOLUMES)
        or (cache_env and path.startswith("/model"))
    )


def _inside(a: str, b: str) -> bool:
    """Whether path ``a`` is ``b`` or lies inside it."""
    return a == b or a.startswith(b.rstrip("/") + "/")


def _read_only_claim(v: Volume) -> bool:
    return bool(v.access_modes) and set(v.access_modes) == {"ReadOnlyMany"}


def volume_root(v: Volume, namespace: str) -> tuple[str, tuple[str, ...], str] | None:
    """``(root, path, label)`` of the data behind ``v``; ``None`` for volumes no other
    workload can mount (emptyDir, Secrets, ConfigMaps, projections, devices...)."""
    if v.type == "persistentVolumeClaim" and v.claim_name:
        label = f"PVC {namespace}/{v.claim_name}"
        if v.pv_backing == "nfs" and v.pv_server:
            return (
                f"nfs:{v.pv_server}",
                _parts(v.pv_path),
                f"{label} (NFS {v.pv_server}:{v.pv_path})",
            )
        if v.pv_backing in ("hostPath", "local") and v.pv_path:
            return "host", _parts(v.pv_path), f"{label} ({v.pv_backing} {v.pv_path})"
        if v.pv is not None:
            return f"pv:{v.pv.name}", (), f"{label} (PV {v.pv.name})"
        return f"pvc:{namespace}/{v.claim_name}", (), label
    if v.type == "nfs" and v.server:
        return f"nfs:{v.server}", _parts(v.path), f"NFS {v.server}:{v.path or '/'}"
    if v.type == "hostPath" and v.path:
        path = norm_path(v.path)
        if v.host_path_type in _NOT_DATA_TYPES or any(_inside(path, p) for p in _NOT_DATA_PATHS):
            return None
        return "host", _parts(path), f"hostPath {path}"
    return None


@dataclass(frozen=True)
class StoreMount:
    """One container's mount of data other workloads may mount too."""

    workload: str  # workload key
    container: str
    kind: str  # the container's kind (init, regular, sidecar)
    location: Location
    label: str
    mount_path: str
    mount_name: str
    field: str  # containers[<c>].volumeMounts[<name>]
    writable: bool
    model: bool  # the container keeps its models there
    code: str  # why the container runs code from it ("" when it does not)

    @property
    def location_id(self) -> str:
        return location_id(self.location)


def reader_kind(kind: str, loc: Location, written: Location) -> str:
    """The mounts at ``loc`` that count as readers of ``kind`` for data written at
    ``written``: a mount of a directory *above* what is written sees the change but uses it
    only where it loads models or code from there (``uses``); at or below, every mount."""
    return "uses" if kind == "any" and len(loc[1]) < len(written[1]) else kind


def location_id(loc: Location) -> str:
    root, path = loc
    return f"{root}:/{'/'.join(path)}"


def _runs_code(c: Container, mount_path: str, model: bool) -> str:
    for src in c.code_sources:
        if src.path is None:
            if model:
                return f"{src.why} ({src.field})"
            continue
        path = norm_path(src.path)
        if _inside(path, mount_path) or _inside(mount_path, path):
            return f"{src.why} ({src.field}: {src.path})"
    return ""


def store_mounts(w: Workload, key: str) -> tuple[StoreMount, ...]:
    """The mounts of ``w``'s containers (ephemeral ones excepted) that other workloads may
    share, in container and mount order."""
    out: list[StoreMount] = []
    for c in w.pod.containers:
        if c.kind == "ephemeral":
            continue
        for m, v in w.pod.volume_mounts(c):
            found = volume_root(v, w.namespace)
            if found is None:
                continue
            root, path, label = found
            sub = m.mount.sub_path
            if sub and "$(" not in sub:
                path = path + _parts(sub)
                label = f"{label} subPath {sub}"
            mount_path = norm_path(m.mount.mount_path)
            model = is_model_store(c, m) or any(
                s.kind == "model" and s.path is not None and _inside(norm_path(s.path), mount_path)
                for s in c.code_sources
            )
            out.append(
                StoreMount(
                    workload=key,
                    container=c.name,
                    kind=c.kind,
                    location=(root, path),
                    label=label,
                    mount_path=mount_path,
                    mount_name=m.mount.name,
                    field=f"containers[{c.name}].volumeMounts[{m.mount.name}]",
                    writable=m.writable and not _read_only_claim(v),
                    model=model,
                    code=_runs_code(c, mount_path, model),
                )
            )
    return tuple(out)


@dataclass(frozen=True)
class StoreIndex:
    """Every shared-storage mount of a fact base, indexed by location."""

    mounts: tuple[StoreMount, ...] = ()
    _by_location: dict[Location, list[StoreMount]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def __post_init__(self) -> None:
        for m in self.mounts:
            self._by_location.setdefault(m.location, []).append(m)

    @cached_property
    def _firsts(self) -> dict[tuple[Location, str], list[StoreMount]]:
        """Per location and kind (``any``, ``code``, ``model``): the first such mount of each
        workload, in mount order."""
        out: dict[tuple[Location, str], dict[str, StoreMount]] = {}
        for loc, mounts in self._by_location.items():
            for m in mounts:
                kinds = (("any", True), ("code", bool(m.code)), ("model", m.model))
                for kind, holds in (*kinds, ("uses", bool(m.code) or m.model)):
                    if holds:
                        out.setdefault((loc, kind), {}).setdefault(m.workload, m)
        return {k: list(v.values()) for k, v in out.items()}

    def other_workloads(
        self, mount: StoreMount, kind: str, limit: int = 3
    ) -> tuple[list[StoreMount], bool]:
        """Up to ``limit`` mounts of other workloads overlapping ``mount`` (one per
        workload; ``kind``: ``any``, ``code`` — they run code from it — or ``model`` — it is
        their model store), and whether there are more."""
        found: dict[str, StoreMount] = {}
        for loc in self.overlapping(mount.location):
            for m in self._firsts.get((loc, reader_kind(kind, loc, mount.location)), ()):
                if m.workload == mount.workload or m.workload in found:
                    continue
                if len(found) == limit:
                    return list(found.values()), True
                found[m.workload] = m
        return list(found.values()), False

    def has_other(self, loc: Location, workload: str, kind: str) -> bool:
        """Whether a workload other than ``workload`` has a ``kind`` mount at ``loc``."""
        firsts = self._firsts.get((loc, kind), ())
        return len(firsts) > 1 or (len(firsts) == 1 and firsts[0].workload != workload)

    @cached_property
    def _below(self) -> dict[Location, list[Location]]:
        """Each location's indexed locations strictly inside it."""
        out: dict[Location, list[Location]] = {}
        for loc in sorted(self._by_location):
            root, path = loc
            for i in range(len(path)):
                parent = (root, path[:i])
                if parent in self._by_location:
                    out.setdefault(parent, []).append(loc)
        return out

    def overlapping(self, loc: Location) -> Iterator[Location]:
        """The indexed locations that overlap ``loc`` (itself, those above and below it),
        sorted."""
        root, path = loc
        found = {(root, path[:i]) for i in range(len(path) + 1)} & self._by_location.keys()
        found.update(self._below.get(loc, ()))
        if loc not in self._by_location:  # an unindexed location: scan its root's children
            found.update(
                other
                for other in self._by_location
                if other[0] == root and other[1][: len(path)] == path
            )
        yield from sorted(found)

    def at(self, loc: Location) -> list[StoreMount]:
        """The mounts of exactly ``loc``."""
        return self._by_location.get(loc, [])

    def at_id(self, ident: str) -> list[StoreMount]:
        """The mounts of the location whose :func:`location_id` is ``ident``."""
        loc = self._ids.get(ident)
        return self._by_location[loc] if loc is not None else []

    @cached_property
    def _ids(self) -> dict[str, Location]:
        return {location_id(loc): loc for loc in self._by_location}

    def of(self, workload: str, container: str | None = None) -> Iterator[StoreMount]:
        """The mounts of ``workload`` (of one of its containers)."""
        for m in self._by_workload.get(workload, ()):
            if container is None or m.container == container:
                yield m

    @cached_property
    def _by_workload(self) -> dict[str, list[StoreMount]]:
        out: dict[str, list[StoreMount]] = {}
        for m in self.mounts:
            out.setdefault(m.workload, []).append(m)
        return out

    def shared_writes(self, workload: str) -> Iterator[StoreMount]:
        """The writable mounts of ``workload`` that another workload mounts too."""
        for m in self.of(workload):
            if m.writable and self.other_workloads(m, "any", 1)[0]:
                yield m


def _names(mounts: list[StoreMount], more: bool) -> str:
    return ", ".join(m.workload for m in mounts) + (" and more" if more else "")


def store_facts(index: StoreIndex, workload: str) -> list[tuple[str, str, str, str]]:
    """``(container, fact, field, detail)`` of the shared-storage facts of ``workload``'s
    containers: ``shared_store:write`` (it writes data another workload mounts),
    ``shared_store:write_code`` (... that another workload runs code from) and
    ``shared_store:read_model`` (it can read data where another workload keeps its model).
    The details name up to three other workloads (each looked up in bounded time: a claim
    that thousands of workloads mount costs each of them a few steps, not thousands)."""
    out: list[tuple[str, str, str, str]] = []
    for m in index.of(workload):
        where = f"{m.label} at {m.mount_path}"
        if m.writable:
            readers, more = index.other_workloads(m, "any")
            if readers:
                out.append(
                    (
                        m.container,
                        "shared_store:write",
                        m.field,
                        f"{where}, mounted by {_names(readers, more)}",
                    )
                )
            loaders, more = index.other_workloads(m, "code")
            if loaders:
                first = loaders[0]
                rest = f" (and {_names(loaders[1:], more)})" if len(loaders) > 1 or more else ""
                out.append(
                    (
                        m.container,
                        "shared_store:write_code",
                        m.field,
                        f"{where}; {first.workload} [{first.container}] runs code from it: "
                        f"{first.code}{rest}",
                    )
                )
        holders, more = index.other_workloads(m, "model")
        if holders:
            out.append(
                (
                    m.container,
                    "shared_store:read_model",
                    m.field,
                    f"{where}: the model store of {_names(holders, more)}",
                )
            )
    return out
