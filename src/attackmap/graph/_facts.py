"""Facts: the one place where Kubernetes fields become the vocabulary the rules speak.

Extraction (:func:`extract`) turns each linked :class:`~attackmap.model.Workload` into
*base facts* — ``privileged``, ``cap_add:SYS_ADMIN``, ``hostpath:/var/log:rw``, ``sa_token``,
``route:external``, ``rbac:exec`` … — each with the evidence (file, line, field) that
produced it. Derivation (:func:`derive`) adds *derived facts* that need reasoning across
fields: effective and usable capabilities, which escape syscalls seccomp lets through,
what AppArmor denies, what a hostPath exposes, whether the pod is reachable.

Controls edit base facts; derived facts are always recomputed from them, so a control's
effect is exactly what its change to the manifest does (proven by re-analysis in tests).
The vocabulary is documented in :data:`FACT_FAMILIES` (and ``docs/facts.md``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from attackmap.model import Inventory, Workload
from attackmap.model._context import ClusterContext
from attackmap.model._rbac import Binding, PolicyRule
from attackmap.model._refs import ObjectRef
from attackmap.model._workload import (
    LINUX_CAPABILITIES,
    Container,
    ExposureRoute,
    is_credential_name,
)

# The runtime's default capability set (containerd/CRI-O/moby).
DEFAULT_CAPABILITIES = frozenset(
    {
        "AUDIT_WRITE",
        "CHOWN",
        "DAC_OVERRIDE",
        "FOWNER",
        "FSETID",
        "KILL",
        "MKNOD",
        "NET_BIND_SERVICE",
        "NET_RAW",
        "SETFCAP",
        "SETGID",
        "SETPCAP",
        "SETUID",
        "SYS_CHROOT",
    }
)

# fact family (``*`` = an argument) -> what it means. Kept in sync with the code below by
# tests; rendered into docs/facts.md.
FACT_FAMILIES: dict[str, str] = {
    # container, base
    "privileged": "the container is privileged (securityContext.privileged)",
    "cap_add:*": "capability added (capabilities.add, normalised: no CAP_, upper case, ALL expanded)",
    "cap_drop:*": "capability dropped (capabilities.drop; cap_drop:ALL when ALL is dropped)",
    "uid_root": "the process may run as uid 0 (runAsUser 0, or unset without runAsNonRoot: true)",
    "allow_privilege_escalation": "allowPrivilegeEscalation is not false (setuid binaries regain capabilities)",
    "allow_privilege_escalation:forced": "as allow_privilege_escalation, in a container that is privileged or adds the literal CAP_SYS_ADMIN (the API server refuses false there)",
    "seccomp:*": "seccompProfile.type (RuntimeDefault, Localhost, Unconfined, unset)",
    "apparmor:*": "AppArmor profile type (field or deprecated annotation; unset when neither)",
    "hostpath:*": "hostPath mounted into the container: hostpath:<path>:ro|rw",
    "gpu": "the container can use GPUs (resource, runtimeClass, NVIDIA_VISIBLE_DEVICES, CDI, /dev/nvidia*, DRA)",
    "env:credential": "a credential-like environment variable (NGC_API_KEY, HF_TOKEN, *_TOKEN, *_KEY...) or envFrom a Secret",
    "secret_mount": "a Secret is mounted as files",
    "model_store:rw": "the model store (/model-store, NIM_CACHE_PATH) is mounted writable",
    "model_store:shared": "the writable model store is shared (RWX PVC, NFS or hostPath)",
    "remote_service": "the container serves SSH (port 22/2222 or a port named ssh; or a Service sends to port 22/2222 of the pod, declared or not)",
    "remote_service:routed": "a LoadBalancer/NodePort Service, Ingress or Gateway route targets the SSH port",
    "limits:no_memory": "no memory limit",
    "limits:no_cpu": "no CPU limit",
    "long_running": "a regular or sidecar container (serves while the pod runs)",
    # pod, base
    "host_pid": "hostPID: true",
    "host_network": "hostNetwork: true",
    "host_ipc": "hostIPC: true",
    "sa_token": "the ServiceAccount token is mounted (automount not disabled, or a projected serviceAccountToken volume)",
    "sa:default_bound": "the pod runs as the namespace's default ServiceAccount, which has RBAC rights",
    "route:external": "a LoadBalancer/NodePort Service (or externalIPs) exposes the pod: clients connect from outside",
    "route:gateway": "an Ingress, HTTPRoute, GRPCRoute or Istio VirtualService (bound to a gateway) exposes the pod: the controller's pods forward outside traffic",
    "route:host": "hostNetwork or a hostPort exposes the pod on the node's address",
    "netpol:ingress_isolated": "a NetworkPolicy (Kubernetes, Cilium or Calico) selects the pod for ingress",
    "netpol:ingress_open": "no NetworkPolicy (Kubernetes, Cilium or Calico) selects the pod for ingress (everything may connect)",
    "netpol:allows_any_pod": "a NetworkPolicy selecting the pod allows ingress from every pod",
    "netpol:allows_external": "a NetworkPolicy selecting the pod allows ingress from outside the cluster",
    "netpol:allows_peers": "a NetworkPolicy selecting the pod allows ingress from some peer (an ingress controller may be one)",
    "netpol:egress_isolated": "a NetworkPolicy (Kubernetes, Cilium or Calico) selects the pod for egress",
    "netpol:egress_open": "no NetworkPolicy (Kubernetes, Cilium or Calico) selects the pod for egress",
    "netpol:egress_allows_any": "a NetworkPolicy selecting the pod allows egress to anywhere",
    "shm:unbounded": "a memory-backed emptyDir (/dev/shm) without sizeLimit",
    "rbac_sa:*": "a right of the pod's ServiceAccount from bindings that name it (see RBAC_RIGHTS)",
    "rbac_group:*": "a right every ServiceAccount of the namespace holds (bindings to system:serviceaccounts[:<ns>] or system:authenticated)",
    "deploy_admits:privileged": "a namespace the ServiceAccount can create pods in admits privileged pods (labels, exemptions, or a namespace outside the manifests)",
    # cluster context, base
    "ctx:nvidia_toolkit_vulnerable": "the ClusterContext's NVIDIA Container Toolkit / GPU Operator / device plugin is vulnerable",
    "ctx:kernel_exploitable": "the ClusterContext declares a vulnerable kernel, or --assume-kernel-exploit",
    "ctx:cgroup_v1_release_agent": "the nodes run cgroup v1 on a kernel before 5.17 (CVE-2022-0492: release_agent from a user namespace)",
    # derived
    "cap:*": "effective capability (privileged: all; else default - drop + add)",
    "cap_usable:*": "effective capability the attacker can exercise (root, or privilege escalation allowed)",
    "rbac:*": "a right of the pod's ServiceAccount, from rbac_sa:* or rbac_group:* (see RBAC_RIGHTS)",
    "rbac:bind_roles": "the ServiceAccount can bind cluster-admin to itself (ClusterRoleBinding, or RoleBindings in every namespace)",
    "rbac:bind_roles_namespaced": "the ServiceAccount can bind roles to itself in some namespaces only",
    "syscall:*": "escape-relevant syscall usable (seccomp allows it and the capability is held)",
    "apparmor:allows_mount": "AppArmor does not deny mount",
    "apparmor:allows_ptrace": "AppArmor does not confine ptrace",
    "host_mount:*": "what the hostPaths expose: sensitive_read, write, kubelet_pods, var_log, log_write, proc_sys_write, runtime_socket",
    "exposed:external": "reachable from outside the cluster (LoadBalancer/NodePort allowed from outside, a gateway route allowed from some peer, or the host's network)",
    "reachable:cluster": "reachable from other pods",
    "egress:open": "egress not restricted",
}

_FAMILY_PATTERNS = tuple((k[:-1], True) if k.endswith("*") else (k, False) for k in FACT_FAMILIES)


def is_known_fact(name: str) -> bool:
    """Whether ``name`` belongs to the fact vocabulary (a glob ``cap_add:*`` counts too)."""
    for prefix, wildcard in _FAMILY_PATTERNS:
        if (wildcard and name.startswith(prefix)) or name == prefix:
            return True
    return False


# RBAC rights: right -> alternatives, each a tuple of (verb, resource, api_group).
_WORKLOAD_KINDS = (
    ("pods", ""),
    ("deployments", "apps"),
    ("statefulsets", "apps"),
    ("daemonsets", "apps"),
    ("replicasets", "apps"),
    ("replicationcontrollers", ""),
    ("jobs", "batch"),
    ("cronjobs", "batch"),
)
RBAC_RIGHTS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "exec": (("create", "pods/exec", ""), ("create", "pods/attach", "")),
    "patch_workloads": tuple((v, r, g) for v in ("patch", "update") for r, g in _WORKLOAD_KINDS),
    "create_pods": (("create", "pods", ""),),
    "create_workloads": tuple(
        ("create", r, g) for r, g in _WORKLOAD_KINDS if r not in ("pods", "jobs", "cronjobs")
    ),
    "create_jobs": (("create", "jobs", "batch"), ("create", "cronjobs", "batch")),
    "read_secrets": tuple((v, "secrets", "") for v in ("get", "list", "watch")),
    "list_resources": tuple(
        (v, r, g)
        for v in ("list", "watch")
        for r, g in (
            ("pods", ""),
            ("services", ""),
            ("namespaces", ""),
            ("nodes", ""),
            ("deployments", "apps"),
        )
    ),
    "pods_log": (("get", "pods/log", ""),),
    "create_bindings": (
        ("create", "rolebindings", "rbac.authorization.k8s.io"),
        ("create", "clusterrolebindings", "rbac.authorization.k8s.io"),
    ),
    "bind_or_escalate": tuple(
        (v, r, "rbac.authorization.k8s.io")
        for v in ("bind", "escalate")
        for r in ("roles", "clusterroles")
    ),
    "delete_events": tuple(
        (v, "events", g) for v in ("delete", "deletecollection") for g in ("", "events.k8s.io")
    ),
    "impersonate": (("impersonate", "users", ""), ("impersonate", "groups", "")),
    "impersonate_serviceaccounts": (("impersonate", "serviceaccounts", ""),),
    "create_tokens": (("create", "serviceaccounts/token", ""),),
    "ephemeral_containers": tuple((v, "pods/ephemeralcontainers", "") for v in ("patch", "update")),
    "nodes_proxy": (("get", "nodes/proxy", ""), ("create", "nodes/proxy", "")),
    "mutating_webhooks": tuple(
        (v, "mutatingwebhookconfigurations", "admissionregistration.k8s.io")
        for v in ("create", "update", "patch")
    ),
    "patch_namespaces": (("patch", "namespaces", ""), ("update", "namespaces", "")),
}
# Rights on cluster-scoped resources: only a ClusterRoleBinding grants them (a RoleBinding
# to a ClusterRole with such rules grants nothing on users, groups, nodes, webhooks or
# namespaces).
CLUSTER_SCOPED_RIGHTS = frozenset(
    {"impersonate", "nodes_proxy", "mutating_webhooks", "patch_namespaces"}
)
ALL_NAMESPACES = "*"

# Container runtime and image-builder sockets (paths under /run; /var/run is the same
# directory). Any ``<runtime>.sock`` below /run counts, wherever a distribution puts it
# (k3s: /run/k3s/containerd/containerd.sock).
_RUNTIME_SOCKETS = (
    "/run/docker.sock",
    "/run/containerd/containerd.sock",
    "/run/k3s/containerd/containerd.sock",
    "/run/crio/crio.sock",
    "/run/cri-dockerd.sock",
    "/run/dockershim.sock",
    "/run/podman/podman.sock",
    "/run/buildkit/buildkitd.sock",
)
_RUNTIME_SOCKET_NAME = re.compile(
    r"/run/(?:.+/)?(?:docker|containerd|crio|cri-dockerd|dockershim|podman|buildkitd|"
    r"k3s|rke2|cri-containerd)\.sock"
)
# Sockets of the host's init and message bus: root on them starts host services.
_HOST_CONTROL_SOCKETS = ("/run/dbus/system_bus_socket", "/run/systemd/private")
_MODEL_STORE_PATHS = ("/model-store", "/opt/nim/.cache", "/mnt/models", "/models")


class Evidence(BaseModel):
    """Where a fact comes from: the manifest location and the field."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    path: str
    line: int | None
    field: str
    detail: str = ""


