"""Cilium network policies (``cilium.io``), read as far as L3/L4 reachability goes.

``CiliumNetworkPolicy`` / ``CiliumClusterwideNetworkPolicy``: each rule (``spec`` or an
item of ``specs``) selects endpoints with ``endpointSelector``; a rule with
``ingress``/``ingressDeny`` rules (or ``enableDefaultDeny.ingress: true``) puts the
selected pod in default deny for ingress (an empty list does not). Allow rules add up
(with the Kubernetes NetworkPolicies Cilium also enforces); deny rules take precedence.
See ``_cni.py`` for the attacker's terms and what "not modelled" means. The records and
the verdict are here; ``_read_cilium.py`` reads the objects.
"""

from collections.abc import Callable, Iterable, Mapping

from pydantic import Field

from attackmap.model._cni import Peers, Verdict
from attackmap.model._objects import LabelSelector
from attackmap.model._refs import Frozen, ObjectRef, SourceLocation

__all__ = [
    "CiliumIndex",
    "CiliumPolicy",
    "CiliumRule",
    "cilium_labels",
    "cilium_verdict",
]


#: the labels Cilium gives every endpoint (``cilium_labels``)
_NS_KEY = "io.kubernetes.pod.namespace"
_CILIUM_SA_KEY = "io.cilium.k8s.policy.serviceaccount"
_CILIUM_NS_LABELS = "io.cilium.k8s.namespace.labels."
#: the cluster name (ClusterMesh) is not in the manifests: a selector on it is undecided
_CILIUM_UNKNOWN_KEYS = frozenset({"io.cilium.k8s.policy.cluster"})


class CiliumRule(Frozen):
    """One rule of a Cilium policy, its selector keys normalised (``k8s:app`` → ``app``);
    each ingress/egress entry is the :class:`Peers` it allows or denies. (A host policy's
    rule, ``nodeSelector``, selects nodes, not pods: it is not kept, a note says so.)"""

    endpoint_selector: LabelSelector = Field(default_factory=LabelSelector)
    default_deny_ingress: bool = False
    default_deny_egress: bool = False
    ingress: tuple[Peers, ...] = ()
    ingress_deny: tuple[Peers, ...] = ()
    egress: tuple[Peers, ...] = ()
    egress_deny: tuple[Peers, ...] = ()


class CiliumPolicy(Frozen):
    """A ``CiliumNetworkPolicy`` (its rules select pods of its namespace) or a
    ``CiliumClusterwideNetworkPolicy`` (pods of every namespace). ``notes``: the parts
    attackmap does not model, each with what it assumes instead."""

    ref: ObjectRef
    rules: tuple[CiliumRule, ...] = ()
    notes: tuple[str, ...] = ()
    source: SourceLocation | None = None

    @property
    def clusterwide(self) -> bool:
        return self.ref.kind == "CiliumClusterwideNetworkPolicy"


def _match3(
    sel: LabelSelector, labels: Mapping[str, str], unknown: Callable[[str], bool]
) -> bool | None:
    """``sel.matches(labels)`` with a third answer: ``None`` when a requirement names a
    key whose value the manifests cannot tell (and no other requirement fails)."""
    undecided = False
    for k, v in sel.match_labels.items():
        if unknown(k):
            undecided = True
        elif labels.get(k) != v:
            return False
    for r in sel.match_expressions:
        if unknown(r.key):
            undecided = True
            continue
        value = labels.get(r.key)
        if r.operator == "In":
            ok = value is not None and value in r.values
        elif r.operator == "NotIn":
            ok = value is None or value not in r.values
        elif r.operator in ("Exists", "DoesNotExist"):
            ok = (value is not None) is (r.operator == "Exists")
        else:  # an operator the API server refuses: matches nothing (as LabelSelector)
            ok = False
        if not ok:
            return False
    return None if undecided else True


def cilium_labels(
    labels: Mapping[str, str],
    namespace: str,
    namespace_labels: Mapping[str, str],
    service_account: str,
) -> dict[str, str]:
    """The labels a Cilium endpoint selector sees on a pod: its own, its namespace, its
    ServiceAccount and its namespace's labels."""
    out = dict(labels)
    out[_NS_KEY] = namespace
    out[_CILIUM_SA_KEY] = service_account
    for k, v in namespace_labels.items():
        out[_CILIUM_NS_LABELS + k] = v
    return out


def _cilium_unknown(key: str) -> bool:
    return key in _CILIUM_UNKNOWN_KEYS or (
        ":" in key.split("/")[0] and not key.startswith("reserved:")
    )


class CiliumIndex:
    """The Cilium policies by namespace (clusterwide ones under ``None``), built once per
    link."""

    def __init__(self, policies: Iterable[CiliumPolicy]) -> None:
        self._by_ns: dict[str | None, list[CiliumPolicy]] = {}
        for p in policies:
            self._by_ns.setdefault(None if p.clusterwide else p.ref.namespace, []).append(p)

    def __bool__(self) -> bool:
        return bool(self._by_ns)

    def policies(self, namespace: str) -> list[CiliumPolicy]:
        """The policies whose rules may select a pod of ``namespace``."""
        return [*self._by_ns.get(None, ()), *self._by_ns.get(namespace, ())]


def cilium_verdict(
    index: CiliumIndex, namespace: str, labels: Mapping[str, str]
) -> tuple[Verdict, Verdict]:
    """What the Cilium policies do to a pod (``labels`` from :func:`cilium_labels`):
    (ingress, egress). A rule whose selection cannot be decided (a cluster-name key)
    adds its allows but neither isolates nor denies."""
    ingress, egress = Verdict(), Verdict()
    for policy in index.policies(namespace):
        for rule in policy.rules:
            selected = _match3(rule.endpoint_selector, labels, _cilium_unknown)
            if selected is False:
                continue
            sides = (
                (ingress, rule.default_deny_ingress, rule.ingress, rule.ingress_deny),
                (egress, rule.default_deny_egress, rule.egress, rule.egress_deny),
            )
            for out, default_deny, allows, denies in sides:
                if selected:
                    out.policies.add(policy.ref)
                    out.isolated |= default_deny
                    for p in denies:
                        out.denies_pods |= p.every_pod and p.all_ports
                        out.denies_external |= p.every_external and p.all_ports
                for p in allows:
                    out.any_pod |= p.any_pod
                    out.external |= p.external
                    if p.peer:
                        out.peers.add(f"{policy.ref}: {p.text}")
    return ingress, egress
