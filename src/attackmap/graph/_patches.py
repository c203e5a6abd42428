"""Patch operations: how each control changes the manifests (named in ``mappings/controls``).

Each operation edits raw Kubernetes documents (plain data, deep-copied by the caller) for
one workload, and records what it changed. :func:`applicable` says whether an operation
can be applied to a workload kind: custom resources whose operator offers no such field
(a NIMService has no securityContext) cannot take pod-template patches, so such controls
are never offered for them.

The fact-level effect declared by a control (``removes``/``adds``) must equal what its
patch does to the manifest; tests prove it by re-analysing patched manifests.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from attackmap.graph._facts import (
    ALL_NAMESPACES,
    DEPLOY_RIGHTS,
    FactBase,
    dedicated_service_account_name,
    is_credential_env,
)
from attackmap.model import Inventory, Workload
from attackmap.model._refs import ObjectRef


class ControlPatch(Protocol):
    """What applying a control needs of it: its id and its ``patch`` (the operation's name
    under ``op`` and its parameters). The catalogue's control instances are such; this
    module stands before the catalogue, which checks that controls name known operations."""

    @property
    def id(self) -> str: ...

    @property
    def patch(self) -> Mapping[str, str | int | bool]: ...


# Kinds whose pod template sits at a fixed place in the document.
_TEMPLATE_PATHS: dict[str, tuple[tuple[str, ...], ...]] = {
    "Pod": ((),),
    "Deployment": (("spec", "template"),),
    "StatefulSet": (("spec", "template"),),
    "DaemonSet": (("spec", "template"),),
    "ReplicaSet": (("spec", "template"),),
    "ReplicationController": (("spec", "template"),),
    "Job": (("spec", "template"),),
    "CronJob": (("spec", "jobTemplate", "spec", "template"),),
    "PodTemplate": (("template",),),
}
_COMPONENT_PATHS: dict[str, dict[str, tuple[str, ...]]] = {
    "LeaderWorkerSet": {
        "leader": ("spec", "leaderWorkerTemplate", "leaderTemplate"),
        "worker": ("spec", "leaderWorkerTemplate", "workerTemplate"),
    },
    "MPIJob": {
        "launcher": ("spec", "mpiReplicaSpecs", "Launcher", "template"),
        "worker": ("spec", "mpiReplicaSpecs", "Worker", "template"),
    },
}
# Operations a NIMService supports through its own spec (the operator renders the rest).
_NIMSERVICE_OPS = frozenset(
    {
        "read_only_model_store",
        "pin_image_digest",
        "read_only_shared_volumes",
        "shm_size_limit",
        "set_limits",
        "internal_service_only",
        "isolate_ingress",
        "restrict_egress",
        "enforce_baseline_namespaces",
        "upgrade_nvidia",
        "block_pod_metadata",
    }
)
# Operations that add objects or change the cluster: any workload kind.
_OBJECT_OPS = frozenset(
    {
        "isolate_ingress",
        "restrict_egress",
        "enforce_baseline_namespaces",
        "upgrade_nvidia",
        "block_pod_metadata",
    }
)


@dataclass
class PatchContext:
    """What an operation works on: all documents, the workload and its facts."""

    docs: list[dict[str, Any]]
    workload: Workload
    inventory: Inventory
    fb: FactBase
    context: dict[str, Any]
    params: Mapping[str, str | int | bool]
    changes: list[str] = field(default_factory=list)

    # -- locating ------------------------------------------------------------------------

    def doc(self) -> dict[str, Any] | None:
        return find_doc(self.docs, self.workload.ref)

    def template(self) -> dict[str, Any] | None:
        """The workload's pod template inside its document (mutable), if it has one."""
        doc = self.doc()
        if doc is None:
            return None
        ref = self.workload.ref
        paths = _TEMPLATE_PATHS.get(ref.kind)
        if paths is None and ref.kind in _COMPONENT_PATHS and ref.component:
            comp = _COMPONENT_PATHS[ref.kind].get(ref.component) or _COMPONENT_PATHS[ref.kind].get(
                ref.component.lower()
            )
            paths = (comp,) if comp else None
        if paths is None:
            return None
        node: Any = doc
        for part in paths[0]:
            if not isinstance(node, dict):
                return None
            node = node.setdefault(part, {})
        return node if isinstance(node, dict) else None

    def spec(self) -> dict[str, Any]:
        template = self.template()
        if template is None:
            raise KeyError("no pod template")
        spec: dict[str, Any] = template.setdefault("spec", {})
        return spec

    def containers(self) -> list[dict[str, Any]]:
        """Every container of the pod: init (and sidecar), regular, ephemeral."""
        spec = self.spec()
        out: list[dict[str, Any]] = []
        for group in ("initContainers", "containers", "ephemeralContainers"):
            out.extend(c for c in spec.get(group) or () if isinstance(c, dict))
        return out

    def note(self, text: str) -> None:
        self.changes.append(text)