_EVIDENCE_FIELDS = {"path", "line", "field", "detail"}


def _evidence(path: str, line: int | None, fld: str, detail: str) -> Evidence:
    """An :class:`Evidence` from values that already have its field types (manifest
    locations and literal field names): built without re-validation, 150k times at 10k
    workloads."""
    return Evidence.model_construct(
        _EVIDENCE_FIELDS, path=path, line=line, field=fld, detail=detail
    )


@dataclass(frozen=True)
class ContainerFacts:
    """Base facts of one container (pod-level base facts are kept separately)."""

    name: str
    kind: str
    facts: frozenset[str]
    seccomp_type: str | None
    seccomp_localhost: str | None
    apparmor_type: str | None
    apparmor_localhost: str | None


@dataclass(frozen=True)
class WorkloadFacts:
    """Base facts of one workload, with evidence and the data relations need."""

    workload: Workload
    pod: frozenset[str]
    containers: tuple[ContainerFacts, ...]
    evidence: Mapping[str, Evidence]
    rbac_scope: Mapping[str, frozenset[str]]  # right -> namespaces ("*" = all)

    @cached_property
    def key(self) -> str:
        return str(self.workload.ref)


@dataclass(frozen=True)
class IdentityFacts:
    """A ServiceAccount with RBAC rights that no workload of the inventory runs as.

    Its token is a prize of its own: a pod deployed into its namespace may name it, and
    ``create serviceaccounts/token`` mints one. Its scope (``ServiceAccount/<ns>/<name>``)
    holds the workload-level states ``sa_token`` and ``api_access`` and these pod-level
    facts (``rbac_sa:*``, ``deploy_admits:privileged``)."""

    ref: ObjectRef
    pod: frozenset[str]
    evidence: Mapping[str, Evidence]
    rbac_scope: Mapping[str, frozenset[str]]

    @cached_property
    def key(self) -> str:
        return str(self.ref)

    @property
    def namespace(self) -> str:
        return self.ref.namespace or "default"


