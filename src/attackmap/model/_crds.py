"""Custom resources that produce pods, rendered the way their operators render them.

* ``NIMService`` (``apps.nvidia.com``): rendered as the NIM Operator does (standalone
  platform; see docs/model.md and ../shared/reference/DOMAIN.md §4): per-service
  ServiceAccount + Role + RoleBinding, a Deployment (a LeaderWorkerSet with ``leader`` and
  ``worker`` components when ``multiNode`` is set) whose pod runs as ``userID``/``groupID``
  (1000/2000), no container securityContext, ``dshm`` Memory emptyDir, model store at
  ``/model-store``, ``NGC_API_KEY`` from ``authSecret``, ports api/grpc/metrics, a Service
  of ``expose.service.type`` and an Ingress / HTTPRoute / GRPCRoute from ``expose``.
* ``NIMCache``: its caching Job (model puller with the NGC/HF credential, writing the PVC).
* ``LeaderWorkerSet``: two workloads, components ``leader`` (only when a
  ``leaderTemplate`` is given) and ``worker``.
* ``MPIJob`` (Kubeflow): one workload per ``mpiReplicaSpecs`` entry (``launcher``, ``worker``).
* KServe ``InferenceService``: the predictor pod — its own containers, or the
  ``ServingRuntime``/``ClusterServingRuntime`` it names (or whose model format it uses)
  with the model's resources/env merged into ``kserve-container``; ``pvc://`` storage is
  mounted read-only at ``/mnt/models``. Serving runtimes alone are templates: they are
  listed in ``skipped`` and analysed through the InferenceServices using them.

The workload's identity is the custom resource (``NIMService/nim/llama``); the objects the
operator would create are listed in ``Workload.rendered`` and join the inventory's context
objects (an explicit manifest of the same object wins).
"""

from __future__ import annotations

import copy
from typing import Any

from attackmap.model._k8s import type_name
from attackmap.model._kinds import (
    Extracted,
    Extractor,
    KindError,
    Lookup,
    TemplateSpec,
    dig,
    replicas_of,
)
from attackmap.model._refs import ObjectRef

__all__ = ["CRD_KINDS", "RUNTIME_KINDS", "check_runtime"]

NIM_GROUP = "apps.nvidia.com"
RUNTIME_KINDS = frozenset({"ServingRuntime", "ClusterServingRuntime"})