def find_doc(docs: list[dict[str, Any]], ref: ObjectRef) -> dict[str, Any] | None:
    """The document of ``ref`` (kind, namespace, name; a missing namespace is ``default``)."""
    for doc, kind in _iter_items(docs):
        meta = doc.get("metadata") or {}
        if kind != ref.kind or meta.get("name") != ref.name:
            continue
        if ref.namespace is None or (meta.get("namespace") or "default") == ref.namespace:
            return doc
    return None


def _is_list(doc: Any) -> bool:
    """A ``kind: List`` or typed ``*List`` (``PodList``) with ``items``, as the loader reads."""
    kind = doc.get("kind") if isinstance(doc, dict) else None
    return isinstance(kind, str) and kind.endswith("List") and isinstance(doc.get("items"), list)


def _iter_items(docs: list[Any]) -> list[tuple[dict[str, Any], str | None]]:
    """Every object of ``docs`` with its kind, Lists (nested too) opened: an item of a
    typed list without ``kind`` is of the list's kind (a ``PodList``'s items are Pods)."""
    out: list[tuple[dict[str, Any], str | None]] = []
    pending: list[tuple[Any, str | None]] = [(doc, None) for doc in reversed(docs)]
    while pending:
        doc, inherited = pending.pop()
        if not isinstance(doc, dict):
            continue
        if _is_list(doc):
            list_kind = str(doc["kind"])
            item_kind = list_kind.removesuffix("List") or None
            pending.extend((item, item_kind) for item in reversed(doc["items"]))
            continue
        kind = doc.get("kind")
        out.append((doc, kind if isinstance(kind, str) else inherited))
    return out


def _iter_docs(docs: list[Any]) -> list[dict[str, Any]]:
    return [doc for doc, _ in _iter_items(docs)]


def _security_context(container: dict[str, Any]) -> dict[str, Any]:
    sc = container.get("securityContext")
    if not isinstance(sc, dict):
        sc = container["securityContext"] = {}
    return sc


def _norm_cap(name: Any) -> str:
    text = str(name).strip().upper()
    return text[4:] if text.startswith("CAP_") else text


def _norm_path(path: str) -> str:
    text = re.sub(r"/+", "/", path.strip())
    return text.rstrip("/") or "/"


# -- pod-template operations ----------------------------------------------------------------


def set_security_context(pc: PatchContext) -> None:
    name, value = str(pc.params["field"]), pc.params["value"]
    for c in pc.containers():
        sc = _security_context(c)
        if sc.get(name) != value:
            sc[name] = value
            pc.note(f"containers[{c.get('name')}].securityContext.{name}: {str(value).lower()}")


def drop_capability(pc: PatchContext) -> None:
    cap = str(pc.params["capability"])
    for c in pc.containers():
        caps = _security_context(c).setdefault("capabilities", {})
        add = [a for a in caps.get("add") or () if _norm_cap(a) not in (cap, "ALL")]
        if add != list(caps.get("add") or ()):
            if any(_norm_cap(a) == "ALL" for a in caps.get("add") or ()):
                from attackmap.model._workload import LINUX_CAPABILITIES

                add = sorted(set(LINUX_CAPABILITIES) - {cap})
            caps["add"] = add
            if not add:
                del caps["add"]
            pc.note(f"containers[{c.get('name')}]: removed {cap} from capabilities.add")
        drop = list(caps.get("drop") or ())
        if not any(_norm_cap(d) in (cap, "ALL") for d in drop):
            caps["drop"] = [*drop, cap]
            pc.note(f"containers[{c.get('name')}]: capabilities.drop += {cap}")


def drop_all_capabilities(pc: PatchContext) -> None:
    for c in pc.containers():
        caps = _security_context(c).setdefault("capabilities", {})
        if caps.get("add"):
            pc.note(f"containers[{c.get('name')}]: removed capabilities.add {caps['add']}")
            del caps["add"]
        if caps.get("drop") != ["ALL"]:
            caps["drop"] = ["ALL"]
            pc.note(f"containers[{c.get('name')}]: capabilities.drop = [ALL]")


def run_as_non_root(pc: PatchContext) -> None:
    uid = int(pc.params.get("uid", 1000))
    spec = pc.spec()
    psc = spec.setdefault("securityContext", {})
    if psc.get("runAsNonRoot") is not True:
        psc["runAsNonRoot"] = True
        pc.note("securityContext.runAsNonRoot: true")
    if psc.get("runAsUser") in (None, 0):
        psc["runAsUser"] = uid
        pc.note(f"securityContext.runAsUser: {uid}")
    for c in pc.containers():
        sc = c.get("securityContext")
        if isinstance(sc, dict):
            if sc.get("runAsUser") == 0:
                sc["runAsUser"] = uid
                pc.note(f"containers[{c.get('name')}].securityContext.runAsUser: {uid}")
            if sc.get("runAsNonRoot") is False:
                sc["runAsNonRoot"] = True
                pc.note(f"containers[{c.get('name')}].securityContext.runAsNonRoot: true")