@dataclass(frozen=True)
class DeriveOptions:
    """What derivation needs beyond the facts: node and cluster facts."""

    kernel: str | None = None
    kubernetes_version: str | None = None
    node_apparmor: bool | None = None
    kubelet_seccomp_default: bool = False
    seccomp_root: Path | None = None


@dataclass(frozen=True)
class FactBase:
    """All base facts of an inventory: per workload, plus cluster-context facts."""

    workloads: tuple[WorkloadFacts, ...]
    context: frozenset[str]
    context_evidence: Mapping[str, Evidence]
    options: DeriveOptions
    namespaces_admitting_privileged: frozenset[str]
    unknown_namespaces_admit_privileged: bool
    warnings: tuple[str, ...] = field(default=())
    identities: tuple[IdentityFacts, ...] = field(default=())
    # Memo of derivations for this analysis only (a Localhost profile edited between two
    # analyses is read again; nothing is cached across analyses).
    memo: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)

    @cached_property
    def by_namespace(self) -> Mapping[str, tuple[WorkloadFacts, ...]]:
        """The workloads of each namespace, in :attr:`workloads` order (built once per fact
        base, so relations that look up a namespace do not scan every workload)."""
        out: dict[str, list[WorkloadFacts]] = {}
        for w in self.workloads:
            out.setdefault(w.workload.namespace, []).append(w)
        return {ns: tuple(ws) for ns, ws in out.items()}

    @cached_property
    def workload_order(self) -> Mapping[str, int]:
        """Each workload key's position in :attr:`workloads`."""
        return {w.key: i for i, w in enumerate(self.workloads)}

    @cached_property
    def identities_by_namespace(self) -> Mapping[str, tuple[IdentityFacts, ...]]:
        """The ServiceAccount identities of each namespace, in :attr:`identities` order."""
        out: dict[str, list[IdentityFacts]] = {}
        for i in self.identities:
            out.setdefault(i.namespace, []).append(i)
        return {ns: tuple(ids) for ns, ids in out.items()}

    @cached_property
    def token_holders(self) -> tuple[str, ...]:
        """Keys of the workloads whose ServiceAccount token is mounted (``sa_token``)."""
        return tuple(w.key for w in self.workloads if "sa_token" in w.pod)

    def derive(
        self, base: frozenset[str], container: ContainerFacts | None
    ) -> tuple[frozenset[str], dict[str, tuple[str, ...]], tuple[str, ...]]:
        """:func:`derive` with this fact base's options, memoised per analysis."""
        key = (base, derive_key(container))
        found = self.memo.get(key)
        if found is None:
            found = self.memo[key] = derive(base, container, self.options, self.memo)
        return found

    def derived_facts(
        self, base: frozenset[str], container: ContainerFacts | None
    ) -> frozenset[str]:
        """The facts of :meth:`derive`, without keeping the derivation in the memo (for
        one-off what-ifs: a control applied to one scope)."""
        found = self.memo.get((base, derive_key(container)))
        if found is None:
            found = derive(base, container, self.options, self.memo)
        return found[0]

    @cached_property
    def identity_index(self) -> Mapping[str, IdentityFacts]:
        """Each identity by its key."""
        return {i.key: i for i in self.identities}


def derive_key(container: ContainerFacts | None) -> tuple[str | None, str | None] | None:
    """What :func:`derive` reads of ``container`` besides the base facts (its Localhost
    profile names): scopes with equal base facts and equal keys derive the same facts."""
    if container is None:
        return None
    return (container.seccomp_localhost, container.apparmor_localhost)


# -- extraction -------------------------------------------------------------------------


def _norm_path(path: str) -> str:
    text = re.sub(r"/+", "/", path.strip())
    return text.rstrip("/") or "/"


def _uid_root(c: Container) -> bool:
    if c.run_as_user is not None:
        return c.run_as_user == 0
    return c.run_as_non_root is not True


#: the ports sshd listens on in the images attackmap knows (22; multi-node NIM's 2222)
SSH_PORTS = (22, 2222)


def undeclared_ssh_routes(w: Workload) -> list[ExposureRoute]:
    """The routes (Service ports, and Ingress/Gateway/VirtualService routes through them)
    that send to port 22 or 2222 of the pod by number while no container declares that
    port: the Service reaches whatever listens there, declared or not. A named target
    resolves only through a declared port, which the per-port facts already cover."""
    declared = {p.container_port for c in w.pod.containers for p in c.ports}
    return [
        r
        for r in w.exposure.routes
        if r.kind not in ("hostNetwork", "hostPort")
        and isinstance(r.target, int)
        and r.target in SSH_PORTS
        and r.target not in declared
    ]