def _meta(
    name: str, ns: str | None, labels: dict[str, str], annotations: dict[str, str] | None = None
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": ns, "labels": dict(labels)}
    if annotations:
        meta["annotations"] = dict(annotations)
    return meta


def _mapping(obj: dict[str, Any], *parts: str) -> dict[str, Any]:
    value = dig(obj, *parts)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise KindError(parts, f"expected a mapping, got {type(value).__name__}")
    return value


_EXPECTED: dict[type, str] = {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean"}


def _typed(obj: Any, at: tuple[str | int, ...], *parts: str | int, expected: type) -> Any:
    """``obj.<parts>``, ``None`` when absent; a value of another type is an error at its
    field, named from the document root by ``at`` (``spec.predictor.model.runtime``),
    never read as absent."""
    value = dig(obj, *parts)
    if value is not None and not isinstance(value, expected):
        raise KindError((*at, *parts), f"expected {_EXPECTED[expected]}, got {type_name(value)}")
    return value


def _spec(spec: dict[str, Any], *parts: str | int, expected: type) -> Any:
    """``spec.<parts>`` of a custom resource (see :func:`_typed`)."""
    return _typed(spec, ("spec",), *parts, expected=expected)


def _maps(obj: Any, at: tuple[str | int, ...], *parts: str | int) -> list[dict[str, Any]]:
    """A list of mappings (containers, volumes) at ``obj.<parts>``; ``[]`` when absent. A
    non-list or a non-mapping item is an error at its field, never silently dropped."""
    items: list[Any] = _typed(obj, at, *parts, expected=list) or []
    for i, item in enumerate(items):
        _typed(item, (*at, *parts, i), expected=dict)
    return items


def _spec_mapping(spec: dict[str, Any], *parts: str | int) -> dict[str, Any]:
    value: dict[str, Any] = _spec(spec, *parts, expected=dict) or {}
    return value


def _image(spec: dict[str, Any]) -> str:
    image = spec.get("image")
    if isinstance(image, str):
        return image
    if not isinstance(image, dict) or not isinstance(image.get("repository"), str):
        raise KindError(("spec", "image", "repository"), "required field missing")
    tag = image.get("tag")
    return f"{image['repository']}:{tag}" if tag is not None else str(image["repository"])


def _int(
    obj: dict[str, Any], *parts: str, default: int | None, at: tuple[str | int, ...] = ()
) -> int | None:
    """An integer field (``None``/absent → ``default``); ``at`` names ``obj`` from the
    document root for the error (``("spec",)`` when ``obj`` is the spec)."""
    try:
        return replicas_of(obj, *parts, default=default)
    except KindError as e:
        raise KindError((*at, *e.parts), e.message) from None


# --------------------------------------------------------------------------- NIMService


def _nim_service(obj: dict[str, Any], kind: str, ns: str | None, lookup: Lookup) -> Extracted:
    name: str = obj["metadata"]["name"]
    spec = _mapping(obj, "spec")
    if not spec:
        raise KindError(("spec",), "required field missing")
    image = _image(spec)
    pull_secrets = [s for s in dig(spec, "image", "pullSecrets") or () if isinstance(s, str)]
    labels = {
        "app": name,
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/instance": name,
        "app.kubernetes.io/part-of": "nim-service",
        "app.kubernetes.io/managed-by": "k8s-nim-operator",
        **{str(k): str(v) for k, v in _spec_mapping(spec, "labels").items()},
    }
    annotations = {str(k): str(v) for k, v in _spec_mapping(spec, "annotations").items()}
    _spec(spec, "expose", expected=dict)
    service = _spec_mapping(spec, "expose", "service")
    port = _int(spec, "expose", "service", "port", default=8000, at=("spec",))
    grpc = _int(spec, "expose", "service", "grpcPort", default=None, at=("spec",))
    metrics = _int(spec, "expose", "service", "metricsPort", default=None, at=("spec",))
    ports: list[dict[str, Any]] = [{"name": "api", "containerPort": port, "protocol": "TCP"}]
    env: list[dict[str, Any]] = [
        {"name": "NIM_CACHE_PATH", "value": "/model-store"},
        {"name": "OUTLINES_CACHE_DIR", "value": "/tmp/outlines"},
        {"name": "NIM_SERVER_PORT", "value": str(port)},
        {"name": "NIM_HTTP_API_PORT", "value": str(port)},
        {"name": "NIM_JSONL_LOGGING", "value": "1"},
        {"name": "NIM_LOG_LEVEL", "value": "INFO"},
    ]
    auth = _spec(spec, "authSecret", expected=str)
    if auth:
        env.append(
            {
                "name": "NGC_API_KEY",
                "valueFrom": {"secretKeyRef": {"name": auth, "key": "NGC_API_KEY"}},
            }
        )
    if grpc:
        ports.append({"name": "grpc", "containerPort": grpc, "protocol": "TCP"})
        env += [
            {"name": "NIM_GRPC_API_PORT", "value": str(grpc)},
            {"name": "NIM_TRITON_GRPC_PORT", "value": str(grpc)},
        ]
    if metrics:
        ports.append({"name": "metrics", "containerPort": metrics, "protocol": "TCP"})
        env.append({"name": "NIM_TRITON_METRICS_PORT", "value": str(metrics)})
    for i, e in enumerate(_spec(spec, "env", expected=list) or ()):
        if not isinstance(e, dict):
            raise KindError(("spec", "env", i), f"expected a mapping, got {type_name(e)}")
        env.append(e)

    storage = _spec_mapping(spec, "storage")
    read_only = _spec(spec, "storage", "readOnly", expected=bool) is True
    nim_cache = _spec(spec, "storage", "nimCache", expected=dict)
    pvc_spec = _spec(spec, "storage", "pvc", expected=dict)
    host_path = _spec(spec, "storage", "hostPath", expected=str)
    empty_dir = _spec(spec, "storage", "emptyDir", expected=dict)
    model_volume: dict[str, Any] = {"name": "model-store"}
    scc = "nonroot"
    rendered_objects: list[dict[str, Any]] = []
    if nim_cache is not None:
        cache_name = nim_cache.get("name")
        cache = lookup.get(("NIMCache", ns, str(cache_name)))
        claim = dig(cache, "spec", "storage", "pvc", "name") if cache else None
        model_volume["persistentVolumeClaim"] = {
            "claimName": claim or f"{cache_name}-pvc",
            "readOnly": read_only,
        }
    elif pvc_spec is not None:
        pvc = pvc_spec
        claim = pvc.get("name") or f"{name}-pvc"
        model_volume["persistentVolumeClaim"] = {"claimName": claim, "readOnly": read_only}
        if pvc.get("create"):
            rendered_objects.append(_pvc(str(claim), ns, labels, pvc))
    elif host_path is not None:
        model_volume["hostPath"] = {"path": host_path, "type": "DirectoryOrCreate"}
        scc = "hostmount-anyuid"
    elif empty_dir is not None:
        model_volume["emptyDir"] = {k: v for k, v in empty_dir.items() if k == "sizeLimit"}
    else:
        model_volume["emptyDir"] = {}
    dshm: dict[str, Any] = {"medium": "Memory"}
    if storage.get("sharedMemorySizeLimit") is not None:
        dshm["sizeLimit"] = storage["sharedMemorySizeLimit"]

    container: dict[str, Any] = {
        "name": f"{name}-ctr",
        "image": image,
        "ports": ports,
        "env": env,
        "volumeMounts": [
            {"name": "model-store", "mountPath": "/model-store", "readOnly": read_only},
            {"name": "dshm", "mountPath": "/dev/shm"},
        ],
        "livenessProbe": {"httpGet": {"path": "/v1/health/live", "port": "api"}},
        "readinessProbe": {"httpGet": {"path": "/v1/health/ready", "port": "api"}},
        "startupProbe": {"httpGet": {"path": "/v1/health/ready", "port": "api"}},
    }
    for key in ("command", "args"):
        if spec.get(key) is not None:
            container[key] = spec[key]
    if spec.get("resources") is not None:
        container["resources"] = copy.deepcopy(spec["resources"])
    user = _int(spec, "userID", default=1000, at=("spec",))
    group = _int(spec, "groupID", default=2000, at=("spec",))
    pod_spec: dict[str, Any] = {
        "serviceAccountName": name,
        "containers": [container],
        "volumes": [{"name": "dshm", "emptyDir": dshm}, model_volume],
        "securityContext": {"runAsUser": user, "runAsGroup": group, "fsGroup": group},
    }
    if pull_secrets:
        pod_spec["imagePullSecrets"] = [{"name": s} for s in pull_secrets]
    for key in ("runtimeClassName", "nodeSelector", "tolerations", "affinity", "schedulerName"):
        if spec.get(key) is not None:
            pod_spec[key] = spec[key]
    claims = [c for c in spec.get("draResources") or () if isinstance(c, dict)]
    if claims:
        names = [
            str(c.get("resourceClaimName") or c.get("resourceClaimTemplateName") or f"claim-{i}")
            for i, c in enumerate(claims)
        ]
        pod_spec["resourceClaims"] = [{"name": n} for n in names]
        container.setdefault("resources", {})["claims"] = [{"name": n} for n in names]

    ref = ObjectRef(kind=kind, namespace=ns, name=name)
    service_type = service.get("type") or "ClusterIP"
    service_ports = [
        {"name": p["name"], "port": p["containerPort"], "targetPort": p["name"], "protocol": "TCP"}
        for p in ports
    ]
    rendered_objects += [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta(name, ns, labels)},
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": _meta(name, ns, labels),
            "rules": [
                {
                    "apiGroups": ["security.openshift.io"],
                    "resources": ["securitycontextconstraints"],
                    "resourceNames": [scc],
                    "verbs": ["use"],
                }
            ],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": _meta(name, ns, labels),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
            "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": ns}],
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": _meta(name, ns, labels),
            "spec": {"type": service_type, "selector": {"app": name}, "ports": service_ports},
        },
    ]
    rendered_objects += _nim_routes(name, ns, labels, spec, port or 8000, grpc)
    template = {"metadata": {"labels": labels, "annotations": annotations}, "spec": pod_spec}
    replicas = _int(spec, "replicas", default=1, at=("spec",))
    multi = _spec(spec, "multiNode", expected=dict)
    templates: list[TemplateSpec] = []
    if multi is not None:
        ssh = f"{name}-ssh-pk"
        lws_spec = copy.deepcopy(pod_spec)
        lws_spec["volumes"].append({"name": "ssh-pk", "secret": {"secretName": ssh}})
        lws_spec["containers"][0]["volumeMounts"].append(
            {"name": "ssh-pk", "mountPath": "/ssh-pk", "readOnly": True}
        )
        rendered_objects.append(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": _meta(ssh, ns, labels),
                "type": "Opaque",
                "data": {"private.key": "<generated>"},
            }
        )
        lws = ObjectRef(kind="LeaderWorkerSet", namespace=ns, name=name)
        for component in ("leader", "worker"):
            t = {"metadata": copy.deepcopy(template["metadata"]), "spec": copy.deepcopy(lws_spec)}
            t["metadata"]["labels"]["nim-llm-role"] = component
            templates.append(
                TemplateSpec(
                    ObjectRef(kind=kind, namespace=ns, name=name, component=component),
                    t,
                    ("spec",),
                    (ref, lws),
                    replicas,
                )
            )
        workload_ref = lws
    else:
        workload_ref = ObjectRef(kind="Deployment", namespace=ns, name=name)
        templates.append(
            TemplateSpec(
                ref,
                template,
                ("spec",),
                (ref, workload_ref, ObjectRef(kind="ReplicaSet", namespace=ns, name=name)),
                replicas,
            )
        )
    rendered = tuple(
        sorted(
            {
                ObjectRef(kind=o["kind"], namespace=ns, name=o["metadata"]["name"])
                for o in rendered_objects
            }
            | {workload_ref},
            key=ObjectRef.sort_key,
        )
    )
    return Extracted(
        [
            TemplateSpec(t.ref, t.template, t.field_path, t.owner_chain, t.replicas, rendered)
            for t in templates
        ],
        rendered_objects,
    )