def set_seccomp(pc: PatchContext) -> None:
    kind = str(pc.params["type"])
    psc = pc.spec().setdefault("securityContext", {})
    psc["seccompProfile"] = {"type": kind}
    pc.note(f"securityContext.seccompProfile.type: {kind}")
    for c in pc.containers():
        sc = c.get("securityContext")
        if isinstance(sc, dict) and "seccompProfile" in sc:
            sc["seccompProfile"] = {"type": kind}
            pc.note(f"containers[{c.get('name')}].securityContext.seccompProfile.type: {kind}")


def set_apparmor(pc: PatchContext) -> None:
    kind = str(pc.params["type"])
    template = pc.template()
    assert template is not None  # applicable() guarantees a template
    psc = pc.spec().setdefault("securityContext", {})
    psc["appArmorProfile"] = {"type": kind}
    pc.note(f"securityContext.appArmorProfile.type: {kind}")
    for c in pc.containers():
        sc = c.get("securityContext")
        if isinstance(sc, dict) and "appArmorProfile" in sc:
            sc["appArmorProfile"] = {"type": kind}
    annotations = (template.get("metadata") or {}).get("annotations") or {}
    for key in [
        k for k in annotations if k.startswith("container.apparmor.security.beta.kubernetes.io/")
    ]:
        del annotations[key]
        pc.note(f"removed annotation {key}")


def _hostpath_volumes(pc: PatchContext, path: str) -> set[str]:
    return {
        str(v.get("name"))
        for v in pc.spec().get("volumes") or ()
        if isinstance(v, dict)
        and isinstance(v.get("hostPath"), dict)
        and _norm_path(str(v["hostPath"].get("path", ""))) == path
    }


def _remove_volumes(pc: PatchContext, names: set[str]) -> None:
    """Remove the volumes ``names`` and every mount of them, in every container kind."""
    spec = pc.spec()
    spec["volumes"] = [
        v for v in spec.get("volumes") or () if not (isinstance(v, dict) and v.get("name") in names)
    ]
    for c in pc.containers():
        for key in ("volumeMounts", "volumeDevices"):
            mounts = c.get(key) or []
            kept = [m for m in mounts if not (isinstance(m, dict) and m.get("name") in names)]
            if len(kept) != len(mounts):
                c[key] = kept


def remove_hostpath(pc: PatchContext) -> None:
    path = _norm_path(str(pc.params["path"]))
    names = _hostpath_volumes(pc, path)
    _remove_volumes(pc, names)
    pc.note(f"removed hostPath volume(s) {', '.join(sorted(str(n) for n in names))} ({path})")


def hostpath_read_only(pc: PatchContext) -> None:
    path = _norm_path(str(pc.params["path"]))
    names = _hostpath_volumes(pc, path)
    for c in pc.containers():
        for m in c.get("volumeMounts") or ():
            if isinstance(m, dict) and m.get("name") in names and m.get("readOnly") is not True:
                m["readOnly"] = True
                pc.note(
                    f"containers[{c.get('name')}].volumeMounts[{m.get('name')}].readOnly: true ({path})"
                )


#: Where a NIM downloads its model when NIM_CACHE_PATH does not say (NIM documentation).
NIM_CACHE_DEFAULT = "/opt/nim/.cache"


def _under(path: str, mount: str) -> bool:
    a, b = _norm_path(path), _norm_path(mount)
    return a == b or a.startswith(b.rstrip("/") + "/")


def _nim_cache(c: dict[str, Any]) -> str | None:
    """The directory a NIM container writes its model cache to: NIM_CACHE_PATH when set
    to a literal, else the NIM default for an NGC NIM image (``nvcr.io/nim/``); ``None``
    for a container that is no NIM."""
    for e in c.get("env") or ():
        if isinstance(e, dict) and e.get("name") == "NIM_CACHE_PATH":
            value = e.get("value")
            return str(value) if value else NIM_CACHE_DEFAULT
    return NIM_CACHE_DEFAULT if "nvcr.io/nim/" in str(c.get("image", "")).lower() else None


def read_only_root_filesystem(pc: PatchContext) -> None:
    """readOnlyRootFilesystem: true in every container, each given a writable emptyDir
    where it must write and no volume is mounted: /tmp, and a NIM's model cache
    (NIM_CACHE_PATH, default /opt/nim/.cache). Each container gets volumes of its own, so
    the patch opens no directory one container writes and another reads."""
    spec = pc.spec()
    taken = {str(v.get("name")) for v in spec.get("volumes") or () if isinstance(v, dict)}
    for c in pc.containers():
        name = str(c.get("name"))
        sc = _security_context(c)
        if sc.get("readOnlyRootFilesystem") is not True:
            sc["readOnlyRootFilesystem"] = True
            pc.note(f"containers[{name}].securityContext.readOnlyRootFilesystem: true")
        needs = [("tmp", "/tmp")]
        cache = _nim_cache(c)
        if cache is not None:
            needs.append(("nim-cache", cache))
        for suffix, path in needs:
            mounts = [
                str(m.get("mountPath", ""))
                for m in c.get("volumeMounts") or ()
                if isinstance(m, dict)
            ]
            if any(_under(path, m) for m in mounts):
                continue
            stem = f"{name[: 62 - len(suffix)]}-{suffix}"
            volume, n = stem, 1
            while volume in taken:
                n += 1
                volume = f"{stem[: 62 - len(str(n))]}-{n}"
            taken.add(volume)
            spec.setdefault("volumes", []).append({"name": volume, "emptyDir": {}})
            c.setdefault("volumeMounts", []).append({"name": volume, "mountPath": path})
            pc.note(f"containers[{name}]: emptyDir {volume} at {path} (written at run time)")


