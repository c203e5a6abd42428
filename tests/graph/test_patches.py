"""Each patch operation on a small manifest: the exact change it makes to the YAML.

The proofs (``test_proofs.py``) show that a control's declared fact effect equals what its
patch does after re-analysis; these tests pin the manifest edit itself.
"""

from __future__ import annotations

import copy
import functools
from typing import Any

import pytest

from attackmap.attack import load_attack
from attackmap.errors import HardenError
from attackmap.graph import Catalogue, load_catalogue
from attackmap.graph._catalogue import ControlInstance
from attackmap.graph._facts import extract
from attackmap.graph._patches import PATCH_OPS, apply_controls
from attackmap.model import load

Doc = dict[str, Any]


@functools.cache
def catalogue() -> Catalogue:
    return load_catalogue(load_attack())


def pod(spec: Doc, name: str = "p", namespace: str = "app") -> Doc:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": {"app": name}},
        "spec": spec,
    }


def container(**fields: Any) -> Doc:
    return {"name": "c", "image": "x", **fields}


def patched(
    docs: list[Doc], control: str, arg: str | None = None, **patch: Any
) -> tuple[list[Doc], dict[str, Any] | None]:
    """``docs`` with ``control`` (catalogue id, or an op name with ``patch`` params)
    applied to the first workload; the input is left untouched."""
    inventory = load(*copy.deepcopy(docs))
    fb = extract(inventory)
    if patch:
        ci = ControlInstance(
            control=control, arg=None, title=control, removes=(), adds=(), patch=patch
        )
    else:
        ci = catalogue().control(control).instantiate(arg)
    target = str(inventory.workloads[0].ref)
    return apply_controls(copy.deepcopy(docs), inventory, fb, [(ci, target)])


def spec_of(docs: list[Doc]) -> Doc:
    spec: Doc = docs[0]["spec"]
    return spec


def test_every_op_is_tested_here() -> None:
    tested = {name[len("test_op_") :] for name in globals() if name.startswith("test_op_")}
    assert set(PATCH_OPS) == tested


def test_op_set_security_context() -> None:
    docs = [pod({"containers": [container(securityContext={"privileged": True})]})]
    out, _ = patched(docs, "unprivileged")
    assert spec_of(out)["containers"] == [container(securityContext={"privileged": False})]


def test_op_drop_capability() -> None:
    docs = [
        pod(
            {
                "containers": [
                    container(
                        securityContext={"capabilities": {"add": ["CAP_SYS_ADMIN", "NET_ADMIN"]}}
                    )
                ]
            }
        )
    ]
    out, _ = patched(docs, "drop-capability", "SYS_ADMIN")
    assert spec_of(out)["containers"][0]["securityContext"] == {
        "capabilities": {"add": ["NET_ADMIN"], "drop": ["SYS_ADMIN"]}
    }


def test_op_drop_all_capabilities() -> None:
    docs = [
        pod({"containers": [container(securityContext={"capabilities": {"add": ["NET_RAW"]}})]})
    ]
    out, _ = patched(docs, "drop-all-capabilities")
    assert spec_of(out)["containers"][0]["securityContext"] == {"capabilities": {"drop": ["ALL"]}}


def test_op_run_as_non_root() -> None:
    docs = [pod({"containers": [container(securityContext={"runAsUser": 0})]})]
    out, _ = patched(docs, "run-as-non-root")
    spec = spec_of(out)
    assert spec["securityContext"] == {"runAsNonRoot": True, "runAsUser": 1000}
    assert spec["containers"][0]["securityContext"] == {"runAsUser": 1000}


def test_op_set_seccomp() -> None:
    docs = [
        pod({"containers": [container(securityContext={"seccompProfile": {"type": "Unconfined"}})]})
    ]
    out, _ = patched(docs, "seccomp-runtime-default")
    spec = spec_of(out)
    assert spec["securityContext"] == {"seccompProfile": {"type": "RuntimeDefault"}}
    assert spec["containers"][0]["securityContext"] == {
        "seccompProfile": {"type": "RuntimeDefault"}
    }


