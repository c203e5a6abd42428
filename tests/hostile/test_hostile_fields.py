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

_OBJECTS_BUG = (
    "context objects do not validate this field's type (src/attackmap/model/_objects.py: "
    "parse the spec with a pydantic model or explicit isinstance checks and raise "
    "obj.error(field path) as workloads do)"
)
_OBJECTS_PATH_BUG = (
    "context-object errors name the field relative to spec and give the document's first "
    "line (src/attackmap/model/_objects.py/_loader._context_object: prefix the pydantic loc "
    "with ('spec',) and locate() the full path)"
)
_LABELS_BUG = (
    "metadata.labels values of another type are stringified, not refused (src/attackmap/"
    "model/_loader.py _meta: `v if isinstance(v, str) else str(v)` -> obj.error(('metadata', "
    "key, k), 'expected a string'))"
)

# (document, field path, kind of field, xfail reason or None)
CASES: list[tuple[dict[str, Any], FieldPath, str, str | None]] = [
    (DEPLOYMENT, ("spec", "replicas"), "int", None),
    (DEPLOYMENT, ("spec", "template"), "map", None),
    (DEPLOYMENT, ("spec", "template", "metadata", "labels"), "map", None),
    (DEPLOYMENT, (*P, "hostNetwork"), "bool", None),
    (DEPLOYMENT, (*P, "hostPID"), "bool", None),
    (DEPLOYMENT, (*P, "hostIPC"), "bool", None),
    (DEPLOYMENT, (*P, "shareProcessNamespace"), "bool", None),
    (DEPLOYMENT, (*P, "hostUsers"), "bool", None),
    (DEPLOYMENT, (*P, "serviceAccountName"), "str", None),
    (DEPLOYMENT, (*P, "automountServiceAccountToken"), "bool", None),
    (DEPLOYMENT, (*P, "runtimeClassName"), "str", None),
    (DEPLOYMENT, (*P, "securityContext"), "map", None),
    (DEPLOYMENT, (*P, "securityContext", "runAsUser"), "int", None),
    (DEPLOYMENT, (*P, "securityContext", "runAsNonRoot"), "bool", None),
    (DEPLOYMENT, (*P, "securityContext", "seccompProfile"), "map", None),
    (DEPLOYMENT, (*P, "securityContext", "seccompProfile", "type"), "str", None),
    (DEPLOYMENT, (*P, "securityContext", "sysctls"), "list", None),
    (DEPLOYMENT, (*P, "securityContext", "sysctls", 0, "name"), "str", None),
    (DEPLOYMENT, (*P, "volumes"), "list", None),
    (DEPLOYMENT, (*P, "volumes", 0, "hostPath"), "map", None),
    (DEPLOYMENT, (*P, "volumes", 0, "hostPath", "path"), "str", None),
    (DEPLOYMENT, (*P, "volumes", 1, "secret", "secretName"), "str", None),
    (DEPLOYMENT, (*P, "volumes", 2, "persistentVolumeClaim", "claimName"), "str", None),
    (DEPLOYMENT, (*P, "containers"), "list", None),
    (DEPLOYMENT, (*C, "image"), "str", None),
    (DEPLOYMENT, SC, "map", None),
    (DEPLOYMENT, (*SC, "privileged"), "bool", None),
    (DEPLOYMENT, (*SC, "allowPrivilegeEscalation"), "bool", None),
    (DEPLOYMENT, (*SC, "readOnlyRootFilesystem"), "bool", None),
    (DEPLOYMENT, (*SC, "runAsUser"), "int", None),
    (DEPLOYMENT, (*SC, "runAsNonRoot"), "bool", None),
    (DEPLOYMENT, (*SC, "capabilities"), "map", None),
    (DEPLOYMENT, (*SC, "capabilities", "add"), "list", None),
    (DEPLOYMENT, (*SC, "capabilities", "add", 0), "str", None),
    (DEPLOYMENT, (*SC, "capabilities", "drop"), "list", None),
    (DEPLOYMENT, (*SC, "seccompProfile", "type"), "str", None),
    (DEPLOYMENT, (*SC, "appArmorProfile", "type"), "str", None),
    (DEPLOYMENT, (*SC, "procMount"), "str", None),
    (DEPLOYMENT, (*C, "ports"), "list", None),
    (DEPLOYMENT, (*C, "ports", 0, "containerPort"), "int", None),
    (DEPLOYMENT, (*C, "ports", 0, "hostPort"), "int", None),
    (DEPLOYMENT, (*C, "env"), "list", None),
    (DEPLOYMENT, (*C, "env", 0, "name"), "str", None),
    (DEPLOYMENT, (*C, "envFrom"), "list", None),
    (DEPLOYMENT, (*C, "volumeMounts"), "list", None),
    (DEPLOYMENT, (*C, "volumeMounts", 0, "mountPath"), "str", None),
    (DEPLOYMENT, (*C, "volumeMounts", 0, "readOnly"), "bool", None),
    (DEPLOYMENT, (*C, "resources", "limits"), "map", None),
    (SERVICE, ("spec",), "map", _OBJECTS_PATH_BUG),
    (SERVICE, ("spec", "type"), "str", _OBJECTS_PATH_BUG),
    (SERVICE, ("spec", "selector"), "map", _OBJECTS_PATH_BUG),
    (SERVICE, ("spec", "ports"), "list", _OBJECTS_PATH_BUG),
    (SERVICE, ("spec", "ports", 0, "port"), "int", _OBJECTS_PATH_BUG),
    (SERVICE, ("spec", "externalIPs"), "list", _OBJECTS_PATH_BUG),
    (NETWORK_POLICY, ("spec", "podSelector"), "map", _OBJECTS_PATH_BUG),
    (NETWORK_POLICY, ("spec", "policyTypes"), "list", _OBJECTS_BUG),
    (NETWORK_POLICY, ("spec", "ingress"), "list", _OBJECTS_BUG),
    (NETWORK_POLICY, ("spec", "ingress", 0, "from"), "list", _OBJECTS_BUG),
    (NETWORK_POLICY, ("spec", "ingress", 0, "from", 0, "ipBlock", "cidr"), "str", _OBJECTS_BUG),
    (ROLE, ("rules",), "list", None),
    (ROLE, ("rules", 0, "verbs"), "list", None),
    (ROLE, ("rules", 0, "resources"), "list", None),
    (ROLE, ("rules", 0, "apiGroups"), "list", None),
    (ROLE_BINDING, ("roleRef",), "map", None),
    (ROLE_BINDING, ("roleRef", "name"), "str", None),
    (ROLE_BINDING, ("subjects",), "list", None),
    (ROLE_BINDING, ("subjects", 0, "name"), "str", None),
    (SERVICE_ACCOUNT, ("automountServiceAccountToken",), "bool", _OBJECTS_BUG),
    (INGRESS, ("spec", "rules"), "list", _OBJECTS_BUG),
    (INGRESS, ("spec", "rules", 0, "http", "paths"), "list", _OBJECTS_BUG),
    (PERSISTENT_VOLUME, ("spec", "hostPath"), "map", _OBJECTS_BUG),
    (PERSISTENT_VOLUME, ("spec", "hostPath", "path"), "str", _OBJECTS_PATH_BUG),
    (PVC, ("spec", "accessModes"), "list", _OBJECTS_BUG),
    (NAMESPACE, ("metadata", "labels"), "map", None),
    (NAMESPACE, ("metadata", "labels", "pod-security.kubernetes.io/enforce"), "str", _LABELS_BUG),
    (CLUSTER_CONTEXT, ("spec", "kubernetesVersion"), "str", None),
    (CLUSTER_CONTEXT, ("spec", "kubelet", "seccompDefault"), "bool", None),
    (CLUSTER_CONTEXT, ("spec", "appArmor"), "bool", None),
    (CLUSTER_CONTEXT, ("spec", "cgroupVersion"), "int", None),
]


def _params() -> list[Any]:
    out = []
    for doc, path, kind, bug in CASES:
        for n, wrong in enumerate(WRONG[kind]):
            marks = [pytest.mark.xfail(strict=True, reason=bug)] if bug else []
            out.append(
                pytest.param(
                    doc, path, wrong, id=f"{doc['kind']}:{field_text(path)}#{n}", marks=marks
                )
            )
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
    docs += [PERSISTENT_VOLUME, PVC, NAMESPACE, CLUSTER_CONTEXT]
    text = "---\n".join(emit(d)[0] for d in docs)
    inv = load(text)
    (w,) = inv.workloads
    assert w.exposure.level == "external"
    assert w.network.ingress_isolated
    assert w.service_account is not None and w.service_account.permissions
    assert inv.context is not None and inv.context.spec.cgroup_version == 2