def set_pod_field(pc: PatchContext) -> None:
    name, value = str(pc.params["field"]), pc.params["value"]
    pc.spec()[name] = value
    pc.note(f"spec.{name}: {str(value).lower()}")


def no_host_network(pc: PatchContext) -> None:
    spec = pc.spec()
    spec["hostNetwork"] = False
    pc.note("spec.hostNetwork: false")
    for c in pc.containers():
        for p in c.get("ports") or ():
            if isinstance(p, dict) and p.pop("hostPort", None) is not None:
                p.pop("hostIP", None)
                pc.note(f"containers[{c.get('name')}]: removed hostPort")


def no_privilege_escalation(pc: PatchContext) -> None:
    """allowPrivilegeEscalation: false in every container that may have it: the API server
    refuses it with ``privileged: true`` or ``CAP_SYS_ADMIN`` in ``capabilities.add``, so
    those (as the manifests declare them; fact ``allow_privilege_escalation:forced``) are
    left alone."""
    forced = {
        c.name
        for c in pc.workload.pod.containers
        if c.privileged or "CAP_SYS_ADMIN" in c.capabilities.add_raw
    }
    for c in pc.containers():
        if c.get("name") in forced:
            pc.note(f"containers[{c.get('name')}]: left as is (privileged or CAP_SYS_ADMIN)")
            continue
        sc = _security_context(c)
        if sc.get("allowPrivilegeEscalation") is not False:
            sc["allowPrivilegeEscalation"] = False
            pc.note(f"containers[{c.get('name')}].securityContext.allowPrivilegeEscalation: false")


def disable_token_automount(pc: PatchContext) -> None:
    """automountServiceAccountToken: false, and no projected ServiceAccount token either
    (a projected volume left without sources is removed with its mounts)."""
    spec = pc.spec()
    if spec.get("automountServiceAccountToken") is not False:
        spec["automountServiceAccountToken"] = False
        pc.note("spec.automountServiceAccountToken: false")
    emptied: set[str] = set()
    for v in spec.get("volumes") or ():
        projected = v.get("projected") if isinstance(v, dict) else None
        if not isinstance(projected, dict):
            continue
        sources = projected.get("sources") or []
        kept = [s for s in sources if not (isinstance(s, dict) and "serviceAccountToken" in s)]
        if len(kept) == len(sources):
            continue
        pc.note(f"volumes[{v.get('name')}]: removed the projected serviceAccountToken")
        if kept:
            projected["sources"] = kept
        else:
            emptied.add(str(v.get("name")))
    if emptied:
        _remove_volumes(pc, emptied)
        pc.note(f"removed volume(s) {', '.join(sorted(emptied))} and their mounts")


def dedicated_service_account(pc: PatchContext) -> None:
    ref = pc.workload.ref
    name = dedicated_service_account_name(pc.inventory, ref)
    pc.docs.append(
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {
                "name": name,
                "namespace": ref.namespace or "default",
                "labels": {"attackmap.io/control": "dedicated-service-account"},
            },
        }
    )
    spec = pc.spec()
    spec["serviceAccountName"] = name
    spec.pop("serviceAccount", None)
    pc.note(
        f"spec.serviceAccountName: {name} (new ServiceAccount; only group bindings apply to it)"
    )


def remove_credential_env(pc: PatchContext) -> None:
    for c in pc.containers():
        env = c.get("env") or []
        kept = [e for e in env if not (isinstance(e, dict) and is_credential_env(e))]
        if len(kept) != len(env):
            removed = sorted(
                str(e.get("name")) for e in env if isinstance(e, dict) and e not in kept
            )
            c["env"] = kept
            pc.note(f"containers[{c.get('name')}]: removed env {', '.join(removed)}")
        env_from = c.get("envFrom") or []
        kept_from = [e for e in env_from if not (isinstance(e, dict) and "secretRef" in e)]
        if len(kept_from) != len(env_from):
            c["envFrom"] = kept_from
            pc.note(f"containers[{c.get('name')}]: removed envFrom secretRef")


def credential_secret_name(workload: Workload) -> str:
    """The Secret :func:`credential_env_from_secret` reads moved credentials from."""
    return f"{workload.ref.name}-credentials"


