"""Named relations that move a step's grants into other workloads.

A step with ``target: <relation>`` grants its states in every scope the relation returns
for the workload (or ServiceAccount identity) the step fires in. Relations read only the
fact base. A target is a workload's container, a workload, or a ServiceAccount identity
no workload runs as (:class:`~attackmap.graph._facts.IdentityFacts`, key
``ServiceAccount/<ns>/<name>``).

Each relation is defined by its :class:`Reach`: the shared *groups* of targets it covers
(the running containers of one namespace, the identities of one namespace, every
mounted token...) minus the source itself. The engine links a step instance to its groups
rather than to each target, so a cluster where many workloads reach many others keeps
one copy of each group (edges O(workloads + instances), not their product);
:func:`group_targets` lists a group's members and a relation's targets are exactly
``members of its groups, minus the source's own`` (except ``pid_namespace_peers``: the
other containers of the source's own pod, one group per source container, nothing
excluded).

Pod-to-pod reach (``network_reach_targets``) uses groups of served ports (``port``
scope): each *hub* of :mod:`attackmap.graph._network` is one group, shared by every
source whose NetworkPolicies lead to it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from attackmap.graph._facts import (
    ALL_NAMESPACES,
    DEPLOY_RIGHTS,
    FactBase,
    IdentityFacts,
    WorkloadFacts,
    pid_takeover_peers,
)
from attackmap.graph._network import NetworkIndex, build_index
from attackmap.graph._placement import NodeClass
from attackmap.graph._stores import location_id, reader_kind

# A target: (workload or identity key, container name or None for the workload scope).
Target = tuple[str, str | None]
# A served port as a target: (workload key, container, port text as in the scope label).
PortTarget = tuple[str, str, str]
# A step's source: a workload, an identity, or (node-scope steps) the node class it runs in.
Holder = WorkloadFacts | IdentityFacts | NodeClass


class Relation(Protocol):
    """A relation as a function: the targets of a step firing in ``holder`` (in its
    ``container``; ``None``: any of the holder's containers)."""

    def __call__(
        self, fb: FactBase, holder: Holder | None, container: str | None = None, /
    ) -> tuple[Target | PortTarget, ...]: ...


# A relation that depends on the container a step fires in (the mounts it writes...):
# ``(fact base, source, container or None for all of the source's) -> Reach``.
ContainerReach = Callable[[FactBase, Holder | None, str | None], "Reach"]

# A group of targets: (kind, namespace or "*") with kind "containers" (running containers),
# "identities" (workloads and unused ServiceAccounts), "identity" (those of one
# ServiceAccount: "<namespace>/<name>", "*/<name>" in every namespace, for a right limited
# by resourceNames), "namespace_admin" (the ``Namespace/<ns>`` scope: every namespaced
# right there), "tokens" (mounted tokens of the workloads that may run on one node
# class: its name, or "*" on any node; never a pod no node takes), "node_containers" (the
# running containers of the workloads that may run on one node class: its name, or "*" on
# any node) or "hub" (the served ports a pod-network hub of
# graph/_network.py reaches; the second item is the hub's id); for shared
# storage (the second item a location id of :mod:`attackmap.graph._stores`) "store_readers"
# (the workloads mounting that location), "store_users" (those loading models or code from
# it: the readers of a directory above what is written) or "store_loaders" (the containers
# running code from it); for stolen credentials (:mod:`attackmap.graph._credentials`)
# "registry_pullers" (the workloads whose images come from a registry host) or
# "ssh_servers" (the containers serving SSH with the key Secret ``<ns>/<name>`` mounted);
# "pid_peers" (the other containers of one pod a container may take over through a shared
# PID namespace: the second item is "<workload key>\n<container>").
Group = tuple[str, str]

_CREATE_RIGHTS = DEPLOY_RIGHTS


@dataclass(frozen=True)
class Reach:
    """A relation's targets for one source: the members of ``groups`` except the targets
    of workload/identity ``excluded`` (the source itself)."""

    groups: tuple[Group, ...]
    excluded: str | None


def _scope(holder: Holder | None, rights: Iterable[str]) -> frozenset[str]:
    if holder is None or isinstance(holder, NodeClass):
        return frozenset()
    out: frozenset[str] = frozenset()
    for right in rights:
        out |= holder.rbac_scope.get(right, frozenset())
    return out


def _groups(kind: str, namespaces: frozenset[str]) -> tuple[Group, ...]:
    if ALL_NAMESPACES in namespaces:
        return ((kind, ALL_NAMESPACES),)
    # "ns/name": one named object of a NAMED_RIGHTS scope (identities only)
    return tuple(
        ("identity", ns) if "/" in ns and kind == "identities" else (kind, ns)
        for ns in sorted(namespaces)
        if "/" not in ns or kind == "identities"
    )


def _key(holder: Holder | None) -> str | None:
    return holder.key if isinstance(holder, WorkloadFacts | IdentityFacts) else None


def node_classes(fb: FactBase, holder: Holder | None) -> tuple[str, ...]:
    """The node classes ``holder`` is on: a workload's may-run-on classes, a node-scope
    step's own class, every class for anything else (an identity, a cluster power)."""
    if isinstance(holder, NodeClass):
        return (holder.name,)
    if isinstance(holder, WorkloadFacts):
        return fb.placement.of(holder.key)
    return fb.placement.names


def in_token_group(where: str, on: Collection[str]) -> bool:
    """Whether a token holder placed ``on`` (its node classes) is in the tokens group of
    ``where`` (a node class, or every node): on a node, so not a pod no node takes."""
    return bool(on) and (where == ALL_NAMESPACES or where in on)


def group_targets(fb: FactBase, group: Group) -> tuple[Target | PortTarget, ...]:
    """The members of ``group`` in ``fb`` (fact-base order)."""
    kind, ns = group
    if kind == "hub":
        return hub_targets(fb, ns)
    if kind == "tokens":
        return tuple((k, None) for k in fb.token_holders if in_token_group(ns, fb.placement.of(k)))
    if kind == "node_containers":
        on = fb.placement.of
        return tuple(
            (w.key, c.name)
            for w in fb.workloads
            if (on(w.key) if ns == ALL_NAMESPACES else ns in on(w.key))
            for c in w.containers
            if c.kind in ("regular", "sidecar")
        )
    if kind == "namespace_admin":
        if ns == ALL_NAMESPACES:
            return tuple((n.key, None) for n in fb.namespace_admins)
        key = f"Namespace/{ns}"
        return ((key, None),) if key in fb.identity_index else ()
    if kind == "identity":
        where, _, name = ns.partition("/")
        found = fb.workloads if where == ALL_NAMESPACES else fb.by_namespace.get(where, ())
        named = (
            fb.identities if where == ALL_NAMESPACES else fb.identities_by_namespace.get(where, ())
        )
        return tuple((w.key, None) for w in found if w.shape.service_account == name) + tuple(
            (i.key, None) for i in named if i.ref.name == name
        )
    if kind == "store_readers":
        return tuple(dict.fromkeys((m.workload, None) for m in fb.stores.at_id(ns)))
    if kind == "store_users":
        return tuple(
            dict.fromkeys((m.workload, None) for m in fb.stores.at_id(ns) if m.code or m.model)
        )
    if kind == "store_loaders":
        return tuple(
            dict.fromkeys((m.workload, m.container) for m in fb.stores.at_id(ns) if m.code)
        )
    if kind == "registry_pullers":
        return tuple((k, None) for k in fb.credentials.pullers.get(ns, ()))
    if kind == "ssh_servers":
        return tuple(fb.credentials.ssh_servers.get(ns, ()))
    if kind == "pid_peers":
        key, _, source = ns.partition("\n")
        wf = fb.workloads[fb.workload_order[key]]
        return tuple((key, name) for name in pid_takeover_peers(wf.shape, wf.containers, source))
    workloads = fb.workloads if ns == ALL_NAMESPACES else fb.by_namespace.get(ns, ())
    if kind == "containers":
        return tuple(
            (w.key, c.name)
            for w in workloads
            for c in w.containers
            if c.kind in ("regular", "sidecar")
        )
    if kind == "identities":
        idents = fb.identities if ns == ALL_NAMESPACES else fb.identities_by_namespace.get(ns, ())
        return tuple((w.key, None) for w in workloads) + tuple((i.key, None) for i in idents)
    raise ValueError(f"unknown target group {group!r}")


def _containers_where(rights: tuple[str, ...]) -> Callable[[FactBase, Holder | None], Reach]:
    def reach(fb: FactBase, wf: Holder | None) -> Reach:
        return Reach(_groups("containers", _scope(wf, rights)), _key(wf))

    return reach


def _identities_where(rights: tuple[str, ...]) -> Callable[[FactBase, Holder | None], Reach]:
    def reach(fb: FactBase, wf: Holder | None) -> Reach:
        if wf is None or isinstance(wf, NodeClass):
            return Reach((), None)
        return Reach(_groups("identities", _scope(wf, rights)), wf.key)

    return reach


def _namespace_admin_where(rights: tuple[str, ...]) -> Callable[[FactBase, Holder | None], Reach]:
    def reach(fb: FactBase, wf: Holder | None) -> Reach:
        return Reach(_groups("namespace_admin", _scope(wf, rights)), _key(wf))

    return reach


def _every_container(fb: FactBase, wf: Holder | None) -> Reach:
    return Reach((("containers", ALL_NAMESPACES),), _key(wf))


def _node_tokens(fb: FactBase, wf: Holder | None) -> Reach:
    classes = node_classes(fb, wf)
    if len(classes) == len(fb.placement.classes):  # any node: every token
        return Reach((("tokens", ALL_NAMESPACES),), _key(wf))
    return Reach(tuple(("tokens", c) for c in classes), _key(wf))


def _node_containers(fb: FactBase, wf: Holder | None) -> Reach:
    """The running containers of the workloads that may run on the node class a node-scope
    step fires in (every running container when one class holds every workload)."""
    classes = node_classes(fb, wf)
    if len(classes) == len(fb.placement.classes):  # any node: every placed workload's
        return Reach((("node_containers", ALL_NAMESPACES),), _key(wf))
    return Reach(tuple(("node_containers", c) for c in classes), _key(wf))


def _held(
    kind: str, pick: Callable[[FactBase, str], Iterable[str]]
) -> Callable[[FactBase, Holder | None], Reach]:
    """The ``kind`` groups named by what the source's credentials open (``pick``)."""

    def reach(fb: FactBase, wf: Holder | None) -> Reach:
        if wf is None or isinstance(wf, NodeClass):
            return Reach((), None)
        return Reach(tuple(sorted({(kind, g) for g in pick(fb, wf.key)})), wf.key)

    return reach


def _rights_tokens(fb: FactBase, wf: Holder | None) -> Reach:
    if wf is None or isinstance(wf, NodeClass):
        return Reach((), None)
    accounts = {a for a, _ in fb.credentials.readable_tokens(wf.rbac_scope)}
    return Reach(tuple(sorted(("identity", a) for a in accounts)), wf.key)


def _network_reach(fb: FactBase, wf: Holder | None) -> Reach:
    if not isinstance(wf, WorkloadFacts):
        return Reach((), None)
    return Reach(tuple(("hub", hub) for hub in source_hubs(fb, wf)), wf.key)


def hub_targets(fb: FactBase, hub: str) -> tuple[PortTarget, ...]:
    """The served ports hub ``hub`` reaches (fact-base order)."""
    return tuple(
        (key, port.container, port.text) for key, port in network_index(fb).members.get(hub, ())
    )


REACH: Mapping[str, Callable[[FactBase, Holder | None], Reach]] = {
    # Containers of the workloads in namespaces where the ServiceAccount may exec/attach.
    "rbac_exec_targets": _containers_where(("exec",)),
    # Containers of the workloads in namespaces where the ServiceAccount may patch workloads.
    "rbac_patch_targets": _containers_where(("patch_workloads",)),
    # Containers of the workloads in namespaces where the ServiceAccount may add
    # ephemeral containers to pods.
    "rbac_ephemeral_targets": _containers_where(("ephemeral_containers",)),
    # Every running container of every other workload (kubelet API, admission webhooks).
    "every_running_container": _every_container,
    # Every workload whose token is mounted and that may run on a node the source may be
    # on (see _placement: the source's node classes, or a node-scope step's own).
    "node_workload_tokens": _node_tokens,
    # Every running container of the workloads that may run on the node class (see
    # _placement), which root on a node of that class enters through the runtime or /proc.
    "node_running_containers": _node_containers,
    # Every identity in the namespaces where the ServiceAccount may create pods: the
    # workloads' and every other ServiceAccount's (a new pod may name any of them).
    "deploy_namespace_tokens": _identities_where(_CREATE_RIGHTS),
    # Every identity in the namespaces where the ServiceAccount may create
    # ``serviceaccounts/token`` (a TokenRequest mints a token for any of them).
    "token_request_targets": _identities_where(("create_tokens",)),
    # Every identity in the namespaces where the ServiceAccount may impersonate
    # ServiceAccounts, and those a rule limited by resourceNames names.
    "impersonation_targets": _identities_where(("impersonate_serviceaccounts",)),
    # The admin rights of each namespace where the ServiceAccount can add rules to a role
    # bound to it (escalate), or bind a role to itself (bind).
    "escalate_namespace_targets": _namespace_admin_where(("escalate_roles_namespaced",)),
    "bind_namespace_targets": _namespace_admin_where(("bind_roles_namespaced",)),
    # The served ports of every workload a pod of the source may open, per the
    # NetworkPolicies of both (egress of the source, ingress of the target): hubs.
    "network_reach_targets": _network_reach,
    # The workloads pulling images from a registry the source holds credentials for.
    "registry_image_pullers": _held(
        "registry_pullers",
        lambda fb, key: (h for h, _, _ in fb.credentials.registries.get(key, ())),
    ),
    # The containers serving SSH with a key Secret the source holds.
    "ssh_key_peers": _held(
        "ssh_servers", lambda fb, key: (s for s, _ in fb.credentials.ssh_keys.get(key, ()))
    ),
    # The ServiceAccounts whose token Secrets the source may read through the API.
    "readable_token_identities": _rights_tokens,
    # The ServiceAccounts whose token Secrets the source holds.
    "token_secret_identities": _held(
        "identity", lambda fb, key: (a for a, _, _ in fb.credentials.tokens.get(key, ()))
    ),
}


def _written_stores(kind: str, code: bool) -> ContainerReach:
    """The ``kind`` groups of every location overlapping one the source's container writes
    (``code``: only where another workload runs code from it)."""

    def reach(fb: FactBase, wf: Holder | None, container: str | None) -> Reach:
        if not isinstance(wf, WorkloadFacts):
            return Reach((), None)
        groups: dict[Group, None] = {}
        for m in fb.stores.of(wf.key, container):
            if not m.writable:
                continue
            for loc in fb.stores.overlapping(m.location):
                use = reader_kind("code" if code else "any", loc, m.location)
                if fb.stores.has_other(loc, wf.key, use):
                    group = "store_users" if use == "uses" else kind
                    groups[(group, location_id(loc))] = None
        return Reach(tuple(sorted(groups)), wf.key)

    return reach


def _pid_peers(fb: FactBase, wf: Holder | None, container: str | None) -> Reach:
    """The other containers of the source's pod its ``container`` may take over, when the
    pod shares its PID namespace: one group per source container (a pod has few), so
    nothing is excluded (the targets are the source workload's own)."""
    if not isinstance(wf, WorkloadFacts) or "share_process_namespace" not in wf.pod:
        return Reach((), None)
    names = [cf.name for cf in wf.containers] if container is None else [container]
    groups = tuple(
        ("pid_peers", f"{wf.key}\n{name}")
        for name in names
        if pid_takeover_peers(wf.shape, wf.containers, name)
    )
    return Reach(groups, None)


CONTAINER_REACH: Mapping[str, ContainerReach] = {
    # The workloads that mount data the source's container can write (shared storage).
    "shared_store_readers": _written_stores("store_readers", code=False),
    # The containers that run code from data the source's container can write.
    "shared_store_code_loaders": _written_stores("store_loaders", code=True),
    # The other containers of the source's pod whose files its container may write through
    # /proc/<pid>/root (a shared PID namespace).
    "pid_namespace_peers": _pid_peers,
}


def reach_of(name: str, fb: FactBase, holder: Holder | None, container: str | None) -> Reach:
    """The :class:`Reach` of relation ``name`` for a step firing in ``holder`` (in its
    ``container`` for a container step)."""
    found = CONTAINER_REACH.get(name)
    if found is not None:
        return found(fb, holder, container)
    return REACH[name](fb, holder)


def targets(fb: FactBase, reach: Reach) -> tuple[Target | PortTarget, ...]:
    """Every target of ``reach``, each once (group order, then fact-base order)."""
    seen: dict[Target | PortTarget, None] = {}
    for group in reach.groups:
        for target in group_targets(fb, group):
            if target[0] != reach.excluded:
                seen[target] = None
    return tuple(seen)


def _relation(name: str) -> Relation:
    def relation(
        fb: FactBase, wf: Holder | None, container: str | None = None
    ) -> tuple[Target | PortTarget, ...]:
        return targets(fb, reach_of(name, fb, wf, container))

    relation.__name__ = name
    return relation


RELATIONS: Mapping[str, Relation] = {name: _relation(name) for name in (*REACH, *CONTAINER_REACH)}
"""Each relation as a function: ``(fact base, source) -> targets``."""


# -- the pod network (the index itself: graph/_network.py) ----------------------------------


def network_index(fb: FactBase) -> NetworkIndex:
    """The :class:`NetworkIndex` of ``fb`` (``extract`` builds it; a fact base built by
    hand gets one built here, not kept)."""
    if fb.network is not None:
        return fb.network
    return build_index((w.workload for w in fb.workloads), fb.network_policies)


def source_hubs(fb: FactBase, wf: WorkloadFacts) -> tuple[str, ...]:
    """The hubs a foothold in ``wf`` reaches."""
    return network_index(fb).sources.get(wf.key, ())