def test_op_set_apparmor() -> None:
    docs = [pod({"containers": [container()]})]
    docs[0]["metadata"]["annotations"] = {
        "container.apparmor.security.beta.kubernetes.io/c": "unconfined",
        "other": "kept",
    }
    out, _ = patched(docs, "apparmor-runtime-default")
    assert spec_of(out)["securityContext"] == {"appArmorProfile": {"type": "RuntimeDefault"}}
    assert out[0]["metadata"]["annotations"] == {"other": "kept"}


def test_op_remove_hostpath() -> None:
    """Volumes and their mounts go in every container kind, ephemeral ones included."""
    mounts = [{"name": "logs", "mountPath": "/l"}, {"name": "data", "mountPath": "/d"}]
    docs = [
        pod(
            {
                "volumes": [
                    {"name": "logs", "hostPath": {"path": "//var/log/"}},
                    {"name": "data", "emptyDir": {}},
                ],
                "initContainers": [container(name="i", volumeMounts=copy.deepcopy(mounts))],
                "containers": [container(volumeMounts=copy.deepcopy(mounts))],
                "ephemeralContainers": [container(name="dbg", volumeMounts=copy.deepcopy(mounts))],
            }
        )
    ]
    out, _ = patched(docs, "remove-hostpath", "/var/log")
    spec = spec_of(out)
    assert spec["volumes"] == [{"name": "data", "emptyDir": {}}]
    for group in ("initContainers", "containers", "ephemeralContainers"):
        assert spec[group][0]["volumeMounts"] == [{"name": "data", "mountPath": "/d"}]


def test_op_hostpath_read_only() -> None:
    docs = [
        pod(
            {
                "volumes": [{"name": "h", "hostPath": {"path": "/opt/data"}}],
                "containers": [container(volumeMounts=[{"name": "h", "mountPath": "/h"}])],
            }
        )
    ]
    out, _ = patched(docs, "hostpath-read-only", "/opt/data")
    assert spec_of(out)["containers"][0]["volumeMounts"] == [
        {"name": "h", "mountPath": "/h", "readOnly": True}
    ]


def test_op_set_pod_field() -> None:
    docs = [pod({"hostPID": True, "containers": [container()]})]
    out, _ = patched(docs, "no-host-pid")
    assert spec_of(out) == {"hostPID": False, "containers": [container()]}


def test_op_no_host_network() -> None:
    docs = [
        pod(
            {
                "hostNetwork": True,
                "containers": [
                    container(ports=[{"containerPort": 80, "hostPort": 80, "hostIP": "0.0.0.0"}])
                ],
            }
        )
    ]
    out, _ = patched(docs, "no-host-network")
    assert spec_of(out) == {
        "hostNetwork": False,
        "containers": [container(ports=[{"containerPort": 80}])],
    }


def test_op_no_privilege_escalation() -> None:
    """Containers where the API server refuses false (privileged, CAP_SYS_ADMIN as written)
    are left alone; SYS_ADMIN without the prefix passes validation and is patched."""
    docs = [
        pod(
            {
                "containers": [
                    container(name="priv", securityContext={"privileged": True}),
                    container(
                        name="lit", securityContext={"capabilities": {"add": ["CAP_SYS_ADMIN"]}}
                    ),
                    container(
                        name="short", securityContext={"capabilities": {"add": ["SYS_ADMIN"]}}
                    ),
                    container(name="plain"),
                ],
                "ephemeralContainers": [container(name="dbg")],
            }
        )
    ]
    out, _ = patched(docs, "no-privilege-escalation")
    spec = spec_of(out)
    sc = {c["name"]: c.get("securityContext") for c in spec["containers"]}
    assert sc == {
        "priv": {"privileged": True},
        "lit": {"capabilities": {"add": ["CAP_SYS_ADMIN"]}},
        "short": {"capabilities": {"add": ["SYS_ADMIN"]}, "allowPrivilegeEscalation": False},
        "plain": {"allowPrivilegeEscalation": False},
    }
    assert spec["ephemeralContainers"][0]["securityContext"] == {"allowPrivilegeEscalation": False}