def _pvc(name: str, ns: str | None, labels: dict[str, str], pvc: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = {"accessModes": [pvc.get("volumeAccessMode") or "ReadWriteOnce"]}
    if pvc.get("storageClass"):
        spec["storageClassName"] = pvc["storageClass"]
    if pvc.get("size"):
        spec["resources"] = {"requests": {"storage": pvc["size"]}}
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": _meta(name, ns, labels),
        "spec": spec,
    }


def _nim_routes(
    name: str,
    ns: str | None,
    labels: dict[str, str],
    spec: dict[str, Any],
    port: int,
    grpc: int | None,
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    backend = {"service": {"name": name, "port": {"number": port}}}
    ingress = _spec(spec, "expose", "ingress", expected=dict)
    if ingress is not None and _spec(spec, "expose", "ingress", "enabled", expected=bool):
        ing_spec = (
            ingress.get("spec")
            if isinstance(ingress.get("spec"), dict)
            else {
                "rules": [
                    {"http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": backend}]}}
                ]
            }
        )
        out.append(
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "Ingress",
                "metadata": _meta(name, ns, labels),
                "spec": copy.deepcopy(ing_spec),
            }
        )
    at = ("expose", "router") if dig(spec, "expose", "router") is not None else ("router",)
    router = _spec(spec, *at, expected=dict)
    if router is not None:
        _spec(spec, *at, "ingress", expected=dict)
        _spec(spec, *at, "gateway", expected=dict)
        domain = router.get("hostDomainName")
        host = f"{name}.{ns}.{domain}" if domain else None
        if isinstance(router.get("ingress"), dict) and not any(o["kind"] == "Ingress" for o in out):
            rule: dict[str, Any] = {
                "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": backend}]}
            }
            if host:
                rule["host"] = host
            out.append(
                {
                    "apiVersion": "networking.k8s.io/v1",
                    "kind": "Ingress",
                    "metadata": _meta(name, ns, labels),
                    "spec": {
                        "ingressClassName": router["ingress"].get("ingressClass"),
                        "rules": [rule],
                    },
                }
            )
        gateway = router.get("gateway")
        if isinstance(gateway, dict):
            parent = {"name": gateway.get("name"), "namespace": gateway.get("namespace")}
            hostnames = [host] if host else []
            if gateway.get("httpRoutesEnabled"):
                out.append(
                    {
                        "apiVersion": "gateway.networking.k8s.io/v1",
                        "kind": "HTTPRoute",
                        "metadata": _meta(name, ns, labels),
                        "spec": {
                            "parentRefs": [parent],
                            "hostnames": hostnames,
                            "rules": [{"backendRefs": [{"name": name, "port": port}]}],
                        },
                    }
                )
            if gateway.get("grpcRoutesEnabled"):
                out.append(
                    {
                        "apiVersion": "gateway.networking.k8s.io/v1",
                        "kind": "GRPCRoute",
                        "metadata": _meta(name, ns, labels),
                        "spec": {
                            "parentRefs": [parent],
                            "hostnames": hostnames,
                            "rules": [{"backendRefs": [{"name": name, "port": grpc or port}]}],
                        },
                    }
                )
    return out