def _container_facts(
    w: Workload, c: Container, index: int, ev: dict[str, Evidence], loc: tuple[str, int | None]
) -> ContainerFacts:
    path, line = loc
    prefix = f"{c.name}/"
    facts: set[str] = set()
    base = f"containers[{c.name}]"

    def add(fact: str, fld: str, detail: str = "") -> None:
        facts.add(fact)
        if prefix + fact not in ev:
            ev[prefix + fact] = _evidence(path, line, fld, detail)

    sc = f"{base}.securityContext"
    if c.privileged:
        add("privileged", f"{sc}.privileged")
    for cap in c.capabilities.add:
        add(f"cap_add:{cap}", f"{sc}.capabilities.add", cap)
    for cap in c.capabilities.drop:
        add(f"cap_drop:{cap}", f"{sc}.capabilities.drop", cap)
    if any(r.strip().upper() in ("ALL", "CAP_ALL") for r in c.capabilities.drop_raw):
        add("cap_drop:ALL", f"{sc}.capabilities.drop", "ALL")
    if _uid_root(c):
        detail = "runAsUser: 0" if c.run_as_user == 0 else "runAsUser unset, runAsNonRoot not true"
        add("uid_root", f"{sc}.runAsUser", detail)
    if c.allow_privilege_escalation is not False:
        if c.privileged or "CAP_SYS_ADMIN" in c.capabilities.add_raw:
            # The API server refuses allowPrivilegeEscalation: false with privileged: true or
            # with the literal string CAP_SYS_ADMIN in capabilities.add (validation compares
            # the string; SYS_ADMIN passes).
            add(
                "allow_privilege_escalation:forced",
                f"{sc}.allowPrivilegeEscalation",
                "not false (privileged or CAP_SYS_ADMIN added: false is refused)",
            )
        else:
            add("allow_privilege_escalation", f"{sc}.allowPrivilegeEscalation", "not false")
    seccomp = c.seccomp_profile.type if c.seccomp_profile else None
    add(f"seccomp:{seccomp or 'unset'}", f"{sc}.seccompProfile")
    apparmor = c.apparmor_profile.type if c.apparmor_profile else None
    add(f"apparmor:{apparmor or 'unset'}", f"{sc}.appArmorProfile")
    if c.kind in ("regular", "sidecar"):
        add("long_running", base, c.kind)
    for m in w.pod.mounts(c):
        v = m.volume
        if v is None:
            continue
        mfield = f"{base}.volumeMounts[{m.mount.name}]"
        if v.type == "hostPath" and v.path:
            mode = "rw" if m.writable else "ro"
            add(
                f"hostpath:{_norm_path(v.path)}:{mode}",
                mfield,
                f"hostPath {v.path} at {m.mount.mount_path}",
            )
        if v.type == "secret" or (v.type == "projected" and v.projected_secrets):
            add("secret_mount", mfield, f"Secret {v.secret_name or ', '.join(v.projected_secrets)}")
        store_path = _norm_path(m.mount.mount_path)
        cache_env = {e.name for e in c.env} & {"NIM_CACHE_PATH"}
        if (
            store_path in _MODEL_STORE_PATHS
            or v.name in ("model-store", "nim-cache")
            or (cache_env and store_path.startswith("/model"))
        ) and m.writable:
            add("model_store:rw", mfield, f"{v.type} at {m.mount.mount_path}")
            shared = (
                v.type in ("hostPath", "nfs")
                or "ReadWriteMany" in v.access_modes
                or v.pv_backing in ("nfs", "hostPath")
            )
            if shared:
                add("model_store:shared", mfield, f"{v.type} {' '.join(v.access_modes)}".strip())
    if any(g.container in (None, c.name) for g in w.pod.gpu_access):
        routes = sorted({g.route for g in w.pod.gpu_access if g.container in (None, c.name)})
        add("gpu", f"{base}.resources", "GPU via " + ", ".join(routes))
    for e in c.env:
        if e.credential_like and (e.has_value or e.source == "secret"):
            add("env:credential", f"{base}.env[{e.name}]", e.name)
    for ef in c.env_from:
        if ef.source == "secret":
            add("env:credential", f"{base}.envFrom", f"Secret {ef.name}")
    for route in undeclared_ssh_routes(w) if c.kind in ("regular", "sidecar") else ():
        # A Service (or a route through one) sends to port 22/2222 of the pod, which no
        # container declares: a port need not be declared to be served, and any
        # long-running container may be the one listening.
        target = f"{route.kind} {route.ref or ''} -> {route.target}".replace("  ", " ")
        add("remote_service", f"{base}.ports", f"{target} (no container declares the port)")
        if route.level in ("external", "node"):
            add("remote_service:routed", f"{base}.ports", target)
    for p in c.ports:
        if p.container_port in SSH_PORTS or (p.name or "").lower().startswith("ssh"):
            add("remote_service", f"{base}.ports", f"{p.container_port} {p.name or ''}".strip())
            for route in w.exposure.routes:
                if route.level not in ("external", "node") or route.kind in (
                    "hostNetwork",
                    "hostPort",
                ):
                    continue
                if route.target in (p.container_port, p.name) or (
                    route.target is None and route.port == p.container_port
                ):
                    add(
                        "remote_service:routed",
                        f"{base}.ports",
                        f"{route.kind} {route.ref or ''} -> {p.container_port}".strip(),
                    )
    if c.resources.memory_limit is None:
        add("limits:no_memory", f"{base}.resources.limits.memory")
    if c.resources.cpu_limit is None:
        add("limits:no_cpu", f"{base}.resources.limits.cpu")
    del index
    return ContainerFacts(
        name=c.name,
        kind=c.kind,
        facts=frozenset(facts),
        seccomp_type=seccomp,
        seccomp_localhost=c.seccomp_profile.localhost_profile if c.seccomp_profile else None,
        apparmor_type=apparmor,
        apparmor_localhost=c.apparmor_profile.localhost_profile if c.apparmor_profile else None,
    )


def is_credential_env(entry: Mapping[str, object]) -> bool:
    """Whether a raw ``env`` entry gives the fact ``env:credential``: a credential-like
    name with a literal value or a value from a Secret (the same rule as extraction)."""
    name = entry.get("name")
    if not isinstance(name, str) or not is_credential_name(name):
        return False
    value_from = entry.get("valueFrom")
    if isinstance(value_from, Mapping) and "secretKeyRef" in value_from:
        return True
    value = entry.get("value")
    return isinstance(value, str) and value != ""


def _rule_grants(rule: PolicyRule, verb: str, resource: str, group: str) -> bool:
    return rule.allows(verb, resource, group)


def rbac_scope(permissions: Iterable[PolicyRule]) -> dict[str, frozenset[str]]:
    """For each right of :data:`RBAC_RIGHTS` the namespaces it holds in (``*`` = all)."""
    rules = tuple(permissions)
    out: dict[str, frozenset[str]] = {}
    for right, alternatives in RBAC_RIGHTS.items():
        namespaces: set[str] = set()
        for rule in rules:
            if right in CLUSTER_SCOPED_RIGHTS and rule.namespace is not None:
                continue
            if any(_rule_grants(rule, v, r, g) for v, r, g in alternatives):
                namespaces.add(ALL_NAMESPACES if rule.namespace is None else rule.namespace)
        if namespaces:
            out[right] = (
                frozenset({ALL_NAMESPACES})
                if ALL_NAMESPACES in namespaces
                else frozenset(namespaces)
            )
    admin = any(
        rule.namespace is None
        and "*" in rule.verbs
        and "*" in rule.resources
        and "*" in rule.api_groups
        for rule in rules
    )
    if admin:
        out["cluster_admin"] = frozenset({ALL_NAMESPACES})
    out.update(_binding_rights(rules, admin))
    return out


_COMBINED_ONLY = ("create_bindings", "bind_or_escalate")


def rbac_facts(
    permissions: Iterable[PolicyRule],
    scope: Mapping[str, frozenset[str]],
    group_scope: Mapping[str, frozenset[str]],
) -> list[tuple[str, str, str]]:
    """``(fact, field suffix, detail)`` for each right in ``scope``: ``rbac_group:<right>``
    when every ServiceAccount of the namespace holds it (``group_scope``: rules of group
    bindings), else ``rbac_sa:<right>`` (bindings that name this ServiceAccount)."""
    rules = tuple(permissions)
    out: list[tuple[str, str, str]] = []
    for right, namespaces in sorted(scope.items()):
        if right in _COMBINED_ONLY:
            continue  # only their combination (bind_roles) is a step's fact
        if right == "cluster_admin":
            granting = [r for r in rules if "*" in r.verbs and "*" in r.resources]
        else:
            alternatives = RBAC_RIGHTS.get(right) or (
                RBAC_RIGHTS["create_bindings"] + RBAC_RIGHTS["bind_or_escalate"]
            )
            granting = [r for r in rules if any(_rule_grants(r, *alt) for alt in alternatives)]
        via = ", ".join(
            sorted({f"{r.via.kind}/{r.via.name} -> {r.role.kind}/{r.role.name}" for r in granting})
        )
        fact = f"rbac_group:{right}" if right in group_scope else f"rbac_sa:{right}"
        out.append((fact, "", f"{via} in {', '.join(sorted(namespaces))}"))
    return out