def credential_env_from_secret(pc: PatchContext) -> None:
    """Each credential-like variable with a literal ``value`` reads it from the Secret
    :func:`credential_secret_name` instead (``valueFrom.secretKeyRef``, key = the
    variable's name): the variable stays, its value leaves the manifest. The Secret is
    not written (it would need the value): the user creates it (docs/harden.md)."""
    secret = credential_secret_name(pc.workload)
    for c in pc.containers():
        moved: list[str] = []
        for e in c.get("env") or ():
            if not (isinstance(e, dict) and isinstance(e.get("value"), str)):
                continue
            if not is_credential_env(e):
                continue
            keys = list(e)
            at = keys.index("value")
            del e["value"]
            ref = {"secretKeyRef": {"name": secret, "key": str(e.get("name"))}}
            if hasattr(e, "insert"):  # a round-trip mapping: keep the key order
                e.insert(at, "valueFrom", ref)
            else:
                e["valueFrom"] = ref
            moved.append(str(e.get("name")))
        if moved:
            pc.note(
                f"containers[{c.get('name')}]: env {', '.join(moved)} read from Secret "
                f"{secret} (key = variable name)"
            )


_MODEL_STORE = ("/model-store", "/opt/nim/.cache", "/mnt/models", "/models")


def read_only_model_store(pc: PatchContext) -> None:
    if pc.workload.ref.kind == "NIMService":
        doc = pc.doc()
        assert doc is not None
        doc.setdefault("spec", {}).setdefault("storage", {})["readOnly"] = True
        pc.note("spec.storage.readOnly: true")
        return
    for c in pc.containers():
        has_cache_env = any(
            isinstance(e, dict) and e.get("name") == "NIM_CACHE_PATH" for e in c.get("env") or ()
        )
        for m in c.get("volumeMounts") or ():
            if not isinstance(m, dict):
                continue
            path = _norm_path(str(m.get("mountPath", "")))
            is_store = (
                path in _MODEL_STORE
                or m.get("name") in ("model-store", "nim-cache")
                or (has_cache_env and path.startswith("/model"))
            )
            if is_store and m.get("readOnly") is not True:
                m["readOnly"] = True
                pc.note(f"containers[{c.get('name')}].volumeMounts[{m.get('name')}].readOnly: true")


#: What :func:`pin_image_digest` writes after the tag: the registry's digest of that tag
#: replaces it (attackmap cannot resolve it offline; the API server refuses the placeholder).
DIGEST_PLACEHOLDER = "sha256:<digest>"


def pin_image_digest(pc: PatchContext) -> None:
    if pc.workload.ref.kind == "NIMService":
        doc = pc.doc()
        assert doc is not None
        image = doc.setdefault("spec", {}).setdefault("image", {})
        if isinstance(image, dict) and "@" not in str(image.get("tag", "")):
            image["tag"] = f"{image.get('tag', 'latest')}@{DIGEST_PLACEHOLDER}"
            pc.note(f"spec.image.tag: {image['tag']} (put the registry's digest of the tag)")
        return
    for c in pc.containers():
        image = c.get("image")
        if isinstance(image, str) and image and "@" not in image:
            c["image"] = f"{image}@{DIGEST_PLACEHOLDER}"
            pc.note(
                f"containers[{c.get('name')}].image: {c['image']} (put the registry's digest "
                "of the tag)"
            )


def read_only_shared_volumes(pc: PatchContext) -> None:
    """Mount read-only every volume the workload writes that another workload mounts too
    (the mounts of the fact ``shared_store:write``)."""
    if pc.workload.ref.kind == "NIMService":  # its one shared volume is its model store
        doc = pc.doc()
        assert doc is not None
        doc.setdefault("spec", {}).setdefault("storage", {})["readOnly"] = True
        pc.note("spec.storage.readOnly: true")
        return
    shared = {(m.container, m.mount_name) for m in pc.fb.stores.shared_writes(str(pc.workload.ref))}
    for c in pc.containers():
        for m in c.get("volumeMounts") or ():
            if not isinstance(m, dict) or (c.get("name"), m.get("name")) not in shared:
                continue
            if m.get("readOnly") is not True:
                m["readOnly"] = True
                pc.note(f"containers[{c.get('name')}].volumeMounts[{m.get('name')}].readOnly: true")


def set_limits(pc: PatchContext) -> None:
    if pc.workload.ref.kind == "NIMService":
        doc = pc.doc()
        assert doc is not None
        res = doc.setdefault("spec", {}).setdefault("resources", {})
        limits = res.setdefault("limits", {})
        requests = res.get("requests") or {}
        limits.setdefault("memory", requests.get("memory", "32Gi"))
        limits.setdefault("cpu", requests.get("cpu", "8"))
        pc.note(f"spec.resources.limits: memory {limits['memory']}, cpu {limits['cpu']}")
        return
    for c in pc.containers():
        res = c.get("resources")
        if not isinstance(res, dict):
            res = c["resources"] = {}
        limits = res.setdefault("limits", {})
        requests = res.get("requests") or {}
        for key, default in (("memory", "32Gi"), ("cpu", "8")):
            if key not in limits:
                limits[key] = requests.get(key, default)
                pc.note(f"containers[{c.get('name')}].resources.limits.{key}: {limits[key]}")