# --------------------------------------------------------------------------- NIMCache


def _nim_cache(obj: dict[str, Any], kind: str, ns: str | None, lookup: Lookup) -> Extracted:
    name: str = obj["metadata"]["name"]
    spec = _mapping(obj, "spec")
    _spec(spec, "source", expected=dict)
    env: list[dict[str, Any]] = [{"name": "NIM_CACHE_PATH", "value": "/model-store"}]
    image: str | None = None
    pull_secret = None
    for key, variable in (
        ("ngc", "NGC_API_KEY"),
        ("hf", "HF_TOKEN"),
        ("nemoDataStore", "HF_TOKEN"),
        ("dataStore", "HF_TOKEN"),
    ):
        if _spec(spec, "source", key, expected=dict) is None:
            continue
        image = _spec(spec, "source", key, "modelPuller", expected=str) or image
        pull_secret = _spec(spec, "source", key, "pullSecret", expected=str)
        auth = _spec(spec, "source", key, "authSecret", expected=str)
        if auth:
            env.append(
                {
                    "name": variable,
                    "valueFrom": {"secretKeyRef": {"name": auth, "key": variable}},
                }
            )
        break
    _spec(spec, "storage", expected=dict)
    pvc = _spec_mapping(spec, "storage", "pvc")
    claim = _spec(spec, "storage", "pvc", "name", expected=str) or f"{name}-pvc"
    _spec(spec, "storage", "pvc", "create", expected=bool)
    resources = _spec(spec, "resources", expected=dict)
    labels = {
        "app.kubernetes.io/name": f"{name}-job",
        "app.kubernetes.io/managed-by": "k8s-nim-operator",
    }
    pod_spec: dict[str, Any] = {
        "containers": [
            {
                "name": "nim-cache-ctr",
                "image": image or "nvcr.io/nim/model-puller",
                "env": env,
                "volumeMounts": [{"name": "nim-cache-volume", "mountPath": "/model-store"}],
                **({"resources": copy.deepcopy(resources)} if resources is not None else {}),
            }
        ],
        "restartPolicy": "OnFailure",
        "volumes": [{"name": "nim-cache-volume", "persistentVolumeClaim": {"claimName": claim}}],
        "securityContext": {
            "runAsUser": _int(spec, "userID", default=1000, at=("spec",)),
            "runAsGroup": _int(spec, "groupID", default=2000, at=("spec",)),
            "fsGroup": _int(spec, "groupID", default=2000, at=("spec",)),
        },
    }
    if pull_secret:
        pod_spec["imagePullSecrets"] = [{"name": pull_secret}]
    for key in ("nodeSelector", "tolerations", "runtimeClassName"):
        if spec.get(key) is not None:
            pod_spec[key] = spec[key]
    objects = [_pvc(claim, ns, labels, pvc)] if pvc.get("create") else []
    ref = ObjectRef(kind=kind, namespace=ns, name=name)
    job = ObjectRef(kind="Job", namespace=ns, name=f"{name}-job")
    rendered = tuple(
        sorted(
            {job}
            | {
                ObjectRef(kind=o["kind"], namespace=ns, name=o["metadata"]["name"]) for o in objects
            },
            key=ObjectRef.sort_key,
        )
    )
    template = {"metadata": {"labels": labels}, "spec": pod_spec}
    return Extracted([TemplateSpec(ref, template, ("spec",), (ref, job), 1, rendered)], objects)


