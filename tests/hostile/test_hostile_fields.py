"""A wrong type at every security-relevant field: ``AttackmapError`` naming file, line, field.

Each case writes one manifest (the YAML is produced by :mod:`hostile_helpers`, which knows
the line of every field), puts a wrongly typed value at one field the analysis depends
on, and checks that

* ``attackmap.load`` raises :class:`~attackmap.errors.InputError` whose ``path``, ``line``
  and ``field`` point at exactly that field;
* ``attackmap inventory`` exits 2 with ``file:line: field: message`` on stderr, prints no
  traceback and nothing on stdout (no partial result).

A wrong type the API server would reject must never be read as "absent" (a NetworkPolicy
with ``ingress: "x"`` silently read as deny-all would hide a reachable service).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hostile_helpers import FieldPath, emit, field_text, replaced

from attackmap.cli import main
from attackmap.errors import InputError
from attackmap.model import load

CONTAINER: dict[str, Any] = {
    "name": "nim",
    "image": "nvcr.io/nim/meta/llama3:1.0",
    "securityContext": {
        "privileged": False,
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsUser": 1000,
        "runAsNonRoot": True,
        "capabilities": {"add": ["NET_BIND_SERVICE"], "drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
        "appArmorProfile": {"type": "RuntimeDefault"},
        "procMount": "Default",
    },
    "ports": [{"containerPort": 8000, "hostPort": 8000, "protocol": "TCP", "name": "http"}],
    "env": [{"name": "NIM_CACHE_PATH", "value": "/cache"}],
    "envFrom": [{"secretRef": {"name": "ngc-api"}}],
    "volumeMounts": [{"name": "host", "mountPath": "/host", "readOnly": True}],
    "resources": {"limits": {"nvidia.com/gpu": 1, "memory": "16Gi", "cpu": "4"}},
}
POD_SPEC: dict[str, Any] = {
    "hostNetwork": False,
    "hostPID": False,
    "hostIPC": False,
    "shareProcessNamespace": False,
    "hostUsers": True,
    "serviceAccountName": "nim",
    "automountServiceAccountToken": False,
    "runtimeClassName": "nvidia",
    "securityContext": {
        "runAsUser": 1000,
        "runAsNonRoot": True,
        "fsGroup": 2000,
        "seccompProfile": {"type": "RuntimeDefault"},
        "sysctls": [{"name": "net.ipv4.ip_forward", "value": "0"}],
    },
    "volumes": [
        {"name": "host", "hostPath": {"path": "/var/log", "type": "Directory"}},
        {"name": "key", "secret": {"secretName": "ngc-api"}},
        {"name": "model", "persistentVolumeClaim": {"claimName": "model"}},
    ],
    "containers": [CONTAINER],
}
DEPLOYMENT: dict[str, Any] = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "llm", "namespace": "nim", "labels": {"app": "llm"}},
    "spec": {
        "replicas": 1,
        "selector": {"matchLabels": {"app": "llm"}},
        "template": {"metadata": {"labels": {"app": "llm"}}, "spec": POD_SPEC},
    },
}
SERVICE: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "Service",
    "metadata": {"name": "llm", "namespace": "nim"},
    "spec": {
        "type": "LoadBalancer",
        "selector": {"app": "llm"},
        "ports": [{"port": 8000, "targetPort": 8000}],
        "externalIPs": ["203.0.113.7"],
    },
}
NETWORK_POLICY: dict[str, Any] = {
    "apiVersion": "networking.k8s.io/v1",
    "kind": "NetworkPolicy",
    "metadata": {"name": "llm", "namespace": "nim"},
    "spec": {
        "podSelector": {"matchLabels": {"app": "llm"}},
        "policyTypes": ["Ingress"],
        "ingress": [{"from": [{"ipBlock": {"cidr": "10.0.0.0/8"}}], "ports": [{"port": 8000}]}],
    },
}
ROLE: dict[str, Any] = {
    "apiVersion": "rbac.authorization.k8s.io/v1",
    "kind": "Role",
    "metadata": {"name": "reader", "namespace": "nim"},
    "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list"]}],
}
ROLE_BINDING: dict[str, Any] = {
    "apiVersion": "rbac.authorization.k8s.io/v1",
    "kind": "RoleBinding",
    "metadata": {"name": "reader", "namespace": "nim"},
    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "reader"},
    "subjects": [{"kind": "ServiceAccount", "name": "nim", "namespace": "nim"}],
}
SERVICE_ACCOUNT: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "ServiceAccount",
    "metadata": {"name": "nim", "namespace": "nim"},
    "automountServiceAccountToken": False,
}
INGRESS: dict[str, Any] = {
    "apiVersion": "networking.k8s.io/v1",
    "kind": "Ingress",
    "metadata": {"name": "llm", "namespace": "nim"},
    "spec": {
        "rules": [
            {
                "http": {
                    "paths": [
                        {
                            "path": "/",
                            "pathType": "Prefix",
                            "backend": {"service": {"name": "llm", "port": {"number": 8000}}},
                        }
                    ]
                }
            }
        ]
    },
}
PERSISTENT_VOLUME: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "PersistentVolume",
    "metadata": {"name": "model"},
    "spec": {
        "hostPath": {"path": "/mnt/models"},
        "accessModes": ["ReadWriteOnce"],
        "claimRef": {"namespace": "nim", "name": "model"},
    },
}
PVC: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "PersistentVolumeClaim",
    "metadata": {"name": "model", "namespace": "nim"},
    "spec": {"accessModes": ["ReadWriteOnce"], "volumeName": "model"},
}
NAMESPACE: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "Namespace",
    "metadata": {"name": "nim", "labels": {"pod-security.kubernetes.io/enforce": "baseline"}},
}
HTTP_ROUTE: dict[str, Any] = {
    "apiVersion": "gateway.networking.k8s.io/v1",
    "kind": "HTTPRoute",
    "metadata": {"name": "llm", "namespace": "nim"},
    "spec": {
        "parentRefs": [{"name": "gateway", "namespace": "gateways"}],
        "hostnames": ["llm.example.com"],
        "rules": [{"backendRefs": [{"name": "llm", "port": 8000}]}],
    },
}
VIRTUAL_SERVICE: dict[str, Any] = {
    "apiVersion": "networking.istio.io/v1",
    "kind": "VirtualService",
    "metadata": {"name": "llm", "namespace": "nim"},
    "spec": {
        "hosts": ["llm.example.com"],
        "gateways": ["gateways/public"],
        "http": [
            {
                "match": [{"gateways": ["gateways/public"]}],
                "route": [{"destination": {"host": "llm", "port": {"number": 8000}}}],
            }
        ],
    },
}
ISTIO_GATEWAY: dict[str, Any] = {
    "apiVersion": "networking.istio.io/v1",
    "kind": "Gateway",
    "metadata": {"name": "public", "namespace": "gateways"},
    "spec": {
        "selector": {"istio": "ingressgateway"},
        "servers": [{"port": {"number": 443, "protocol": "HTTPS"}, "hosts": ["*/llm.example.com"]}],
    },
}
CILIUM_POLICY: dict[str, Any] = {
    "apiVersion": "cilium.io/v2",
    "kind": "CiliumNetworkPolicy",
    "metadata": {"name": "llm", "namespace": "nim"},
    "spec": {
        "endpointSelector": {"matchLabels": {"app": "llm"}},
        "enableDefaultDeny": {"ingress": True},
        "ingress": [
            {
                "fromEntities": ["world"],
                "fromEndpoints": [{"matchLabels": {"app": "gw"}}],
                "toPorts": [{"ports": [{"port": "8000", "protocol": "TCP"}]}],
            }
        ],
    },
}
CALICO_POLICY: dict[str, Any] = {
    "apiVersion": "projectcalico.org/v3",
    "kind": "GlobalNetworkPolicy",
    "metadata": {"name": "llm"},
    "spec": {
        "selector": "app == 'llm'",
        "order": 100,
        "types": ["Ingress"],
        "ingress": [{"action": "Allow", "source": {"nets": ["10.0.0.0/8"], "selector": "all()"}}],
    },
}
RUNTIME_CLASS: dict[str, Any] = {
    "apiVersion": "node.k8s.io/v1",
    "kind": "RuntimeClass",
    "metadata": {"name": "nvidia"},
    "handler": "nvidia",
}
SECRET: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "Secret",
    "metadata": {"name": "ngc-api", "namespace": "nim"},
    "type": "Opaque",
    "data": {"NGC_API_KEY": "c2VjcmV0"},
}
NIM_SERVICE: dict[str, Any] = {
    "apiVersion": "apps.nvidia.com/v1alpha1",
    "kind": "NIMService",
    "metadata": {"name": "llama", "namespace": "nim"},
    "spec": {
        "image": {"repository": "nvcr.io/nim/meta/llama3", "tag": "1.0"},
        "authSecret": "ngc-api",
        "env": [{"name": "NIM_LOG_LEVEL", "value": "INFO"}],
        "storage": {"pvc": {"name": "models"}, "readOnly": True},
        "expose": {"service": {"type": "ClusterIP", "port": 8000}, "ingress": {"enabled": True}},
    },
}
NIM_SERVICE_HOST_PATH: dict[str, Any] = {
    **NIM_SERVICE,
    "spec": {**NIM_SERVICE["spec"], "storage": {"hostPath": "/models"}},
}
NIM_SERVICE_NUMBERS: dict[str, Any] = {
    **NIM_SERVICE,
    "spec": {**NIM_SERVICE["spec"], "userID": 1000, "groupID": 2000, "replicas": 2},
}
NIM_CACHE: dict[str, Any] = {
    "apiVersion": "apps.nvidia.com/v1alpha1",
    "kind": "NIMCache",
    "metadata": {"name": "llama-cache", "namespace": "nim"},
    "spec": {
        "source": {"ngc": {"modelPuller": "nvcr.io/nim/meta/llama3:1.0", "authSecret": "ngc-api"}},
        "storage": {"pvc": {"name": "models", "create": True, "size": "50Gi"}},
        "resources": {"limits": {"cpu": "4"}},
        "userID": 1000,
    },
}
_POD_TEMPLATE: dict[str, Any] = {
    "metadata": {"labels": {"app": "mn"}},
    "spec": {"containers": [{"name": "nim", "image": "nvcr.io/nim/meta/llama3:1.0"}]},
}
LWS: dict[str, Any] = {
    "apiVersion": "leaderworkerset.x-k8s.io/v1",
    "kind": "LeaderWorkerSet",
    "metadata": {"name": "mn", "namespace": "nim"},
    "spec": {
        "replicas": 1,
        "leaderWorkerTemplate": {
            "size": 2,
            "leaderTemplate": _POD_TEMPLATE,
            "workerTemplate": _POD_TEMPLATE,
        },
    },
}
MPI_JOB: dict[str, Any] = {
    "apiVersion": "kubeflow.org/v2beta1",
    "kind": "MPIJob",
    "metadata": {"name": "train", "namespace": "nim"},
    "spec": {
        "mpiReplicaSpecs": {
            "Launcher": {"replicas": 1, "template": _POD_TEMPLATE},
            "Worker": {"replicas": 2, "template": _POD_TEMPLATE},
        }
    },
}
INFERENCE_SERVICE: dict[str, Any] = {
    "apiVersion": "serving.kserve.io/v1beta1",
    "kind": "InferenceService",
    "metadata": {"name": "llm", "namespace": "nim"},
    "spec": {
        "predictor": {
            "minReplicas": 1,
            "model": {
                "modelFormat": {"name": "nim"},
                "runtime": "nim-runtime",
                "storageUri": "pvc://models/llama",
                "env": [{"name": "NIM_LOG_LEVEL", "value": "INFO"}],
            },
        }
    },
}
SERVING_RUNTIME: dict[str, Any] = {
    "apiVersion": "serving.kserve.io/v1alpha1",
    "kind": "ServingRuntime",
    "metadata": {"name": "nim-runtime", "namespace": "nim"},
    "spec": {
        "supportedModelFormats": [{"name": "nim"}],
        "containers": [{"name": "kserve-container", "image": "nvcr.io/nim/meta/llama3:1.0"}],
        "volumes": [{"name": "dshm", "emptyDir": {"medium": "Memory"}}],
    },
}
INFERENCE_SERVICE_CONTAINERS: dict[str, Any] = {
    **INFERENCE_SERVICE,
    "spec": {"predictor": {"containers": [{"name": "kserve-container", "image": "x:1"}]}},
}
CLUSTER_CONTEXT: dict[str, Any] = {
    "apiVersion": "attackmap/v1",
    "kind": "ClusterContext",
    "metadata": {"name": "gpu"},
    "spec": {
        "kubernetesVersion": "1.31",
        "containerRuntime": {"name": "containerd", "version": "1.7.22", "lowLevel": "runc"},
        "nvidia": {"containerToolkit": "1.17.3", "cdi": False},
        "kubelet": {"seccompDefault": False},
        "appArmor": True,
        "cgroupVersion": 2,
    },
}

P = ("spec", "template", "spec")
C = (*P, "containers", 0)
SC = (*C, "securityContext")

A_STRING = "not-what-you-think"
#: field kinds → wrong values of other types
WRONG: dict[str, tuple[Any, ...]] = {
    "bool": (A_STRING, [True]),
    "int": (A_STRING, {"a": 1}),
    "str": (5, [A_STRING]),
    "list": (A_STRING, 5),
    "map": (A_STRING, [1]),
}

# (document, field path, kind of field)
CASES: list[tuple[dict[str, Any], FieldPath, str]] = [
    (DEPLOYMENT, ("spec", "replicas"), "int"),
    (DEPLOYMENT, ("spec", "template"), "map"),
    (DEPLOYMENT, ("spec", "template", "metadata", "labels"), "map"),
    (DEPLOYMENT, (*P, "hostNetwork"), "bool"),
    (DEPLOYMENT, (*P, "hostPID"), "bool"),
    (DEPLOYMENT, (*P, "hostIPC"), "bool"),
    (DEPLOYMENT, (*P, "shareProcessNamespace"), "bool"),
    (DEPLOYMENT, (*P, "hostUsers"), "bool"),
    (DEPLOYMENT, (*P, "serviceAccountName"), "str"),
    (DEPLOYMENT, (*P, "automountServiceAccountToken"), "bool"),
    (DEPLOYMENT, (*P, "runtimeClassName"), "str"),
    (DEPLOYMENT, (*P, "securityContext"), "map"),
    (DEPLOYMENT, (*P, "securityContext", "runAsUser"), "int"),
    (DEPLOYMENT, (*P, "securityContext", "runAsNonRoot"), "bool"),
    (DEPLOYMENT, (*P, "securityContext", "seccompProfile"), "map"),
    (DEPLOYMENT, (*P, "securityContext", "seccompProfile", "type"), "str"),
    (DEPLOYMENT, (*P, "securityContext", "sysctls"), "list"),
    (DEPLOYMENT, (*P, "securityContext", "sysctls", 0, "name"), "str"),
    (DEPLOYMENT, (*P, "volumes"), "list"),
    (DEPLOYMENT, (*P, "volumes", 0, "hostPath"), "map"),
    (DEPLOYMENT, (*P, "volumes", 0, "hostPath", "path"), "str"),
    (DEPLOYMENT, (*P, "volumes", 1, "secret", "secretName"), "str"),
    (DEPLOYMENT, (*P, "volumes", 2, "persistentVolumeClaim", "claimName"), "str"),
    (DEPLOYMENT, (*P, "containers"), "list"),
    (DEPLOYMENT, (*C, "image"), "str"),
    (DEPLOYMENT, SC, "map"),
    (DEPLOYMENT, (*SC, "privileged"), "bool"),
    (DEPLOYMENT, (*SC, "allowPrivilegeEscalation"), "bool"),
    (DEPLOYMENT, (*SC, "readOnlyRootFilesystem"), "bool"),
    (DEPLOYMENT, (*SC, "runAsUser"), "int"),
    (DEPLOYMENT, (*SC, "runAsNonRoot"), "bool"),
    (DEPLOYMENT, (*SC, "capabilities"), "map"),
    (DEPLOYMENT, (*SC, "capabilities", "add"), "list"),
    (DEPLOYMENT, (*SC, "capabilities", "add", 0), "str"),
    (DEPLOYMENT, (*SC, "capabilities", "drop"), "list"),
    (DEPLOYMENT, (*SC, "seccompProfile", "type"), "str"),
    (DEPLOYMENT, (*SC, "appArmorProfile", "type"), "str"),
    (DEPLOYMENT, (*SC, "procMount"), "str"),
    (DEPLOYMENT, (*C, "ports"), "list"),
    (DEPLOYMENT, (*C, "ports", 0, "containerPort"), "int"),
    (DEPLOYMENT, (*C, "ports", 0, "hostPort"), "int"),
    (DEPLOYMENT, (*C, "env"), "list"),
    (DEPLOYMENT, (*C, "env", 0, "name"), "str"),
    (DEPLOYMENT, (*C, "envFrom"), "list"),
    (DEPLOYMENT, (*C, "volumeMounts"), "list"),
    (DEPLOYMENT, (*C, "volumeMounts", 0, "mountPath"), "str"),
    (DEPLOYMENT, (*C, "volumeMounts", 0, "readOnly"), "bool"),
    (DEPLOYMENT, (*C, "resources", "limits"), "map"),
    (SERVICE, ("spec",), "map"),
    (SERVICE, ("spec", "type"), "str"),
    (SERVICE, ("spec", "selector"), "map"),
    (SERVICE, ("spec", "ports"), "list"),
    (SERVICE, ("spec", "ports", 0, "port"), "int"),
    (SERVICE, ("spec", "externalIPs"), "list"),
    (NETWORK_POLICY, ("spec", "podSelector"), "map"),
    (NETWORK_POLICY, ("spec", "policyTypes"), "list"),
    (NETWORK_POLICY, ("spec", "ingress"), "list"),
    (NETWORK_POLICY, ("spec", "ingress", 0, "from"), "list"),
    (NETWORK_POLICY, ("spec", "ingress", 0, "from", 0, "ipBlock", "cidr"), "str"),
    (NETWORK_POLICY, ("spec", "podSelector", "matchLabels"), "map"),
    (NETWORK_POLICY, ("spec", "ingress", 0, "ports"), "list"),
    (ROLE, ("rules",), "list"),
    (ROLE, ("rules", 0, "verbs"), "list"),
    (ROLE, ("rules", 0, "resources"), "list"),
    (ROLE, ("rules", 0, "apiGroups"), "list"),
    (ROLE_BINDING, ("roleRef",), "map"),
    (ROLE_BINDING, ("roleRef", "name"), "str"),
    (ROLE_BINDING, ("subjects",), "list"),
    (ROLE_BINDING, ("subjects", 0, "name"), "str"),
    (SERVICE_ACCOUNT, ("automountServiceAccountToken",), "bool"),
    (INGRESS, ("spec", "rules"), "list"),
    (INGRESS, ("spec", "rules", 0, "http", "paths"), "list"),
    (INGRESS, ("spec", "rules", 0, "http", "paths", 0, "backend", "service", "name"), "str"),
    (INGRESS, (*("spec", "rules", 0, "http", "paths", 0), *("backend", "service", "port")), "map"),
    (HTTP_ROUTE, ("spec", "parentRefs"), "list"),
    (HTTP_ROUTE, ("spec", "hostnames"), "list"),
    (HTTP_ROUTE, ("spec", "rules", 0, "backendRefs"), "list"),
    (HTTP_ROUTE, ("spec", "rules", 0, "backendRefs", 0, "name"), "str"),
    (HTTP_ROUTE, ("spec", "rules", 0, "backendRefs", 0, "port"), "int"),
    (VIRTUAL_SERVICE, ("spec", "hosts"), "list"),
    (VIRTUAL_SERVICE, ("spec", "gateways"), "list"),
    (VIRTUAL_SERVICE, ("spec", "http"), "list"),
    (VIRTUAL_SERVICE, ("spec", "http", 0, "match", 0, "gateways"), "list"),
    (VIRTUAL_SERVICE, ("spec", "http", 0, "route"), "list"),
    (VIRTUAL_SERVICE, ("spec", "http", 0, "route", 0, "destination"), "map"),
    (VIRTUAL_SERVICE, ("spec", "http", 0, "route", 0, "destination", "host"), "str"),
    (VIRTUAL_SERVICE, ("spec", "http", 0, "route", 0, "destination", "port", "number"), "int"),
    (ISTIO_GATEWAY, ("spec", "servers"), "list"),
    (ISTIO_GATEWAY, ("spec", "servers", 0, "hosts"), "list"),
    (ISTIO_GATEWAY, ("spec", "servers", 0, "port", "number"), "int"),
    (CILIUM_POLICY, ("spec",), "map"),
    (CILIUM_POLICY, ("spec", "endpointSelector"), "map"),
    (CILIUM_POLICY, ("spec", "endpointSelector", "matchLabels"), "map"),
    (CILIUM_POLICY, ("spec", "enableDefaultDeny", "ingress"), "bool"),
    (CILIUM_POLICY, ("spec", "ingress"), "list"),
    (CILIUM_POLICY, ("spec", "ingress", 0, "fromEntities"), "list"),
    (CILIUM_POLICY, ("spec", "ingress", 0, "fromEndpoints"), "list"),
    (CILIUM_POLICY, ("spec", "ingress", 0, "toPorts"), "list"),
    (CALICO_POLICY, ("spec", "selector"), "str"),
    (CALICO_POLICY, ("spec", "order"), "int"),
    (CALICO_POLICY, ("spec", "types"), "list"),
    (CALICO_POLICY, ("spec", "ingress"), "list"),
    (CALICO_POLICY, ("spec", "ingress", 0, "action"), "str"),
    (CALICO_POLICY, ("spec", "ingress", 0, "source"), "map"),
    (CALICO_POLICY, ("spec", "ingress", 0, "source", "nets"), "list"),
    (CALICO_POLICY, ("spec", "ingress", 0, "source", "selector"), "str"),
    (PERSISTENT_VOLUME, ("spec", "hostPath"), "map"),
    (PERSISTENT_VOLUME, ("spec", "hostPath", "path"), "str"),
    (PERSISTENT_VOLUME, ("spec", "claimRef"), "map"),
    (PERSISTENT_VOLUME, ("spec", "claimRef", "name"), "str"),
    (PVC, ("spec", "accessModes"), "list"),
    (PVC, ("spec", "volumeName"), "str"),
    (RUNTIME_CLASS, ("handler",), "str"),
    (SECRET, ("type",), "str"),
    (SECRET, ("data",), "map"),
    (NAMESPACE, ("metadata", "labels"), "map"),
    (NAMESPACE, ("metadata", "labels", "pod-security.kubernetes.io/enforce"), "str"),
    (NIM_SERVICE, ("spec", "authSecret"), "str"),
    (NIM_SERVICE, ("spec", "env"), "list"),
    (NIM_SERVICE, ("spec", "env", 0), "map"),
    (NIM_SERVICE, ("spec", "storage"), "map"),
    (NIM_SERVICE, ("spec", "storage", "pvc"), "map"),
    (NIM_SERVICE, ("spec", "storage", "readOnly"), "bool"),
    (NIM_SERVICE, ("spec", "expose"), "map"),
    (NIM_SERVICE, ("spec", "expose", "service"), "map"),
    (NIM_SERVICE, ("spec", "expose", "ingress"), "map"),
    (NIM_SERVICE, ("spec", "expose", "ingress", "enabled"), "bool"),
    (NIM_SERVICE_HOST_PATH, ("spec", "storage", "hostPath"), "str"),
    (NIM_SERVICE_NUMBERS, ("spec", "userID"), "int"),
    (NIM_SERVICE_NUMBERS, ("spec", "groupID"), "int"),
    (NIM_SERVICE_NUMBERS, ("spec", "replicas"), "int"),
    (NIM_SERVICE_NUMBERS, ("spec", "expose", "service", "port"), "int"),
    (NIM_CACHE, ("spec", "source"), "map"),
    (NIM_CACHE, ("spec", "source", "ngc"), "map"),
    (NIM_CACHE, ("spec", "source", "ngc", "authSecret"), "str"),
    (NIM_CACHE, ("spec", "source", "ngc", "modelPuller"), "str"),
    (NIM_CACHE, ("spec", "storage"), "map"),
    (NIM_CACHE, ("spec", "storage", "pvc"), "map"),
    (NIM_CACHE, ("spec", "storage", "pvc", "name"), "str"),
    (NIM_CACHE, ("spec", "storage", "pvc", "create"), "bool"),
    (NIM_CACHE, ("spec", "resources"), "map"),
    (NIM_CACHE, ("spec", "userID"), "int"),
    (LWS, ("spec", "replicas"), "int"),
    (LWS, ("spec", "leaderWorkerTemplate"), "map"),
    (LWS, ("spec", "leaderWorkerTemplate", "size"), "int"),
    (LWS, ("spec", "leaderWorkerTemplate", "leaderTemplate"), "map"),
    (LWS, ("spec", "leaderWorkerTemplate", "workerTemplate"), "map"),
    (MPI_JOB, ("spec", "mpiReplicaSpecs"), "map"),
    (MPI_JOB, ("spec", "mpiReplicaSpecs", "Worker"), "map"),
    (MPI_JOB, ("spec", "mpiReplicaSpecs", "Worker", "template"), "map"),
    (MPI_JOB, ("spec", "mpiReplicaSpecs", "Worker", "replicas"), "int"),
    (INFERENCE_SERVICE, ("spec", "predictor"), "map"),
    (INFERENCE_SERVICE, ("spec", "predictor", "minReplicas"), "int"),
    (INFERENCE_SERVICE, ("spec", "predictor", "model"), "map"),
    (INFERENCE_SERVICE, ("spec", "predictor", "model", "runtime"), "str"),
    (INFERENCE_SERVICE, ("spec", "predictor", "model", "storageUri"), "str"),
    (INFERENCE_SERVICE, ("spec", "predictor", "model", "env"), "list"),
    (INFERENCE_SERVICE_CONTAINERS, ("spec", "predictor", "containers"), "list"),
    (SERVING_RUNTIME, ("spec",), "map"),
    (SERVING_RUNTIME, ("spec", "containers"), "list"),
    (SERVING_RUNTIME, ("spec", "containers", 0), "map"),
    (SERVING_RUNTIME, ("spec", "volumes"), "list"),
    (SERVING_RUNTIME, ("spec", "volumes", 0), "map"),
    (SERVING_RUNTIME, ("spec", "supportedModelFormats"), "list"),
    (CLUSTER_CONTEXT, ("spec", "kubernetesVersion"), "str"),
    (CLUSTER_CONTEXT, ("spec", "kubelet", "seccompDefault"), "bool"),
    (CLUSTER_CONTEXT, ("spec", "appArmor"), "bool"),
    (CLUSTER_CONTEXT, ("spec", "cgroupVersion"), "int"),
]


def _params() -> list[Any]:
    out = []
    for doc, path, kind in CASES:
        for n, wrong in enumerate(WRONG[kind]):
            out.append(pytest.param(doc, path, wrong, id=f"{doc['kind']}:{field_text(path)}#{n}"))
    return out


@pytest.mark.parametrize(("doc", "path", "wrong"), _params())
def test_wrong_type_is_refused_at_the_field(
    doc: dict[str, Any],
    path: FieldPath,
    wrong: Any,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    text, lines = emit(replaced(doc, path, wrong))
    file = tmp_path / "hostile.yaml"
    file.write_text(text)

    with pytest.raises(InputError) as info:
        load(file)
    err = info.value
    # an item of a list may be reported as the list itself ("capabilities.add: expected a
    # list of strings"), on the list's line
    named = path if err.field == field_text(path) or not isinstance(path[-1], int) else path[:-1]
    assert (err.path, err.line, err.field) == (str(file), lines[named], field_text(named)), text

    assert main(["inventory", str(file)]) == 2
    out, stderr = capsys.readouterr()
    assert out == ""
    assert "Traceback" not in stderr
    assert f"{file}:{lines[named]}: {field_text(named)}: " in stderr


def test_the_base_documents_are_valid(tmp_path: Path) -> None:
    """Without the wrong value every base document loads (so each case tests one field)."""
    docs = [DEPLOYMENT, SERVICE, NETWORK_POLICY, ROLE, ROLE_BINDING, SERVICE_ACCOUNT, INGRESS]
    docs += [PERSISTENT_VOLUME, PVC, NAMESPACE, CLUSTER_CONTEXT, HTTP_ROUTE, RUNTIME_CLASS, SECRET]
    text = "---\n".join(emit(d)[0] for d in docs)
    inv = load(text)
    (w,) = inv.workloads
    assert w.exposure.level == "external"
    assert {r.kind for r in w.exposure.routes} >= {"Service", "Ingress", "HTTPRoute"}
    assert [r.handler for r in inv.runtime_classes] == ["nvidia"]
    assert [s.keys for s in inv.secrets] == [("NGC_API_KEY",)]
    (volume,) = (v for v in w.pod.volumes if v.name == "model")
    assert volume.pv_backing == "hostPath" and volume.pv_path == "/mnt/models"
    assert w.network.ingress_isolated
    assert w.service_account is not None and w.service_account.permissions
    assert inv.context is not None and inv.context.spec.cgroup_version == 2


def test_the_base_nim_services_are_valid(tmp_path: Path) -> None:
    """The NIMService base documents load with every field the cases change in effect."""
    (w,) = load(emit(NIM_SERVICE)[0]).workloads
    assert w.exposure.level == "external"  # expose.ingress.enabled
    (store,) = (v for v in w.pod.volumes if v.name == "model-store")
    assert store.claim_name == "models"
    (c,) = w.pod.containers
    assert any(m.mount_path == "/model-store" and m.read_only for m in c.volume_mounts)
    assert {e.name for e in c.env} >= {"NGC_API_KEY", "NIM_LOG_LEVEL"}
    (w,) = load(emit(NIM_SERVICE_NUMBERS)[0]).workloads
    assert w.replicas == 2 and w.pod.fs_group == 2000
    assert [(c.run_as_user, c.run_as_group) for c in w.pod.containers] == [(1000, 2000)]
    (w,) = load(emit(NIM_SERVICE_HOST_PATH)[0]).workloads
    (store,) = (v for v in w.pod.volumes if v.name == "model-store")
    assert store.type == "hostPath" and store.path == "/models"


def test_the_base_custom_resources_are_valid() -> None:
    """NIMCache, LeaderWorkerSet, MPIJob, InferenceService (with its ServingRuntime) load
    with every field the cases change in effect, so a wrong value there is not ignorable."""
    (cache,) = load(emit(NIM_CACHE)[0]).workloads
    (puller,) = cache.pod.containers
    assert puller.image.raw == "nvcr.io/nim/meta/llama3:1.0"  # source.ngc.modelPuller
    assert "NGC_API_KEY" in {e.name for e in puller.env}  # source.ngc.authSecret
    assert puller.resources.cpu_limit == 4.0  # resources
    assert puller.run_as_user == 1000  # userID
    (volume,) = cache.pod.volumes
    assert volume.claim_name == "models"  # storage.pvc.name

    lws = load(emit(LWS)[0]).workloads
    assert [w.ref.component for w in lws] == ["leader", "worker"]  # leaderTemplate
    mpi = load(emit(MPI_JOB)[0]).workloads
    assert [(w.ref.component, w.replicas) for w in mpi] == [("launcher", 1), ("worker", 2)]

    text = "---\n".join(emit(d)[0] for d in (INFERENCE_SERVICE, SERVING_RUNTIME))
    inv = load(text)
    (isvc,) = inv.workloads
    (main_container,) = isvc.pod.containers  # the runtime's container, named by model.runtime
    assert {e.name for e in main_container.env} == {"NIM_LOG_LEVEL"}  # model.env
    assert {v.name for v in isvc.pod.volumes} == {"dshm", "kserve-pvc-source"}  # storageUri
    assert [s.kind for s in inv.skipped] == ["ServingRuntime"]
    (own,) = load(emit(INFERENCE_SERVICE_CONTAINERS)[0]).workloads
    assert [c.name for c in own.pod.containers] == ["kserve-container"]


def test_a_serving_runtime_of_another_api_group_is_not_used() -> None:
    """A ServingRuntime of a foreign API group is skipped as unknown; an InferenceService
    naming it must not take its containers either (it was used, unchecked, before)."""
    foreign = {**SERVING_RUNTIME, "apiVersion": "serving.example.com/v1"}
    inv = load("---\n".join(emit(d)[0] for d in (INFERENCE_SERVICE, foreign)))
    (isvc,) = inv.workloads
    (main_container,) = isvc.pod.containers
    assert main_container.image is not None
    assert main_container.image.raw == "<runtime not in input>"
    assert {v.name for v in isvc.pod.volumes} == {"kserve-pvc-source"}  # not the runtime's
    (skipped,) = inv.skipped
    assert skipped.kind == "ServingRuntime" and "not analysed" in skipped.reason
    # the same runtime in its own group is used (the control case)
    inv = load("---\n".join(emit(d)[0] for d in (INFERENCE_SERVICE, SERVING_RUNTIME)))
    assert inv.workloads[0].pod.containers[0].image.raw == "nvcr.io/nim/meta/llama3:1.0"


@pytest.mark.parametrize("runtime_first", [True, False])
def test_a_malformed_serving_runtime_is_reported_at_its_own_field(runtime_first: bool) -> None:
    """Whichever comes first in the input, a runtime whose containers are not a list is an
    error at the runtime's line and field, not a "malformed InferenceService"."""
    bad = replaced(SERVING_RUNTIME, ("spec", "containers"), {"name": "kserve-container"})
    bad_text, lines = emit(bad)
    docs = [bad_text, emit(INFERENCE_SERVICE)[0]]
    if not runtime_first:
        docs.reverse()
    text = "---\n".join(docs)
    with pytest.raises(InputError) as e:
        load(text)
    assert e.value.field == "spec.containers"
    offset = 0 if runtime_first else docs[0].count("\n") + 1
    assert e.value.line == lines[("spec", "containers")] + offset
    assert "InferenceService" not in str(e.value)


def test_the_istio_and_cni_base_documents_are_valid() -> None:
    """The issue-17 documents load and take effect without the wrong value."""
    docs = [DEPLOYMENT, SERVICE, VIRTUAL_SERVICE, ISTIO_GATEWAY, CILIUM_POLICY, CALICO_POLICY]
    inv = load("---\n".join(emit(d)[0] for d in docs))
    (w,) = inv.workloads
    assert "VirtualService" in {r.kind for r in w.exposure.routes}
    assert {p.kind for p in w.network.policies} == {"CiliumNetworkPolicy", "GlobalNetworkPolicy"}