def group_rules(
    permissions: Iterable[PolicyRule],
    bindings: Mapping[ObjectRef, Binding],
    namespace: str,
    fresh_name: str,
) -> tuple[PolicyRule, ...]:
    """The rules a new ServiceAccount ``fresh_name`` of ``namespace`` would hold too: those
    of bindings to its groups (``system:serviceaccounts``, ``system:serviceaccounts:<ns>``,
    ``system:authenticated``), decided by the model's own subject matching."""
    out = []
    for rule in permissions:
        binding = bindings.get(rule.via)
        if binding is not None and binding.binds(namespace, fresh_name):
            out.append(rule)
    return tuple(out)


def dedicated_service_account_name(inventory: Inventory, ref: ObjectRef) -> str:
    """The name the ``dedicated-service-account`` control gives the workload's new
    ServiceAccount: ``<name>-runtime``, extended until no ServiceAccount uses it."""
    existing = {
        str(sa.ref.name) for sa in inventory.service_accounts if sa.ref.namespace == ref.namespace
    }
    return _dedicated_name(ref, existing)


def _dedicated_name(ref: ObjectRef, existing: set[str] | frozenset[str]) -> str:
    """:func:`dedicated_service_account_name` given the ServiceAccount names of the
    workload's namespace."""
    name = f"{ref.name}-runtime"
    while name in existing:
        name += "-x"
    return name


def _binding_rights(rules: tuple[PolicyRule, ...], admin: bool) -> dict[str, frozenset[str]]:
    """``bind_roles`` (can bind cluster-admin: cluster-wide) and ``bind_roles_namespaced``
    (can bind roles inside some namespaces only).

    A ClusterRoleBinding can only be created with a cluster-wide rule and can only refer to
    a ClusterRole; a RoleBinding may refer to a Role of its namespace or to a ClusterRole.
    Creating the binding needs ``bind`` (or ``escalate``) on the role it refers to.
    """
    group = "rbac.authorization.k8s.io"

    def where(verbs: tuple[str, ...], resource: str, cluster_only: bool = False) -> set[str]:
        found: set[str] = set()
        for rule in rules:
            if cluster_only and rule.namespace is not None:
                continue
            if any(rule.allows(v, resource, group) for v in verbs):
                found.add(ALL_NAMESPACES if rule.namespace is None else rule.namespace)
        return found

    def meet(a: set[str], b: set[str]) -> set[str]:
        if ALL_NAMESPACES in a:
            return set(b)
        if ALL_NAMESPACES in b:
            return set(a)
        return a & b

    bind_cr = where(("bind", "escalate"), "clusterroles")
    bind_r = where(("bind", "escalate"), "roles")
    crb = where(("create",), "clusterrolebindings", cluster_only=True)
    rb = where(("create",), "rolebindings")
    if admin or (crb and ALL_NAMESPACES in bind_cr) or ALL_NAMESPACES in meet(rb, bind_cr):
        return {"bind_roles": frozenset({ALL_NAMESPACES})}
    namespaced = meet(rb, bind_cr) | meet(rb, bind_r)
    return {"bind_roles_namespaced": frozenset(namespaced)} if namespaced else {}


def _pod_facts(
    w: Workload,
    ev: dict[str, Evidence],
    loc: tuple[str, int | None],
    scope: Mapping[str, frozenset[str]],
    group_scope: Mapping[str, frozenset[str]],
) -> frozenset[str]:
    path, line = loc
    facts: set[str] = set()

    def add(
        fact: str, fld: str, detail: str = "", where: tuple[str, int | None] | None = None
    ) -> None:
        facts.add(fact)
        if fact not in ev:
            p, ln = where or (path, line)
            ev[fact] = _evidence(p, ln, fld, detail)

    pod = w.pod
    if pod.host_pid:
        add("host_pid", "spec.hostPID")
    if pod.host_network:
        add("host_network", "spec.hostNetwork")
    if pod.host_ipc:
        add("host_ipc", "spec.hostIPC")
    sa = w.service_account
    automount = sa.automount if sa is not None else pod.automount_service_account_token is not False
    if automount:
        add(
            "sa_token",
            "spec.automountServiceAccountToken",
            f"ServiceAccount {pod.service_account_name}",
        )
    for v in pod.volumes:
        if v.service_account_token:
            add(
                "sa_token",
                f"spec.volumes[{v.name}].projected.sources.serviceAccountToken",
                f"ServiceAccount {pod.service_account_name} token projected into volume {v.name}",
            )
    if pod.service_account_name == "default" and sa is not None and sa.permissions:
        add(
            "sa:default_bound",
            "spec.serviceAccountName",
            "default ServiceAccount with RoleBindings",
        )
    for route in w.exposure.routes:
        where = (route.source.path, route.source.line) if route.source else None
        name = str(route.ref) if route.ref else route.kind
        if route.kind in ("hostNetwork", "hostPort"):
            add("route:host", f"spec.{route.kind}", name, where)
        elif route.kind in ("Ingress", "HTTPRoute", "GRPCRoute", "VirtualService"):
            add("route:gateway", route.kind, f"{name} port {route.port}", where)
        elif route.level in ("external", "node"):
            add(
                "route:external",
                route.kind,
                f"{name} {route.service_type or ''} port {route.port}".strip(),
                where,
            )
    # "Open" (no policy) and "a policy allows" are separate facts: a control that adds an
    # isolating policy removes the first, never what other selecting policies allow.
    net = w.network
    policies = ", ".join(str(p) for p in net.policies)
    if net.ingress_isolated:
        add("netpol:ingress_isolated", "NetworkPolicy", policies)
        if net.allows_from_any_pod:
            add("netpol:allows_any_pod", "NetworkPolicy", policies)
        if net.allows_from_external:
            add("netpol:allows_external", "NetworkPolicy", policies)
        if net.allowed_peers:
            add("netpol:allows_peers", "NetworkPolicy", "; ".join(net.allowed_peers))
    else:
        add("netpol:ingress_open", "NetworkPolicy", "no NetworkPolicy selects the pod for ingress")
    if net.egress_isolated:
        add("netpol:egress_isolated", "NetworkPolicy", policies)
        if net.egress_allows_any:
            add("netpol:egress_allows_any", "NetworkPolicy", policies)
    else:
        add("netpol:egress_open", "NetworkPolicy", "no NetworkPolicy selects the pod for egress")
    for v in pod.volumes:
        if v.type == "emptyDir" and (v.medium or "").lower() == "memory" and not v.size_limit:
            add(
                "shm:unbounded",
                f"spec.volumes[{v.name}].emptyDir",
                "medium: Memory without sizeLimit",
            )
    if sa is not None:
        where = (sa.source.path, sa.source.line) if sa.source else None
        for fact, fld, detail in rbac_facts(sa.permissions, scope, group_scope):
            add(fact, f"ServiceAccount {sa.ref.name}{fld}", detail, where)
    return frozenset(facts)