# --------------------------------------------------------------------------- LWS / MPIJob


def _lws(obj: dict[str, Any], kind: str, ns: str | None, lookup: Lookup) -> Extracted:
    name: str = obj["metadata"]["name"]
    lwt = _mapping(obj, "spec", "leaderWorkerTemplate")
    at = ("spec", "leaderWorkerTemplate")
    worker = _typed(lwt, at, "workerTemplate", expected=dict)
    if worker is None:
        raise KindError((*at, "workerTemplate"), "required field missing")
    leader = _typed(lwt, at, "leaderTemplate", expected=dict)
    groups = _int(obj, "spec", "replicas", default=1) or 0
    size = _int(obj, "spec", "leaderWorkerTemplate", "size", default=1) or 1
    ref = ObjectRef(kind=kind, namespace=ns, name=name)
    out = []
    if leader is not None:
        out.append(
            TemplateSpec(
                ObjectRef(kind=kind, namespace=ns, name=name, component="leader"),
                leader,
                ("spec", "leaderWorkerTemplate", "leaderTemplate"),
                (ref,),
                groups,
            )
        )
        workers = groups * (size - 1)
    else:
        workers = groups * size
    out.append(
        TemplateSpec(
            ObjectRef(kind=kind, namespace=ns, name=name, component="worker"),
            worker,
            ("spec", "leaderWorkerTemplate", "workerTemplate"),
            (ref,),
            workers,
        )
    )
    return Extracted(out)


