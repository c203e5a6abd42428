"""CNI network policies: what Cilium and Calico policies share, in the attacker's terms.

Kubernetes NetworkPolicies are read in ``_read_netpol.py`` and linked in ``_links.py``; the
policies of the two CNIs common on GPU clusters are read in ``_read_cilium.py`` and
``_read_calico.py``, decided in ``_cilium.py`` and ``_calico.py`` (Calico's selector
language in ``_calico_selector.py``) and folded into the
same :class:`~attackmap.model.NetworkIsolation` by ``_links.link``.

Only what decides whether an attacker's position can connect is modelled: *any pod of the
cluster*, *an address outside the cluster*, *some peer* (an ingress controller may be
one), per direction (:class:`Peers` per rule, a :class:`Verdict` per pod). What is not
modelled (L7 rules, FQDNs, cloud groups, CIDR groups, mutual authentication,
``fromRequires``, host policies) is listed in each policy's ``notes`` and becomes a load
warning naming the policy and the field; every such construct is read so that it can only
make a workload look *more* reachable than it is: an allow it cannot narrow counts as
allowing, a deny it cannot evaluate does not count.
"""

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field

from attackmap.model._objects import IPBlock
from attackmap.model._refs import Frozen, ObjectRef, trusted

__all__ = ["EVERYTHING", "Notes", "Peers", "Verdict", "cidr_peers", "union"]


class Peers(Frozen):
    """What one rule matches on the other side of a connection, in the attacker's terms.

    Allow side (over-approximated): ``any_pod`` — every pod of the cluster, or every pod
    but some (an attacker picks the pod); ``external`` — some address outside the
    cluster; ``peer`` — some source at all. Deny side (under-approximated): ``every_pod``,
    ``every_external`` — certainly all of them, on every port (``all_ports``)."""

    any_pod: bool = False
    external: bool = False
    peer: bool = False
    every_pod: bool = False
    every_external: bool = False
    all_ports: bool = True
    text: str = ""


def union(items: Iterable[Peers], text: str, all_ports: bool) -> Peers:
    items = list(items)
    return Peers(
        any_pod=any(p.any_pod for p in items),
        external=any(p.external for p in items),
        peer=any(p.peer for p in items),
        every_pod=any(p.every_pod for p in items),
        every_external=any(p.every_external for p in items),
        all_ports=all_ports,
        text=text,
    )


EVERYTHING = trusted(
    Peers, any_pod=True, external=True, peer=True, every_pod=True, every_external=True
)


@dataclass(slots=True)
class Verdict:
    """One CNI's answer for one pod and direction: whether its policies isolate the pod,
    what they allow (any pod, outside addresses, some peer), what they certainly deny,
    and which policies select the pod."""

    isolated: bool = False
    any_pod: bool = False
    external: bool = False
    peers: set[str] = field(default_factory=set)
    denies_pods: bool = False
    denies_external: bool = False
    policies: set[ObjectRef] = field(default_factory=set)


def cidr_peers(cidrs: Iterable[tuple[str, tuple[str, ...]]]) -> tuple[bool, bool]:
    """(some outside address, every outside address) of CIDRs with their exceptions."""
    external = every = False
    for cidr, excepted in cidrs:
        block = IPBlock(cidr=cidr, except_=excepted)
        if block.external:
            external = True
        try:
            net = ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            continue
        if net.prefixlen == 0 and not excepted:
            every = True
    return external, every


class Notes:
    """Collects, per policy, the parts not modelled (one line each, deduplicated)."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, where: str, what: str) -> None:
        line = f"{where}: {what}"
        if line not in self.items:
            self.items.append(line)