def _identities(
    inventory: Inventory, deploy_admits: Callable[[str, str, Mapping[str, frozenset[str]]], str]
) -> tuple[IdentityFacts, ...]:
    """ServiceAccounts with rights that no workload runs as: those the manifests define,
    those bindings name, and each known namespace's ``default``. Their rights come from
    the model's own RBAC resolution (the same the workloads' links use)."""
    from attackmap.model._links import _BindingIndex, _permissions, _resolve_roles

    used = {(w.namespace, w.pod.service_account_name) for w in inventory.workloads}
    names: dict[tuple[str, str], tuple[str, int | None] | None] = {}
    for sa in inventory.service_accounts:
        where = (sa.source.path, sa.source.line) if sa.source else None
        names[(sa.ref.namespace or "default", str(sa.ref.name))] = where
    for b in inventory.bindings:
        for s in b.subjects:
            ns = s.namespace or b.ref.namespace
            if s.kind == "ServiceAccount" and ns:
                names.setdefault((ns, s.name), (b.source.path, b.source.line) if b.source else None)
    for n in inventory.namespaces:
        names.setdefault((str(n.ref.name), "default"), None)
    if not inventory.bindings:
        return ()
    roles = _resolve_roles(inventory.roles)
    index = _BindingIndex(inventory.bindings)  # one lookup per ServiceAccount, not a scan
    out: list[IdentityFacts] = []
    for (ns, name), where in sorted(names.items()):
        if (ns, name) in used:
            continue
        permissions = _permissions(ns, name, index, roles)
        if not permissions:
            continue
        ref = ObjectRef(kind="ServiceAccount", namespace=ns, name=name)
        path, line = where or (f"ServiceAccount/{ns}/{name}", None)
        scope = rbac_scope(permissions)
        ev: dict[str, Evidence] = {}
        facts: set[str] = set()
        for fact, fld, detail in rbac_facts(permissions, scope, {}):
            facts.add(fact)
            ev[fact] = Evidence(
                path=path, line=line, field=f"ServiceAccount {name}{fld}", detail=detail
            )
        detail = deploy_admits(ns, name, scope)
        if detail:
            facts.add("deploy_admits:privileged")
            ev["deploy_admits:privileged"] = Evidence(
                path=path, line=line, field="Namespace labels", detail=detail
            )
        out.append(IdentityFacts(ref=ref, pod=frozenset(facts), evidence=ev, rbac_scope=scope))
    return tuple(out)


def _nvidia_vulnerable(ctx: ClusterContext) -> list[str]:
    """The NVIDIA CVEs the context's versions are open to (DOMAIN §5).

    The Container Toolkit's own version decides when it is declared (the GPU Operator only
    implies the toolkit it installs); otherwise the GPU Operator's version stands for it.
    CVE-2025-23266 also reaches through the device plugin's CDI hooks. Unknown versions:
    patched, unless ``assumeUnknownVulnerable``. CDI mode closes CVE-2024-0132 and
    CVE-2025-23359 (legacy-mode mounts); crun is not open to CVE-2025-23266.
    """
    spec = ctx.spec
    n = spec.nvidia
    assume = spec.assume_unknown_vulnerable
    low = spec.container_runtime.low_level

    def toolkit_le(ctk: str, operator: str) -> bool:
        if n.container_toolkit is not None:
            return _version_tuple(n.container_toolkit) <= _version_tuple(ctk)
        if n.gpu_operator is not None:
            return _version_tuple(n.gpu_operator) <= _version_tuple(operator)
        return assume

    def plugin_le(limit: str) -> bool:
        if n.device_plugin is None:
            return False  # unknown: the toolkit's answer stands for the node
        return _version_tuple(n.device_plugin) <= _version_tuple(limit)

    cdi = n.cdi is True
    found: list[str] = []
    if not cdi and toolkit_le("1.16.1", "24.6.1"):
        found.append("CVE-2024-0132")
    if not cdi and toolkit_le("1.17.3", "24.9.1"):
        found.append("CVE-2025-23359")
    if low != "crun" and (toolkit_le("1.17.7", "25.3.1") or plugin_le("0.17.2")):
        found.append("CVE-2025-23266")
    if toolkit_le("1.17.7", "25.3.1"):
        found.append("CVE-2025-23267")
    return found


def _cgroup_release_agent_open(ctx: ClusterContext) -> bool:
    """CVE-2022-0492: cgroup v1 ``release_agent`` writable from a new user namespace on
    kernels before 5.17 (fix backported to 5.16.2, 5.15.16, 5.10.93, 5.4.176, 4.19.227...;
    a vendor kernel's version string does not show backports, so only the 5.17 line is
    trusted). cgroup v2 has no release_agent. Unknown versions follow
    ``assumeUnknownVulnerable``."""
    spec = ctx.spec
    if spec.cgroup_version == 2:
        return False
    if spec.cgroup_version is None and not spec.assume_unknown_vulnerable:
        return False
    if spec.kernel_version is None:
        return spec.assume_unknown_vulnerable
    return _version_tuple(spec.kernel_version) < (5, 17)


def _version_tuple(version: str) -> tuple[int, ...]:
    """``v1.17.3-1`` -> (1, 17, 3); missing parts are 0 (``1.17`` = 1.17.0)."""
    parts = [int(p) for p in re.findall(r"\d+", version.lstrip("vV"))[:3]]
    return tuple(parts + [0] * (3 - len(parts)))