def _mpijob(obj: dict[str, Any], kind: str, ns: str | None, lookup: Lookup) -> Extracted:
    name: str = obj["metadata"]["name"]
    specs = _mapping(obj, "spec", "mpiReplicaSpecs")
    if not specs:
        raise KindError(("spec", "mpiReplicaSpecs"), "required field missing")
    ref = ObjectRef(kind=kind, namespace=ns, name=name)
    out = []
    for role in sorted(specs):
        at = ("spec", "mpiReplicaSpecs", role)
        body = _typed(specs, at[:-1], role, expected=dict)
        if body is None or _typed(body, at, "template", expected=dict) is None:
            raise KindError((*at, "template"), "required field missing")
        replicas = _int(body, "replicas", default=1, at=at)
        out.append(
            TemplateSpec(
                ObjectRef(kind=kind, namespace=ns, name=name, component=role.lower()),
                body["template"],
                ("spec", "mpiReplicaSpecs", role, "template"),
                (ref,),
                replicas,
            )
        )
    return Extracted(out)


# --------------------------------------------------------------------------- KServe

_PREDICTOR_NOT_POD = {
    "model",
    "minReplicas",
    "maxReplicas",
    "scaleTarget",
    "scaleMetric",
    "containerConcurrency",
    "timeout",
    "canaryTrafficPercent",
    "logger",
    "batcher",
    "labels",
    "annotations",
    "deploymentStrategy",
    "autoScaling",
    "workerSpec",
}
_MODEL_NOT_CONTAINER = {"modelFormat", "runtime", "storageUri", "protocolVersion", "storage"}


def check_runtime(obj: dict[str, Any]) -> None:
    """A (Cluster)ServingRuntime is read only through the InferenceServices that use it;
    its pod-shaping fields are checked when it is read, so an error names its own file,
    line and field (not the InferenceService's), and nothing of it is silently dropped."""
    spec = _mapping(obj, "spec")
    _maps(spec, ("spec",), "containers")
    _maps(spec, ("spec",), "volumes")
    for i in range(len(_maps(spec, ("spec",), "supportedModelFormats"))):
        _spec(spec, "supportedModelFormats", i, "name", expected=str)


def _find_runtime(model: dict[str, Any], ns: str | None, lookup: Lookup) -> dict[str, Any] | None:
    name = model.get("runtime")
    if isinstance(name, str):
        return lookup.get(("ServingRuntime", ns, name)) or lookup.get(
            ("ClusterServingRuntime", None, name)
        )
    fmt = dig(model, "modelFormat", "name")
    candidates = sorted(
        (k for k, v in lookup.items() if k[0] in RUNTIME_KINDS and k[1] in (ns, None)
         and any(isinstance(f, dict) and f.get("name") == fmt for f in dig(v, "spec", "supportedModelFormats") or ())),
        key=lambda k: (k[0] != "ServingRuntime", k[2]),
    )  # fmt: skip
    return lookup[candidates[0]] if candidates else None


