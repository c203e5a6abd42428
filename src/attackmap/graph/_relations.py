"""Named relations that move a step's grants into other workloads.

A step with ``target: <relation>`` grants its states in every scope the relation returns
for the workload (or ServiceAccount identity) the step fires in. Relations read only the
fact base. A target is a workload's container, a workload, or a ServiceAccount identity
no workload runs as (:class:`~attackmap.graph._facts.IdentityFacts`, key
``ServiceAccount/<ns>/<name>``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from attackmap.graph._facts import ALL_NAMESPACES, FactBase, IdentityFacts, WorkloadFacts

# A target: (workload or identity key, container name or None for the workload scope).
Target = tuple[str, str | None]
Holder = WorkloadFacts | IdentityFacts
Relation = Callable[[FactBase, Holder | None], tuple[Target, ...]]

_CREATE_RIGHTS = ("create_pods", "create_workloads", "create_jobs")


def _scope(holder: Holder | None, rights: Iterable[str]) -> frozenset[str]:
    if holder is None:
        return frozenset()
    out: frozenset[str] = frozenset()
    for right in rights:
        out |= holder.rbac_scope.get(right, frozenset())
    return out


def _in_namespaces(fb: FactBase, namespaces: frozenset[str]) -> list[WorkloadFacts]:
    """The workloads of ``namespaces`` in fact-base order (from the namespace index)."""
    if ALL_NAMESPACES in namespaces:
        return list(fb.workloads)
    index = fb.by_namespace
    groups = [index[ns] for ns in namespaces if ns in index]
    if len(groups) == 1:
        return list(groups[0])
    order = fb.workload_order
    return sorted((w for g in groups for w in g), key=lambda w: order[w.key])


def _running_containers(
    workloads: Iterable[WorkloadFacts], source: Holder | None
) -> tuple[Target, ...]:
    out: list[Target] = []
    skip = source.key if source is not None else None
    for w in workloads:
        if w.key == skip:
            continue
        out.extend((w.key, c.name) for c in w.containers if c.kind in ("regular", "sidecar"))
    return tuple(out)


def _identities_in(
    fb: FactBase, namespaces: frozenset[str], source: Holder | None
) -> tuple[Target, ...]:
    """Every identity of ``namespaces``: the workloads (each runs as its ServiceAccount)
    and the ServiceAccounts no workload runs as."""
    keys = [w.key for w in _in_namespaces(fb, namespaces)]
    if ALL_NAMESPACES in namespaces:
        keys += [i.key for i in fb.identities]
    else:
        index = fb.identities_by_namespace
        # identities are sorted by (namespace, name): namespace order keeps that order
        keys += [i.key for ns in sorted(namespaces) for i in index.get(ns, ())]
    skip = source.key if source is not None else None
    return tuple((k, None) for k in keys if k != skip)


def rbac_exec_targets(fb: FactBase, wf: Holder | None) -> tuple[Target, ...]:
    """Containers of the workloads in namespaces where the ServiceAccount may exec/attach."""
    return _running_containers(_in_namespaces(fb, _scope(wf, ("exec",))), wf)


def rbac_patch_targets(fb: FactBase, wf: Holder | None) -> tuple[Target, ...]:
    """Containers of the workloads in namespaces where the ServiceAccount may patch workloads."""
    return _running_containers(_in_namespaces(fb, _scope(wf, ("patch_workloads",))), wf)


def rbac_ephemeral_targets(fb: FactBase, wf: Holder | None) -> tuple[Target, ...]:
    """Containers of the workloads in namespaces where the ServiceAccount may add
    ephemeral containers to pods."""
    return _running_containers(_in_namespaces(fb, _scope(wf, ("ephemeral_containers",))), wf)


def every_running_container(fb: FactBase, wf: Holder | None) -> tuple[Target, ...]:
    """Every running container of every other workload (kubelet API, admission webhooks)."""
    return _running_containers(list(fb.workloads), wf)


def node_workload_tokens(fb: FactBase, wf: Holder | None) -> tuple[Target, ...]:
    """Every workload whose token is mounted (any workload may share the node)."""
    skip = wf.key if wf is not None else None
    return tuple((k, None) for k in fb.token_holders if k != skip)


def deploy_namespace_tokens(fb: FactBase, wf: Holder | None) -> tuple[Target, ...]:
    """Every identity in the namespaces where the ServiceAccount may create pods: the
    workloads' and every other ServiceAccount's (a new pod may name any of them)."""
    if wf is None:
        return ()
    return _identities_in(fb, _scope(wf, _CREATE_RIGHTS), wf)


def token_request_targets(fb: FactBase, wf: Holder | None) -> tuple[Target, ...]:
    """Every identity in the namespaces where the ServiceAccount may create
    ``serviceaccounts/token`` (a TokenRequest mints a token for any of them)."""
    if wf is None:
        return ()
    return _identities_in(fb, _scope(wf, ("create_tokens",)), wf)


def impersonation_targets(fb: FactBase, wf: Holder | None) -> tuple[Target, ...]:
    """Every identity in the namespaces where the ServiceAccount may impersonate
    ServiceAccounts."""
    if wf is None:
        return ()
    return _identities_in(fb, _scope(wf, ("impersonate_serviceaccounts",)), wf)


RELATIONS: Mapping[str, Relation] = {
    "rbac_exec_targets": rbac_exec_targets,
    "rbac_patch_targets": rbac_patch_targets,
    "rbac_ephemeral_targets": rbac_ephemeral_targets,
    "every_running_container": every_running_container,
    "node_workload_tokens": node_workload_tokens,
    "deploy_namespace_tokens": deploy_namespace_tokens,
    "token_request_targets": token_request_targets,
    "impersonation_targets": impersonation_targets,
}