def test_op_disable_token_automount() -> None:
    token = {"serviceAccountToken": {"path": "token"}}
    docs = [
        pod(
            {
                "volumes": [
                    {"name": "only", "projected": {"sources": [copy.deepcopy(token)]}},
                    {
                        "name": "mixed",
                        "projected": {
                            "sources": [copy.deepcopy(token), {"configMap": {"name": "ca"}}]
                        },
                    },
                ],
                "containers": [
                    container(
                        volumeMounts=[
                            {"name": "only", "mountPath": "/t"},
                            {"name": "mixed", "mountPath": "/m"},
                        ]
                    )
                ],
            }
        )
    ]
    out, _ = patched(docs, "disable-token-automount")
    assert spec_of(out) == {
        "volumes": [{"name": "mixed", "projected": {"sources": [{"configMap": {"name": "ca"}}]}}],
        "containers": [container(volumeMounts=[{"name": "mixed", "mountPath": "/m"}])],
        "automountServiceAccountToken": False,
    }


def test_op_dedicated_service_account() -> None:
    docs = [
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": "p-runtime", "namespace": "app"},
        },
        pod({"serviceAccountName": "shared", "containers": [container()]}),
    ]
    inventory = load(*copy.deepcopy(docs))
    ci = catalogue().control("dedicated-service-account").instantiate(None)
    out, _ = apply_controls(copy.deepcopy(docs), inventory, extract(inventory), [(ci, "Pod/app/p")])
    assert out[1]["spec"]["serviceAccountName"] == "p-runtime-x"
    assert out[2] == {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {
            "name": "p-runtime-x",
            "namespace": "app",
            "labels": {"attackmap.io/control": "dedicated-service-account"},
        },
    }


def test_op_remove_credential_env() -> None:
    docs = [
        pod(
            {
                "containers": [
                    container(
                        env=[
                            {
                                "name": "NGC_API_KEY",
                                "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}},
                            },
                            {"name": "LOG_LEVEL", "value": "info"},
                        ],
                        envFrom=[{"secretRef": {"name": "s"}}, {"configMapRef": {"name": "c"}}],
                    )
                ]
            }
        )
    ]
    out, _ = patched(docs, "remove-credential-env")
    c = spec_of(out)["containers"][0]
    assert c["env"] == [{"name": "LOG_LEVEL", "value": "info"}]
    assert c["envFrom"] == [{"configMapRef": {"name": "c"}}]


def test_op_credential_env_from_secret() -> None:
    docs = [
        pod(
            {
                "containers": [
                    container(
                        env=[
                            {"name": "NGC_API_KEY", "value": "nvapi-x"},
                            {
                                "name": "HF_TOKEN",
                                "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}},
                            },
                            {"name": "LOG_LEVEL", "value": "info"},
                            {"name": "EMPTY_TOKEN", "value": ""},
                        ],
                    )
                ]
            }
        )
    ]
    out, _ = patched(docs, "credential-env-from-secret")
    secret = f"{docs[0]['metadata']['name']}-credentials"
    assert spec_of(out)["containers"][0]["env"] == [
        {
            "name": "NGC_API_KEY",
            "valueFrom": {"secretKeyRef": {"name": secret, "key": "NGC_API_KEY"}},
        },
        {"name": "HF_TOKEN", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}},
        {"name": "LOG_LEVEL", "value": "info"},
        {"name": "EMPTY_TOKEN", "value": ""},
    ]