def _inference_service(obj: dict[str, Any], kind: str, ns: str | None, lookup: Lookup) -> Extracted:
    name: str = obj["metadata"]["name"]
    predictor = _mapping(obj, "spec", "predictor")
    if not predictor:
        raise KindError(("spec", "predictor"), "required field missing")
    at = ("spec", "predictor")
    _maps(predictor, at, "containers")
    _maps(predictor, at, "volumes")
    model = _typed(predictor, at, "model", expected=dict)
    pod = {k: copy.deepcopy(v) for k, v in predictor.items() if k not in _PREDICTOR_NOT_POD}
    if model is not None:
        at_model = (*at, "model")
        for key, expected in (("runtime", str), ("storageUri", str), ("env", list)):
            _typed(model, at_model, key, expected=expected)
        _typed(model, at_model, "modelFormat", expected=dict)
        _typed(model, at_model, "modelFormat", "name", expected=str)
        runtime = _find_runtime(model, ns, lookup)
        rspec = copy.deepcopy(dig(runtime, "spec") or {}) if runtime else {}
        containers = rspec.get("containers") or []  # checked when the runtime was read
        if not containers:
            containers = [
                {
                    "name": "kserve-container",
                    "image": model.get("image") or "<runtime not in input>",
                }
            ]
        main = next((c for c in containers if c.get("name") == "kserve-container"), containers[0])
        for key, value in model.items():
            if key in _MODEL_NOT_CONTAINER:
                continue
            if key == "env":
                main["env"] = [*(main.get("env") or []), *copy.deepcopy(value)]
            else:
                main[key] = copy.deepcopy(value)
        uri = model.get("storageUri")
        volumes = list(rspec.get("volumes") or ())
        if isinstance(uri, str) and uri.startswith("pvc://"):
            claim = uri[6:].split("/", 1)[0]
            volumes.append(
                {
                    "name": "kserve-pvc-source",
                    "persistentVolumeClaim": {"claimName": claim, "readOnly": True},
                }
            )
            main["volumeMounts"] = [
                *(main.get("volumeMounts") or []),
                {"name": "kserve-pvc-source", "mountPath": "/mnt/models", "readOnly": True},
            ]
        base = {
            k: v
            for k, v in rspec.items()
            if k
            not in (
                "containers",
                "volumes",
                "supportedModelFormats",
                "protocolVersions",
                "annotations",
                "labels",
                "multiModel",
                "disabled",
                "builtInAdapter",
            )
        }
        pod = {**base, **pod, "containers": containers}
        if volumes or pod.get("volumes"):
            pod["volumes"] = volumes + list(pod.get("volumes") or ())
    elif not isinstance(pod.get("containers"), list):
        raise KindError(
            ("spec", "predictor", "model"), "required field missing (or predictor.containers)"
        )
    annotations = {
        **_mapping(obj, "metadata", "annotations"),
        **(_typed(predictor, at, "annotations", expected=dict) or {}),
    }
    labels = {
        "serving.kserve.io/inferenceservice": name,
        **(_typed(predictor, at, "labels", expected=dict) or {}),
    }
    ref = ObjectRef(kind=kind, namespace=ns, name=name)
    deploy = ObjectRef(kind="Deployment", namespace=ns, name=f"{name}-predictor")
    template = {"metadata": {"labels": labels, "annotations": annotations}, "spec": pod}
    replicas = _int(predictor, "minReplicas", default=1, at=at)
    return Extracted(
        [TemplateSpec(ref, template, ("spec", "predictor"), (ref, deploy), replicas, (deploy,))]
    )


#: kind → (accepted API groups, extractor(obj, kind, namespace, lookup))
CRD_KINDS: dict[str, tuple[frozenset[str], Extractor]] = {
    "NIMService": (frozenset({NIM_GROUP}), _nim_service),
    "NIMCache": (frozenset({NIM_GROUP}), _nim_cache),
    "LeaderWorkerSet": (frozenset({"leaderworkerset.x-k8s.io"}), _lws),
    "MPIJob": (frozenset({"kubeflow.org"}), _mpijob),
    "InferenceService": (frozenset({"serving.kserve.io"}), _inference_service),
}