def extract(
    inventory: Inventory,
    *,
    assume_kernel_exploit: bool = False,
    seccomp_root: Path | None = None,
) -> FactBase:
    """Base facts of every workload of ``inventory`` and of its cluster context."""
    from attackmap.pss import AdmissionPolicy, most_permissive_admitted

    ctx = inventory.context
    ctx_facts: set[str] = set()
    ctx_ev: dict[str, Evidence] = {}
    ctx_path = "ClusterContext"
    if ctx is not None:
        ctx_path = f"ClusterContext/{ctx.metadata.name}"
        cves = _nvidia_vulnerable(ctx)
        if cves:
            ctx_facts.add("ctx:nvidia_toolkit_vulnerable")
            ctx_ev["ctx:nvidia_toolkit_vulnerable"] = Evidence(
                path=ctx_path, line=None, field="spec.nvidia", detail=", ".join(cves)
            )
    if ctx is not None and _cgroup_release_agent_open(ctx):
        ctx_facts.add("ctx:cgroup_v1_release_agent")
        ctx_ev["ctx:cgroup_v1_release_agent"] = Evidence(
            path=ctx_path,
            line=None,
            field="spec.cgroupVersion",
            detail=f"cgroup v1, kernel {ctx.spec.kernel_version or 'unknown'}",
        )
    if assume_kernel_exploit:
        ctx_facts.add("ctx:kernel_exploitable")
        ctx_ev["ctx:kernel_exploitable"] = Evidence(
            path="<options>", line=None, field="assume_kernel_exploit", detail="assumed"
        )
    admission = AdmissionPolicy()
    for doc in inventory.admission:
        admission = AdmissionPolicy.from_config(doc)
        break
    ns_labels = {str(ns.ref.name): dict(ns.labels) for ns in inventory.namespaces}
    for w in inventory.workloads:
        ns_labels.setdefault(w.namespace, dict(w.namespace_labels))
    admitting = frozenset(
        ns
        for ns, labels in ns_labels.items()
        if most_permissive_admitted(labels, admission, namespace=ns).privileged
    )
    unknown_admit = most_permissive_admitted({}, admission, namespace=None).privileged
    known_namespaces = frozenset(ns_labels)

    def deploy_admits(namespace: str, sa_name: str, scope: Mapping[str, frozenset[str]]) -> str:
        """Where the identity can create privileged pods ("" when nowhere)."""
        create: set[str] = set()
        for right in ("create_pods", "create_workloads", "create_jobs"):
            create |= scope.get(right, frozenset())
        if not create:
            return ""
        username = f"system:serviceaccount:{namespace}:{sa_name}"
        if most_permissive_admitted({}, admission, username=username).exempt == "user":
            return f"{username} is exempt from Pod Security"
        where = sorted(create & admitting)
        # A namespace absent from the manifests has no labels we know of: it admits
        # what the admission defaults admit (privileged, without a configuration).
        if unknown_admit and (ALL_NAMESPACES in create or create - known_namespaces):
            where.append("namespaces outside the manifests")
        elif ALL_NAMESPACES in create and admitting:
            where = sorted(admitting)
        return "privileged pods admitted in " + ", ".join(where) if where else ""

    bindings = {b.ref: b for b in inventory.bindings}
    sa_names: dict[str | None, set[str]] = {}
    for account in inventory.service_accounts:
        sa_names.setdefault(account.ref.namespace, set()).add(str(account.ref.name))
    workloads: list[WorkloadFacts] = []
    for w in inventory.workloads:
        ev: dict[str, Evidence] = {}
        loc = (w.source.path, w.source.line)
        sa = w.service_account
        scope = rbac_scope(sa.permissions) if sa is not None else {}
        group_scope = (
            rbac_scope(
                group_rules(
                    sa.permissions,
                    bindings,
                    w.namespace,
                    _dedicated_name(w.ref, sa_names.get(w.ref.namespace, set())),
                )
            )
            if sa is not None
            else {}
        )
        pod = set(_pod_facts(w, ev, loc, scope, group_scope))
        detail = deploy_admits(w.namespace, w.pod.service_account_name, scope)
        if detail:
            pod.add("deploy_admits:privileged")
            ev["deploy_admits:privileged"] = Evidence(
                path=loc[0], line=loc[1], field="Namespace labels", detail=detail
            )
        containers = tuple(
            _container_facts(w, c, i, ev, loc) for i, c in enumerate(w.pod.containers)
        )
        workloads.append(
            WorkloadFacts(
                workload=w, pod=frozenset(pod), containers=containers, evidence=ev, rbac_scope=scope
            )
        )
    identities = _identities(inventory, deploy_admits)
    spec = ctx.spec if ctx is not None else None
    options = DeriveOptions(
        kernel=spec.kernel_version if spec else None,
        kubernetes_version=spec.kubernetes_version if spec else None,
        node_apparmor=spec.app_armor if spec else None,
        kubelet_seccomp_default=bool(spec and spec.kubelet.seccomp_default),
        seccomp_root=seccomp_root,
    )
    return FactBase(
        workloads=tuple(workloads),
        context=frozenset(ctx_facts),
        context_evidence=ctx_ev,
        options=options,
        namespaces_admitting_privileged=admitting,
        unknown_namespaces_admit_privileged=unknown_admit,
        identities=identities,
    )


# -- derivation -------------------------------------------------------------------------


def effective_capabilities(facts: frozenset[str]) -> frozenset[str]:
    """The container's effective capability set from its base facts."""
    if "privileged" in facts:
        return frozenset(LINUX_CAPABILITIES)
    added = {f[8:] for f in facts if f.startswith("cap_add:")}
    if "cap_drop:ALL" in facts:
        return frozenset(added)
    dropped = {f[9:] for f in facts if f.startswith("cap_drop:")}
    return frozenset((DEFAULT_CAPABILITIES - dropped) | added)


def classify_hostpaths(facts: Iterable[str]) -> dict[str, list[str]]:
    """``host_mount:<class>`` -> the ``hostpath:`` facts that give it."""
    out: dict[str, list[str]] = {}
    for fact in facts:
        if not fact.startswith("hostpath:"):
            continue
        path, _, mode = fact[9:].rpartition(":")
        rw = mode == "rw"
        for cls in _hostpath_classes(path, rw):
            out.setdefault(f"host_mount:{cls}", []).append(fact)
    return out


def _run_path(path: str) -> str:
    """``/var/run/x`` -> ``/run/x`` (the same directory on every current distribution)."""
    if path == "/var/run" or path.startswith("/var/run/"):
        return "/run" + path[len("/var/run") :]
    return path


def _ancestors(path: str) -> set[str]:
    out = set()
    parent = Path(path).parent
    while True:
        out.add(str(parent))
        if parent == parent.parent:
            return out
        parent = parent.parent


_SOCKET_DIRS = frozenset({"/var"}.union(*(_ancestors(s) for s in _RUNTIME_SOCKETS)))


def _hostpath_classes(path: str, rw: bool) -> list[str]:
    classes: list[str] = []
    run = _run_path(path)
    if path in ("/", "/home", "/root", "/proc", "/etc") or re.fullmatch(
        r"/(root|home/[^/]+)(/\.ssh)?|/etc/kubernetes(/.*)?|/var/lib/kubelet(/pki)?", path
    ):
        classes.append("sensitive_read")
    if path in ("/", "/var", "/var/lib", "/var/lib/kubelet") or path.startswith(
        "/var/lib/kubelet/pods"
    ):
        classes.append("kubelet_pods")
    if path in ("/", "/var", "/var/log", "/var/log/pods") or path.startswith("/var/log/pods/"):
        classes.append("var_log")
        if rw:
            classes.append("log_write")
    if rw and path in ("/", "/proc", "/proc/sys", "/proc/sys/kernel"):
        classes.append("proc_sys_write")
    runtime = (
        run in _RUNTIME_SOCKETS
        or _RUNTIME_SOCKET_NAME.fullmatch(run) is not None
        or run in _SOCKET_DIRS
    )
    if runtime:
        classes.append("runtime_socket")
    # connect(2) works through a read-only mount: the host's bus and init take orders
    # from root whatever the mount mode.
    host_control = run in _HOST_CONTROL_SOCKETS or run in {
        str(Path(s).parent) for s in _HOST_CONTROL_SOCKETS
    }
    safe = (
        path.startswith(("/tmp", "/mnt/", "/dev/nvidia"))
        or run.startswith("/run/")
        or path in ("/run/xtables.lock", "/var/tmp")
    ) and not runtime
    if host_control or (rw and not safe):
        classes.append("write")
    return classes