def shm_size_limit(pc: PatchContext) -> None:
    size = str(pc.params.get("size", "16Gi"))
    if pc.workload.ref.kind == "NIMService":
        doc = pc.doc()
        assert doc is not None
        doc.setdefault("spec", {}).setdefault("storage", {})["sharedMemorySizeLimit"] = size
        pc.note(f"spec.storage.sharedMemorySizeLimit: {size}")
        return
    for v in pc.spec().get("volumes") or ():
        ed = v.get("emptyDir") if isinstance(v, dict) else None
        if (
            isinstance(ed, dict)
            and str(ed.get("medium", "")).lower() == "memory"
            and not ed.get("sizeLimit")
        ):
            ed["sizeLimit"] = size
            pc.note(f"volumes[{v.get('name')}].emptyDir.sizeLimit: {size}")


# -- object and cluster operations -------------------------------------------------------------


def _pod_selector(pc: PatchContext) -> dict[str, str]:
    labels = dict(pc.workload.labels)
    if labels:
        return labels
    template = pc.template()
    label = {"attackmap.io/workload": pc.workload.ref.name}
    if template is not None:
        template.setdefault("metadata", {}).setdefault("labels", {}).update(label)
        pc.note(f"template label attackmap.io/workload: {pc.workload.ref.name}")
    return label


def _free_name(pc: PatchContext, kind: str, wanted: str) -> str:
    """``wanted``, or a variant no document of ``kind`` in the namespace uses yet (a
    NIMCache and a NIMService usually share a name)."""
    namespace = pc.workload.ref.namespace or "default"
    taken = {
        (d.get("metadata") or {}).get("name")
        for d, d_kind in _iter_items(pc.docs)
        if d_kind == kind and ((d.get("metadata") or {}).get("namespace") or "default") == namespace
    }
    if wanted not in taken:
        return wanted
    stem = f"{wanted}-{pc.workload.ref.kind.lower()}"
    name, n = stem, 2
    while name in taken:
        name, n = f"{stem}-{n}", n + 1
    return name


def isolate_ingress(pc: PatchContext) -> None:
    ref = pc.workload.ref
    name = _free_name(pc, "NetworkPolicy", f"{ref.name}-ingress")
    pc.docs.append(
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {
                "name": name,
                "namespace": ref.namespace or "default",
                "labels": {"attackmap.io/control": "isolate-ingress"},
            },
            "spec": {
                "podSelector": {"matchLabels": _pod_selector(pc)},
                "policyTypes": ["Ingress"],
                "ingress": [
                    {
                        "from": [
                            {
                                "namespaceSelector": {
                                    "matchLabels": {"attackmap.io/inference-gateway": "true"}
                                }
                            }
                        ]
                    }
                ],
            },
        }
    )
    pc.note(
        f"new NetworkPolicy {ref.namespace}/{name}: ingress only from namespaces labelled attackmap.io/inference-gateway=true"
    )


def restrict_egress(pc: PatchContext) -> None:
    ref = pc.workload.ref
    name = _free_name(pc, "NetworkPolicy", f"{ref.name}-egress")
    pc.docs.append(
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {
                "name": name,
                "namespace": ref.namespace or "default",
                "labels": {"attackmap.io/control": "restrict-egress"},
            },
            "spec": {
                "podSelector": {"matchLabels": _pod_selector(pc)},
                "policyTypes": ["Egress"],
                "egress": [
                    {
                        "to": [
                            {
                                "namespaceSelector": {
                                    "matchLabels": {"kubernetes.io/metadata.name": "kube-system"}
                                },
                                "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
                            }
                        ],
                        "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
                    }
                ],
            },
        }
    )
    pc.note(f"new NetworkPolicy {ref.namespace}/{name}: egress to cluster DNS only")


def internal_service_only(pc: PatchContext) -> None:
    if pc.workload.ref.kind == "NIMService":
        doc = pc.doc()
        assert doc is not None
        expose = doc.setdefault("spec", {}).setdefault("expose", {})
        expose.setdefault("service", {})["type"] = "ClusterIP"
        for key in ("ingress", "router"):
            if expose.pop(key, None) is not None:
                pc.note(f"removed spec.expose.{key}")
        pc.note("spec.expose.service.type: ClusterIP")
    for route in pc.workload.exposure.routes:
        if route.ref is None or route.level not in ("external", "node"):
            continue
        doc = find_doc(pc.docs, route.ref)
        if doc is None:
            continue
        if route.ref.kind == "Service":
            spec = doc.setdefault("spec", {})
            spec["type"] = "ClusterIP"
            for key in (
                "loadBalancerIP",
                "loadBalancerSourceRanges",
                "externalTrafficPolicy",
                "externalIPs",
            ):
                spec.pop(key, None)
            for port in spec.get("ports") or ():
                if isinstance(port, dict):
                    port.pop("nodePort", None)
            pc.note(f"{route.ref}: type ClusterIP")
        else:
            _remove_doc(pc.docs, doc)
            pc.note(f"removed {route.ref}")