def test_op_read_only_model_store() -> None:
    docs = [
        pod(
            {
                "volumes": [{"name": "cache", "emptyDir": {}}],
                "containers": [
                    container(volumeMounts=[{"name": "cache", "mountPath": "/model-store"}])
                ],
            }
        )
    ]
    out, _ = patched(docs, "read-only-model-store")
    assert spec_of(out)["containers"][0]["volumeMounts"] == [
        {"name": "cache", "mountPath": "/model-store", "readOnly": True}
    ]


def test_op_pin_image_digest() -> None:
    """The tag keeps its name and gains the digest placeholder (attackmap cannot resolve the
    digest offline); an image already pinned is left alone; a NIMService pins spec.image.tag;
    re-analysed, image:unpinned is gone, as the control declares."""
    pinned = "nvcr.io/nim/meta/llama3:1@sha256:" + "a" * 64
    docs = [
        pod(
            {
                "initContainers": [container(name="init", image=pinned)],
                "containers": [container(image="nvcr.io/nim/meta/llama3:1.0.0")],
            }
        )
    ]
    out, _ = patched(docs, "pin-image-digest")
    assert spec_of(out)["initContainers"][0]["image"] == pinned
    assert spec_of(out)["containers"][0]["image"] == "nvcr.io/nim/meta/llama3:1.0.0@sha256:<digest>"
    facts = extract(load(*out)).workloads[0].containers
    assert all("image:unpinned" not in c.facts for c in facts)
    nim = {
        "apiVersion": "apps.nvidia.com/v1alpha1",
        "kind": "NIMService",
        "metadata": {"name": "llm", "namespace": "nim"},
        "spec": {"image": {"repository": "nvcr.io/nim/meta/llama3", "tag": "1.0.0"}},
    }
    out, _ = patched([nim], "pin-image-digest")
    assert out[0]["spec"]["image"]["tag"] == "1.0.0@sha256:<digest>"
    (workload,) = extract(load(*out)).workloads
    assert all("image:unpinned" not in c.facts for c in workload.containers)


def test_op_read_only_root_filesystem() -> None:
    """Every container read-only, each with an emptyDir of its own at /tmp unless a volume
    is mounted there; a NIM also at its model cache (NIM_CACHE_PATH, else the default)
    unless a volume already holds it; re-analysed, rootfs:rw is gone, as declared."""
    nim = "nvcr.io/nim/meta/llama3:1.0.0"
    docs = [
        pod(
            {
                "volumes": [{"name": "scratch", "emptyDir": {}}],
                "initContainers": [container(name="init")],
                "containers": [
                    container(name="llm", image=nim),
                    container(
                        name="cached",
                        image=nim,
                        env=[{"name": "NIM_CACHE_PATH", "value": "/scratch/cache"}],
                        volumeMounts=[{"name": "scratch", "mountPath": "/scratch"}],
                    ),
                    container(
                        name="app",
                        securityContext={"readOnlyRootFilesystem": True},
                        volumeMounts=[{"name": "scratch", "mountPath": "/tmp"}],
                    ),
                ],
            }
        )
    ]
    out, _ = patched(docs, "read-only-root-filesystem")
    spec = spec_of(out)
    assert spec["volumes"] == [
        {"name": "scratch", "emptyDir": {}},
        {"name": "init-tmp", "emptyDir": {}},
        {"name": "llm-tmp", "emptyDir": {}},
        {"name": "llm-nim-cache", "emptyDir": {}},
        {"name": "cached-tmp", "emptyDir": {}},
    ]
    init, llm, cached, app = spec["initContainers"][0], *spec["containers"]
    for c in (init, llm, cached, app):
        assert c["securityContext"]["readOnlyRootFilesystem"] is True
    assert init["volumeMounts"] == [{"name": "init-tmp", "mountPath": "/tmp"}]
    assert llm["volumeMounts"] == [
        {"name": "llm-tmp", "mountPath": "/tmp"},
        {"name": "llm-nim-cache", "mountPath": "/opt/nim/.cache"},
    ]
    assert cached["volumeMounts"] == [
        {"name": "scratch", "mountPath": "/scratch"},
        {"name": "cached-tmp", "mountPath": "/tmp"},
    ]
    assert app["volumeMounts"] == [{"name": "scratch", "mountPath": "/tmp"}]
    facts = extract(load(*out)).workloads[0].containers
    assert all("rootfs:rw" not in c.facts for c in facts)
    # a name already taken gets a number; a second run changes nothing
    taken = [pod({"volumes": [{"name": "c-tmp", "emptyDir": {}}], "containers": [container()]})]
    out, _ = patched(taken, "read-only-root-filesystem")
    assert [v["name"] for v in spec_of(out)["volumes"]] == ["c-tmp", "c-tmp-2"]
    again, _ = patched(out, "read-only-root-filesystem")
    assert again == out


