"""Named relations that move a step's grants into other workloads.

A step with ``target: <relation>`` grants its states in every scope the relation returns
for the workload the step fires in. Relations read only the fact base.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from attackmap.graph._facts import ALL_NAMESPACES, FactBase, WorkloadFacts

# A target: (workload key, container name or None for the workload scope).
Target = tuple[str, str | None]
Relation = Callable[[FactBase, WorkloadFacts | None], tuple[Target, ...]]


def _in_namespaces(fb: FactBase, namespaces: frozenset[str]) -> list[WorkloadFacts]:
    if ALL_NAMESPACES in namespaces:
        return list(fb.workloads)
    return [w for w in fb.workloads if w.workload.namespace in namespaces]


def _running_containers(
    workloads: list[WorkloadFacts], source: WorkloadFacts | None
) -> tuple[Target, ...]:
    out: list[Target] = []
    for w in workloads:
        if source is not None and w.key == source.key:
            continue
        out.extend((w.key, c.name) for c in w.containers if c.kind in ("regular", "sidecar"))
    return tuple(out)


def rbac_exec_targets(fb: FactBase, wf: WorkloadFacts | None) -> tuple[Target, ...]:
    """Containers of the workloads in namespaces where the ServiceAccount may exec/attach."""
    if wf is None:
        return ()
    return _running_containers(_in_namespaces(fb, wf.rbac_scope.get("exec", frozenset())), wf)


def rbac_patch_targets(fb: FactBase, wf: WorkloadFacts | None) -> tuple[Target, ...]:
    """Containers of the workloads in namespaces where the ServiceAccount may patch workloads."""
    if wf is None:
        return ()
    scope = wf.rbac_scope.get("patch_workloads", frozenset())
    return _running_containers(_in_namespaces(fb, scope), wf)


def node_workload_tokens(fb: FactBase, wf: WorkloadFacts | None) -> tuple[Target, ...]:
    """Every workload whose token is mounted (any workload may share the node)."""
    return tuple(
        (w.key, None)
        for w in fb.workloads
        if "sa_token" in w.pod and (wf is None or w.key != wf.key)
    )


def deploy_namespace_tokens(fb: FactBase, wf: WorkloadFacts | None) -> tuple[Target, ...]:
    """Every workload identity in the namespaces where the ServiceAccount may create pods."""
    if wf is None:
        return ()
    scope: frozenset[str] = frozenset()
    for right in ("create_pods", "create_workloads", "create_jobs"):
        scope |= wf.rbac_scope.get(right, frozenset())
    return tuple((w.key, None) for w in _in_namespaces(fb, scope) if w.key != wf.key)


RELATIONS: Mapping[str, Relation] = {
    "rbac_exec_targets": rbac_exec_targets,
    "rbac_patch_targets": rbac_patch_targets,
    "node_workload_tokens": node_workload_tokens,
    "deploy_namespace_tokens": deploy_namespace_tokens,
}
