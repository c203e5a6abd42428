"""``Inventory``: everything read from the manifests, linked, frozen and sorted."""

from typing import Any

from attackmap.model._calico import CalicoNetworkSet, CalicoPolicy
from attackmap.model._cilium import CiliumPolicy
from attackmap.model._context import ClusterContext
from attackmap.model._objects import (
    ConfigMapMeta,
    Ingress,
    IstioGateway,
    Namespace,
    NetworkPolicy,
    PersistentVolume,
    PersistentVolumeClaim,
    Route,
    RuntimeClass,
    SecretMeta,
    Service,
    ServiceAccount,
    VirtualService,
)
from attackmap.model._rbac import Binding, Role
from attackmap.model._refs import Frozen, LoadWarning, ObjectRef, SkippedObject
from attackmap.model._workload import Workload

__all__ = ["Inventory"]


class Inventory(Frozen):
    """The result of :func:`attackmap.model.load`. Every tuple is sorted by ``ref``.

    ``admission`` holds ``AdmissionConfiguration``/``PodSecurityConfiguration`` documents
    as validated raw mappings; ``virtual_services``/``istio_gateways`` are Istio's
    exposure, ``cilium_policies``/``calico_policies`` (with ``calico_network_sets``) the
    CNI network policies (``_cilium.py``, ``_calico.py``); ``warnings`` lists dangling references (with locations);
    ``skipped`` every document not analysed and why; ``sources`` the inputs read.
    """

    workloads: tuple[Workload, ...] = ()
    services: tuple[Service, ...] = ()
    ingresses: tuple[Ingress, ...] = ()
    routes: tuple[Route, ...] = ()
    network_policies: tuple[NetworkPolicy, ...] = ()
    service_accounts: tuple[ServiceAccount, ...] = ()
    roles: tuple[Role, ...] = ()
    bindings: tuple[Binding, ...] = ()
    namespaces: tuple[Namespace, ...] = ()
    secrets: tuple[SecretMeta, ...] = ()
    configmaps: tuple[ConfigMapMeta, ...] = ()
    pvcs: tuple[PersistentVolumeClaim, ...] = ()
    pvs: tuple[PersistentVolume, ...] = ()
    runtime_classes: tuple[RuntimeClass, ...] = ()
    virtual_services: tuple[VirtualService, ...] = ()
    istio_gateways: tuple[IstioGateway, ...] = ()
    cilium_policies: tuple[CiliumPolicy, ...] = ()
    calico_policies: tuple[CalicoPolicy, ...] = ()
    calico_network_sets: tuple[CalicoNetworkSet, ...] = ()
    admission: tuple[dict[str, Any], ...] = ()
    context: ClusterContext | None = None
    skipped: tuple[SkippedObject, ...] = ()
    warnings: tuple[LoadWarning, ...] = ()
    sources: tuple[str, ...] = ()

    def workload(self, ref: ObjectRef | str) -> Workload | None:
        """The workload with this ref (or its ``str()``), if any."""
        key = str(ref)
        return next((w for w in self.workloads if str(w.ref) == key), None)

    def workloads_in(self, namespace: str) -> tuple[Workload, ...]:
        return tuple(w for w in self.workloads if w.namespace == namespace)

    def workloads_using(self, namespace: str, service_account: str) -> tuple[Workload, ...]:
        """Workloads running as ServiceAccount ``namespace/service_account``."""
        return tuple(
            w
            for w in self.workloads
            if w.namespace == namespace and w.pod.service_account_name == service_account
        )

    def with_workloads(self, workloads: tuple[Workload, ...]) -> "Inventory":
        """A copy with ``workloads`` replaced (sorted), *not* re-linked; see ``relink``."""
        return self.model_copy(
            update={"workloads": tuple(sorted(workloads, key=lambda w: w.ref.sort_key()))}
        )