def test_op_read_only_shared_volumes() -> None:
    """Only the mount another workload shares (the claim), not the private scratch
    volume; the other workload is left as it is."""
    claim = {"persistentVolumeClaim": {"claimName": "models"}}
    docs = [
        pod(
            {
                "volumes": [{"name": "m", **claim}, {"name": "scratch", "emptyDir": {}}],
                "containers": [
                    container(
                        volumeMounts=[
                            {"name": "m", "mountPath": "/work"},
                            {"name": "scratch", "mountPath": "/tmp/x"},
                        ]
                    )
                ],
            }
        ),
        pod(
            {
                "volumes": [{"name": "m", **claim}],
                "containers": [container(volumeMounts=[{"name": "m", "mountPath": "/models"}])],
            },
            name="reader",
        ),
    ]
    out, _ = patched(docs, "read-only-shared-volumes")
    assert spec_of(out)["containers"][0]["volumeMounts"] == [
        {"name": "m", "mountPath": "/work", "readOnly": True},
        {"name": "scratch", "mountPath": "/tmp/x"},
    ]
    assert out[1] == docs[1]


def test_op_set_limits() -> None:
    docs = [pod({"containers": [container(resources={"requests": {"memory": "4Gi"}})]})]
    out, _ = patched(docs, "memory-limits")
    assert spec_of(out)["containers"][0]["resources"] == {
        "requests": {"memory": "4Gi"},
        "limits": {"memory": "4Gi", "cpu": "8"},
    }


def test_op_shm_size_limit() -> None:
    docs = [
        pod(
            {
                "volumes": [{"name": "dshm", "emptyDir": {"medium": "Memory"}}],
                "containers": [container()],
            }
        )
    ]
    out, _ = patched(docs, "shm-size-limit")
    assert spec_of(out)["volumes"] == [
        {"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": "16Gi"}}
    ]


def test_op_isolate_ingress() -> None:
    out, _ = patched([pod({"containers": [container()]})], "isolate-ingress")
    assert out[1] == {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {
            "name": "p-ingress",
            "namespace": "app",
            "labels": {"attackmap.io/control": "isolate-ingress"},
        },
        "spec": {
            "podSelector": {"matchLabels": {"app": "p"}},
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    "from": [
                        {
                            "namespaceSelector": {
                                "matchLabels": {"attackmap.io/inference-gateway": "true"}
                            }
                        }
                    ]
                }
            ],
        },
    }


def test_op_restrict_egress() -> None:
    out, _ = patched([pod({"containers": [container()]})], "restrict-egress")
    assert out[1]["metadata"]["name"] == "p-egress"
    assert out[1]["spec"]["policyTypes"] == ["Egress"]
    assert out[1]["spec"]["egress"][0]["ports"] == [
        {"protocol": "UDP", "port": 53},
        {"protocol": "TCP", "port": 53},
    ]