def _syscalls(
    seccomp_type: str | None,
    localhost: str | None,
    seccomp_default: bool,
    caps: frozenset[str],
    privileged: bool,
    kernel: str | None,
    seccomp_root: Path | None,
) -> tuple[frozenset[str], tuple[str, ...]]:
    from attackmap.seccomp import SeccompSpec, open_syscalls

    stype = seccomp_type if seccomp_type in ("RuntimeDefault", "Localhost", "Unconfined") else None
    access = open_syscalls(
        profile=SeccompSpec(
            type=stype,  # type: ignore[arg-type]  # narrowed to the Literal values above
            localhost_profile=localhost,
            kubelet_seccomp_default=seccomp_default,
        ),
        capabilities=caps,
        privileged=privileged,
        kernel=kernel,
        seccomp_root=seccomp_root,
    )
    return access.usable_set, access.warnings


def _apparmor(
    ptype: str | None, localhost: str | None, k8s: str | None, node: bool | None, privileged: bool
) -> tuple[bool, bool]:
    from attackmap.seccomp import apparmor_effect

    known = ptype if ptype in ("RuntimeDefault", "Localhost", "Unconfined") else None
    effect = apparmor_effect(
        known, localhost, kubernetes_version=k8s, node_apparmor=node, privileged=privileged
    )
    return (not effect.denies_mount, not effect.confined)


def _memoised(memo: dict[Any, Any] | None, key: tuple[Any, ...], compute: Any) -> Any:
    if memo is None:
        return compute()
    if key not in memo:
        memo[key] = compute()
    return memo[key]


def derive(
    base: frozenset[str],
    container: ContainerFacts | None,
    options: DeriveOptions,
    memo: dict[Any, Any] | None = None,
) -> tuple[frozenset[str], dict[str, tuple[str, ...]], tuple[str, ...]]:
    """Base facts plus derived facts; ``because`` maps each derived fact to the base facts
    it came from; the last item holds warnings (e.g. an unresolved Localhost profile)."""
    facts = set(base)
    because: dict[str, tuple[str, ...]] = {}
    warnings: tuple[str, ...] = ()

    def put(fact: str, sources: Iterable[str]) -> None:
        facts.add(fact)
        if fact not in because:
            because[fact] = tuple(sorted(set(sources) & base))

    if container is not None:
        privileged = "privileged" in base
        caps = effective_capabilities(base)
        cap_sources = [
            f for f in base if f.startswith(("cap_add:", "cap_drop:")) or f == "privileged"
        ]
        escalation = ("allow_privilege_escalation", "allow_privilege_escalation:forced")
        usable = privileged or "uid_root" in base or any(f in base for f in escalation)
        usable_src = [f for f in ("privileged", "uid_root", *escalation) if f in base]
        for cap in caps:
            # exactly the base facts that decide this capability
            own = [
                f
                for f in cap_sources
                if f in ("privileged", "cap_drop:ALL", f"cap_add:{cap}", f"cap_drop:{cap}")
            ]
            put(f"cap:{cap}", own)
            if usable:
                put(f"cap_usable:{cap}", [*own, *usable_src])
        seccomp_type = next((f[8:] for f in base if f.startswith("seccomp:")), "unset")
        stype = None if seccomp_type == "unset" else seccomp_type
        local = container.seccomp_localhost if stype == "Localhost" else None
        sys_args = (
            stype,
            local,
            options.kubelet_seccomp_default,
            caps if usable else frozenset(),
            privileged,
            options.kernel,
            options.seccomp_root,
        )
        syscalls, warnings = _memoised(memo, ("syscalls", *sys_args), lambda: _syscalls(*sys_args))
        sc_sources = [*cap_sources, *usable_src, f"seccomp:{seccomp_type}"]
        if syscalls:
            # the same sources for every open syscall: intersect them once
            sc_because = tuple(sorted(set(sc_sources) & base))
            for name in syscalls:
                fact = f"syscall:{name}"
                facts.add(fact)
                because.setdefault(fact, sc_because)
        apparmor_type = next((f[9:] for f in base if f.startswith("apparmor:")), "unset")
        atype = None if apparmor_type == "unset" else apparmor_type
        alocal = container.apparmor_localhost if atype == "Localhost" else None
        aa_args = (
            atype,
            alocal,
            options.kubernetes_version,
            options.node_apparmor,
            privileged,
        )
        allows_mount, allows_ptrace = _memoised(
            memo, ("apparmor", *aa_args), lambda: _apparmor(*aa_args)
        )
        aa_sources = [f"apparmor:{apparmor_type}", *(["privileged"] if privileged else [])]
        if allows_mount:
            put("apparmor:allows_mount", aa_sources)
        if allows_ptrace:
            put("apparmor:allows_ptrace", aa_sources)
        for cls, sources in classify_hostpaths(base).items():
            put(cls, sources)
    for fact in base:
        if fact.startswith(("rbac_sa:", "rbac_group:")):
            put("rbac:" + fact.partition(":")[2], [fact])
    # Exposure. A LoadBalancer/NodePort keeps the client's address (or the node's): it needs
    # ingress allowed from outside. An Ingress/Gateway route arrives from the controller's
    # pods: any allowed peer may be that controller.
    host = "route:host" in base
    open_in = "netpol:ingress_open" in base
    exposure: list[str] = []
    if host:
        exposure.append("route:host")
    if "route:external" in base and (open_in or "netpol:allows_external" in base):
        exposure += ["route:external", "netpol:ingress_open", "netpol:allows_external"]
    if "route:gateway" in base and (open_in or "netpol:allows_peers" in base):
        exposure += ["route:gateway", "netpol:ingress_open", "netpol:allows_peers"]
    if exposure:
        put("exposed:external", exposure)
    if host or open_in or "netpol:allows_any_pod" in base:
        put(
            "reachable:cluster",
            ["route:host", "netpol:ingress_open", "netpol:allows_any_pod"],
        )
    if "netpol:egress_open" in base or "netpol:egress_allows_any" in base:
        put("egress:open", ["netpol:egress_open", "netpol:egress_allows_any"])
    return frozenset(facts), because, warnings
