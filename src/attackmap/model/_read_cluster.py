"""Readers of PersistentVolumeClaims, PersistentVolumes and RuntimeClasses (the records
are in ``_objects.py``), imported by the loader with the first such object it reads (see
``_read_exposure.py``)."""

from typing import Any

from pydantic.alias_generators import to_snake

from attackmap.model._k8s import K8s, Quantity, StrList
from attackmap.model._objects import PersistentVolume, PersistentVolumeClaim, RuntimeClass
from attackmap.model._refs import ObjectRef, SourceLocation


class _K8sPVCResources(K8s):
    requests: dict[str, Quantity] | None = None


class _K8sPVCSpec(K8s):
    access_modes: StrList = None
    volume_name: str | None = None
    storage_class_name: str | None = None
    resources: _K8sPVCResources | None = None


class _K8sPVC(K8s):
    spec: _K8sPVCSpec | None = None


def parse_pvc(ref: ObjectRef, raw: dict[str, Any], source: SourceLocation) -> PersistentVolumeClaim:
    spec = _K8sPVC.model_validate(raw).spec or _K8sPVCSpec()
    requests = spec.resources.requests if spec.resources is not None else None
    storage = (requests or {}).get("storage")
    return PersistentVolumeClaim(
        ref=ref,
        access_modes=tuple(spec.access_modes or ()),
        volume_name=spec.volume_name or None,
        storage_class=spec.storage_class_name,
        storage=str(storage) if storage is not None else None,
        source=source,
    )


_PV_BACKINGS = (
    "hostPath",
    "local",
    "nfs",
    "csi",
    "awsElasticBlockStore",
    "gcePersistentDisk",
    "azureDisk",
    "azureFile",
    "cephfs",
    "rbd",
    "iscsi",
    "fc",
    "glusterfs",
    "cinder",
    "portworxVolume",
    "vsphereVolume",
)


class _K8sPVSource(K8s):
    """The fields of a PV source attackmap reads (each where that source has them)."""

    path: str | None = None
    server: str | None = None
    driver: str | None = None


class _K8sClaimRef(K8s):
    name: str | None = None
    namespace: str | None = None


class _K8sPVSpec(K8s):
    access_modes: StrList = None
    claim_ref: _K8sClaimRef | None = None
    storage_class_name: str | None = None
    # the backings (_PV_BACKINGS); the first one present is the PV's source
    host_path: _K8sPVSource | None = None
    local: _K8sPVSource | None = None
    nfs: _K8sPVSource | None = None
    csi: _K8sPVSource | None = None
    aws_elastic_block_store: _K8sPVSource | None = None
    gce_persistent_disk: _K8sPVSource | None = None
    azure_disk: _K8sPVSource | None = None
    azure_file: _K8sPVSource | None = None
    cephfs: _K8sPVSource | None = None
    rbd: _K8sPVSource | None = None
    iscsi: _K8sPVSource | None = None
    fc: _K8sPVSource | None = None
    glusterfs: _K8sPVSource | None = None
    cinder: _K8sPVSource | None = None
    portworx_volume: _K8sPVSource | None = None
    vsphere_volume: _K8sPVSource | None = None


class _K8sPV(K8s):
    spec: _K8sPVSpec | None = None


def parse_pv(ref: ObjectRef, raw: dict[str, Any], source: SourceLocation) -> PersistentVolume:
    spec = _K8sPV.model_validate(raw).spec or _K8sPVSpec()
    backing = next((b for b in _PV_BACKINGS if getattr(spec, to_snake(b)) is not None), None)
    body: _K8sPVSource | None = getattr(spec, to_snake(backing)) if backing else None
    claim = spec.claim_ref
    claim_ref = None
    if claim is not None and claim.name is not None:
        claim_ref = ObjectRef(
            kind="PersistentVolumeClaim", namespace=claim.namespace or "default", name=claim.name
        )
    return PersistentVolume(
        ref=ref,
        access_modes=tuple(spec.access_modes or ()),
        backing=backing,
        path=body.path if body is not None else None,
        server=body.server if body is not None else None,
        driver=body.driver if body is not None else None,
        claim=claim_ref,
        storage_class=spec.storage_class_name,
        source=source,
    )


class _K8sRuntimeClass(K8s):
    handler: str | None = None


def parse_runtime_class(
    ref: ObjectRef, raw: dict[str, Any], source: SourceLocation
) -> RuntimeClass:
    return RuntimeClass(
        ref=ref, handler=_K8sRuntimeClass.model_validate(raw).handler, source=source
    )