def test_op_internal_service_only() -> None:
    svc = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "s", "namespace": "app"},
        "spec": {
            "type": "LoadBalancer",
            "selector": {"app": "p"},
            "ports": [{"port": 80, "targetPort": 8000, "nodePort": 30080}],
            "loadBalancerSourceRanges": ["0.0.0.0/0"],
        },
    }
    ing = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": "i", "namespace": "app"},
        "spec": {
            "rules": [
                {
                    "http": {
                        "paths": [
                            {
                                "path": "/",
                                "pathType": "Prefix",
                                "backend": {"service": {"name": "s", "port": {"number": 80}}},
                            }
                        ]
                    }
                }
            ]
        },
    }
    docs = [pod({"containers": [container(ports=[{"containerPort": 8000}])]}), svc, ing]
    out, _ = patched(docs, "internal-service-only")
    assert [d["kind"] for d in out] == ["Pod", "Service"]
    assert out[1]["spec"] == {
        "type": "ClusterIP",
        "selector": {"app": "p"},
        "ports": [{"port": 80, "targetPort": 8000}],
    }


def _namespace(name: str, labels: dict[str, str] | None = None) -> Doc:
    meta: Doc = {"name": name}
    if labels is not None:
        meta["labels"] = labels
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": meta}


def _deployer(*namespaces: str) -> list[Doc]:
    docs: list[Doc] = [
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": "ci", "namespace": "app"},
        }
    ]
    for ns in namespaces:
        docs.append(
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "RoleBinding",
                "metadata": {"name": f"ci-{ns}", "namespace": ns},
                "subjects": [{"kind": "ServiceAccount", "name": "ci", "namespace": "app"}],
                "roleRef": {
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": "ClusterRole",
                    "name": "edit",
                },
            }
        )
    return docs


def test_op_enforce_baseline_namespaces() -> None:
    """Unlabelled and privileged namespaces get baseline; a namespace absent from the
    manifests gets a Namespace document; baseline and restricted are never touched."""
    strict = {
        "pod-security.kubernetes.io/enforce": "restricted",
        "pod-security.kubernetes.io/enforce-version": "v1.30",
    }
    base = {
        "pod-security.kubernetes.io/enforce": "baseline",
        "pod-security.kubernetes.io/enforce-version": "v1.25",
    }
    docs = [
        pod({"serviceAccountName": "ci", "containers": [container()]}),
        _namespace("app"),
        _namespace("priv", {"pod-security.kubernetes.io/enforce": "privileged"}),
        _namespace("strict", dict(strict)),
        _namespace("base", dict(base)),
        *_deployer("app", "priv", "strict", "base", "absent"),
    ]
    out, _ = patched(docs, "enforce-baseline-namespaces")
    labels = {
        d["metadata"]["name"]: d["metadata"].get("labels") for d in out if d["kind"] == "Namespace"
    }
    baseline = {
        "pod-security.kubernetes.io/enforce": "baseline",
        "pod-security.kubernetes.io/enforce-version": "latest",
    }
    assert labels == {
        "app": baseline,
        "priv": baseline,
        "strict": strict,
        "base": base,
        "absent": baseline,
    }


def test_op_upgrade_nvidia() -> None:
    docs = [pod({"containers": [container()]})]
    _, context = patched(docs, "upgrade-nvidia-container-toolkit")
    assert context is not None
    assert context["spec"]["nvidia"] == {
        "containerToolkit": "1.17.8",
        "gpuOperator": "25.3.2",
        "devicePlugin": "0.17.3",
    }


def test_op_block_pod_metadata() -> None:
    docs = [pod({"containers": [container()]})]
    _, context = patched(docs, "block-pod-metadata-access")
    assert context is not None
    assert context["spec"]["cloud"] == {"tokenRequired": True, "hopLimit": 1}


def test_a_pod_template_patch_refuses_a_kind_without_one() -> None:
    docs = [
        {
            "apiVersion": "apps.nvidia.com/v1alpha1",
            "kind": "NIMService",
            "metadata": {"name": "n", "namespace": "app"},
            "spec": {"image": {"repository": "x", "tag": "1"}},
        }
    ]
    with pytest.raises(HardenError):
        patched(docs, "unprivileged")