def _remove_doc(docs: list[Any], target: dict[str, Any]) -> None:
    for i, doc in enumerate(docs):
        if doc is target:
            del docs[i]
            return
        if _is_list(doc):
            _remove_doc(doc["items"], target)


def enforce_baseline_namespaces(pc: PatchContext) -> None:
    wf = next(w for w in pc.fb.workloads if w.key == str(pc.workload.ref))
    scope: set[str] = set()
    for right in DEPLOY_RIGHTS:
        scope |= set(wf.rbac_scope.get(right, frozenset()))
    namespaces = sorted(scope - {ALL_NAMESPACES})
    if ALL_NAMESPACES in scope:
        namespaces = sorted(
            {ns.ref.name for ns in pc.inventory.namespaces} | {w.namespace for w in pc.fb.workloads}
        )
        _admission_default_baseline(pc)
    for ns in namespaces:
        doc = find_doc(pc.docs, ObjectRef(kind="Namespace", namespace=None, name=ns))
        if doc is None:
            doc = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}
            pc.docs.append(doc)
        labels = doc.setdefault("metadata", {}).setdefault("labels", {})
        if labels.get("pod-security.kubernetes.io/enforce") in ("baseline", "restricted"):
            continue  # already refuses privileged pods: never lower a level or its version
        labels["pod-security.kubernetes.io/enforce"] = "baseline"
        labels["pod-security.kubernetes.io/enforce-version"] = "latest"
        pc.note(f"Namespace {ns}: pod-security.kubernetes.io/enforce=baseline")
    username = (
        f"system:serviceaccount:{pc.workload.namespace}:{pc.workload.pod.service_account_name}"
    )
    for doc in _iter_docs(pc.docs):
        if doc.get("kind") in ("PodSecurityConfiguration", "AdmissionConfiguration"):
            for conf in _pod_security_configs(doc):
                ex = conf.get("exemptions") or {}
                for key in ("usernames", "namespaces", "runtimeClasses"):
                    values = ex.get(key) or []
                    if key == "usernames" and username in values:
                        ex[key] = [v for v in values if v != username]
                        pc.note(f"PodSecurityConfiguration: removed exemption for {username}")
                    if key == "runtimeClasses" and values:
                        ex[key] = []
                        pc.note("PodSecurityConfiguration: removed runtimeClass exemptions")
                    if key == "namespaces" and set(values) & set(namespaces):
                        ex[key] = [v for v in values if v not in namespaces]
                        pc.note("PodSecurityConfiguration: removed namespace exemptions")


def _pod_security_configs(doc: dict[str, Any]) -> list[dict[str, Any]]:
    if doc.get("kind") == "PodSecurityConfiguration":
        return [doc]
    out = []
    for plugin in doc.get("plugins") or ():
        if (
            isinstance(plugin, dict)
            and plugin.get("name") == "PodSecurity"
            and isinstance(plugin.get("configuration"), dict)
        ):
            out.append(plugin["configuration"])
    return out


def _admission_default_baseline(pc: PatchContext) -> None:
    configs = [
        c
        for d in _iter_docs(pc.docs)
        if d.get("kind") in ("PodSecurityConfiguration", "AdmissionConfiguration")
        for c in _pod_security_configs(d)
    ]
    if not configs:
        conf: dict[str, Any] = {
            "apiVersion": "pod-security.admission.config.k8s.io/v1",
            "kind": "PodSecurityConfiguration",
            "defaults": {},
            "exemptions": {},
        }
        pc.docs.append(conf)
        configs = [conf]
    for conf in configs:
        defaults = conf.setdefault("defaults", {})
        if defaults.get("enforce") in (None, "privileged"):
            defaults["enforce"] = "baseline"
            defaults["enforce-version"] = "latest"
            pc.note("PodSecurityConfiguration: defaults.enforce=baseline")


_FIXED_NVIDIA = {"containerToolkit": "1.17.8", "gpuOperator": "25.3.2", "devicePlugin": "0.17.3"}


def upgrade_nvidia(pc: PatchContext) -> None:
    spec = pc.context.setdefault("spec", {})
    nvidia = spec.setdefault("nvidia", {})
    for key, fixed in _FIXED_NVIDIA.items():
        if nvidia.get(key) != fixed:
            nvidia[key] = fixed
            pc.note(f"ClusterContext spec.nvidia.{key}: {fixed}")


def block_pod_metadata(pc: PatchContext) -> None:
    cloud = pc.context.setdefault("spec", {}).setdefault("cloud", {})
    for key, value in (("tokenRequired", True), ("hopLimit", 1)):
        if cloud.get(key) != value:
            cloud[key] = value
            pc.note(f"ClusterContext spec.cloud.{key}: {str(value).lower()}")


PatchOp = Callable[[PatchContext], None]

PATCH_OPS: Mapping[str, PatchOp] = {
    "set_security_context": set_security_context,
    "drop_capability": drop_capability,
    "drop_all_capabilities": drop_all_capabilities,
    "run_as_non_root": run_as_non_root,
    "set_seccomp": set_seccomp,
    "set_apparmor": set_apparmor,
    "remove_hostpath": remove_hostpath,
    "hostpath_read_only": hostpath_read_only,
    "set_pod_field": set_pod_field,
    "no_host_network": no_host_network,
    "no_privilege_escalation": no_privilege_escalation,
    "disable_token_automount": disable_token_automount,
    "dedicated_service_account": dedicated_service_account,
    "remove_credential_env": remove_credential_env,
    "credential_env_from_secret": credential_env_from_secret,
    "read_only_model_store": read_only_model_store,
    "pin_image_digest": pin_image_digest,
    "read_only_shared_volumes": read_only_shared_volumes,
    "set_limits": set_limits,
    "shm_size_limit": shm_size_limit,
    "isolate_ingress": isolate_ingress,
    "restrict_egress": restrict_egress,
    "internal_service_only": internal_service_only,
    "enforce_baseline_namespaces": enforce_baseline_namespaces,
    "upgrade_nvidia": upgrade_nvidia,
    "block_pod_metadata": block_pod_metadata,
    "read_only_root_filesystem": read_only_root_filesystem,
}


def applicable(ci: ControlPatch, ref: ObjectRef) -> bool:
    """Whether ``ci``'s patch can be applied to the manifests of the workload ``ref``
    names (what a workload of its kind is written as decides)."""
    op = str(ci.patch.get("op"))
    kind = ref.kind
    if kind in _TEMPLATE_PATHS or (kind in _COMPONENT_PATHS and ref.component):
        return True
    if kind == "NIMService":
        return op in _NIMSERVICE_OPS
    return op in _OBJECT_OPS


def apply_controls(
    docs: list[Any],
    inventory: Inventory,
    fb: FactBase,
    controls: Sequence[tuple[ControlPatch, str]],
) -> tuple[list[Any], dict[str, Any] | None]:
    """Apply ``controls`` (instance, target) to ``docs`` (already deep-copied).

    Returns the patched documents and the patched ClusterContext (as a mapping, ``None``
    when there is no context). Raises :class:`~attackmap.errors.AttackmapError` when a
    control does not apply to its target.
    """
    changes: list[str] = []
    context = apply_controls_logged(docs, inventory, fb, controls, changes)
    if any(doc.get("kind") == "ClusterContext" for doc in _iter_docs(docs)):
        return docs, None  # the patched document among the manifests is used
    if context is None or (inventory.context is None and not context.get("spec")):
        return docs, None  # no context, and no control wrote one
    return docs, context


def apply_controls_logged(
    docs: list[Any],
    inventory: Inventory,
    fb: FactBase,
    controls: Sequence[tuple[ControlPatch, str]],
    changes: list[str],
) -> dict[str, Any] | None:
    """As :func:`apply_controls`, appending ``control: change`` lines to ``changes``;
    returns the patched ClusterContext mapping when one was changed."""
    from attackmap.errors import HardenError

    context_doc = next((d for d in _iter_docs(docs) if d.get("kind") == "ClusterContext"), None)
    context: dict[str, Any] = (
        context_doc
        if context_doc is not None
        else copy.deepcopy(inventory.context.model_dump(by_alias=True, exclude_none=True))
        if inventory.context is not None
        else {
            "apiVersion": "attackmap/v1",
            "kind": "ClusterContext",
            "metadata": {"name": "cluster"},
            "spec": {},
        }
    )
    for ci, target in controls:
        op = PATCH_OPS[str(ci.patch["op"])]
        if target == "cluster":
            workload = inventory.workloads[0] if inventory.workloads else None
            if workload is None:
                raise HardenError(f"{ci.id}@cluster: no workload in the inventory")
        else:
            found = inventory.workload(target)
            if found is None:
                raise HardenError(
                    f"{ci.id}@{target}: no such workload",
                    hint="use ids from the report's broken_by",
                )
            workload = found
            if workload.ref.origin is not None:  # find_doc would take the first definition
                raise HardenError(
                    f"{ci.id}@{target}: the workload is defined differently in several files "
                    "(docs/model.md, 'Objects defined twice'): a patch needs one definition",
                    hint="analyse one variant at a time to apply controls",
                )
            if not applicable(ci, workload.ref):
                raise HardenError(f"{ci.id} cannot be applied to {workload.ref.kind} {target}")
        pc = PatchContext(
            docs=docs,
            workload=workload,
            inventory=inventory,
            fb=fb,
            context=context,
            params=ci.patch,
        )
        try:
            op(pc)
        except KeyError as e:
            raise HardenError(f"{ci.id}@{target}: the manifest has no pod template to patch") from e
        changes.extend(f"{ci.id}@{target}: {c}" for c in pc.changes)
    return context
