"""Deterministic synthetic cluster generator: realistic NIM/GPU clusters of any size.

``generate(out, workloads, seed)`` writes one multi-document YAML file per namespace plus
``cluster.yaml`` (ClusterRoles, ClusterRoleBindings, RuntimeClasses) and returns
:class:`SynthStats`. The same ``(workloads, seed)`` always gives byte-identical files.

What a cluster contains (the fields attackmap reads, in realistic proportions):

* system namespaces: ``gpu-operator`` (driver, toolkit, device plugin, DCGM exporter, MIG
  manager, validator DaemonSets: privileged, ``hostPID``, ``hostPath: /``, the containerd
  socket), ``kube-system`` (kube-proxy with ``hostNetwork``, a CNI agent with ``NET_ADMIN``),
  ``monitoring`` (node exporter with ``hostPID``/``/proc``, a log shipper reading
  ``/var/log``), ``nim-operator`` (the operator and its cluster-wide secrets/workloads role);
* NIM namespaces: nim-llm Helm-style StatefulSets (pod ``runAsUser: 1000``, empty container
  securityContext, ``NGC_API_KEY`` from a Secret, ``/dev/shm`` Memory emptyDir mostly without
  ``sizeLimit``, ``nvidia.com/gpu``, model store on a PVC, hostPath or NFS), Deployments with
  ``runtimeClassName: nvidia``, NIM Operator ``NIMService``/``NIMCache`` resources;
* application namespaces: web Deployments, workers, Jobs and CronJobs, a few debugging pods;
* per namespace: Pod Security labels (privileged/baseline/restricted/none), ServiceAccounts
  with Roles (from read-only to ``pods/exec``, ``secrets`` get/list, ``pods`` create,
  ``rolebindings`` create + ``bind``), Services of every type, Ingresses, NetworkPolicies
  (default-deny in some namespaces), PVCs, Secrets (no values);
* cluster-wide: ClusterRoleBindings of some ServiceAccounts to ``cluster-admin``, ``view``,
  ``edit`` or a secrets reader (the cross-namespace paths).

Pods in ``restricted`` namespaces are compliant, ``baseline`` ones are baseline-compliant;
unlabelled namespaces get the risky mix (privileged, added capabilities written as
``SYS_ADMIN``/``CAP_SYS_PTRACE``/``ALL``, hostPath, hostPID, hostNetwork, Unconfined
seccomp/AppArmor, shared process namespaces).

    python benchmarks/synth.py --workloads 1000 --seed 1 --out DIR
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

Doc = dict[str, Any]

_Dumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

NIM_IMAGES = (
    "nvcr.io/nim/meta/llama3-8b-instruct:1.0.3",
    "nvcr.io/nim/meta/llama-3.1-70b-instruct:1.1.0",
    "nvcr.io/nim/mistralai/mistral-7b-instruct-v03:1.0.0",
    "nvcr.io/nim/mistralai/mixtral-8x7b-instruct-v01:1.0.0",
    "nvcr.io/nim/nvidia/nv-embedqa-e5-v5:1.0.0",
    "nvcr.io/nim/nvidia/llama-3.3-nemotron-super-49b-v1:1.8.2",
)
APP_IMAGES = (
    "registry.example.com/shop/frontend:2.4.1",
    "registry.example.com/shop/api@sha256:" + "3" * 64,
    "docker.io/library/nginx:1.27",
    "docker.io/library/redis:7.2",
    "ghcr.io/example/worker:0.9.3",
    "quay.io/example/etl:latest",
    "busybox",
)
RISKY_CAPS = (
    "NET_ADMIN",
    "SYS_ADMIN",
    "CAP_SYS_PTRACE",
    "SYS_MODULE",
    "NET_RAW",
    "ALL",
    "DAC_READ_SEARCH",
)
RISKY_HOSTPATHS = (
    "/var/run/containerd/containerd.sock",
    "/var/log",
    "/",
    "/var/lib/kubelet",
    "/etc",
    "/dev/nvidia0",
    "/tmp/cache",
    "/proc",
)
ROLE_RULESETS: tuple[tuple[str, tuple[Doc, ...]], ...] = (
    # (name, rules), drawn with the weights in _ROLE_WEIGHTS
    ("config-reader", ({"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "watch"]},)),
    ("pod-viewer", ({"apiGroups": [""], "resources": ["pods", "pods/log"], "verbs": ["get", "list"]},)),
    ("secret-reader", ({"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list"]},)),
    ("exec", ({"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["create"]},
              {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]})),
    ("pod-creator", ({"apiGroups": [""], "resources": ["pods"], "verbs": ["create", "delete", "get"]},)),
    ("deployer", ({"apiGroups": ["apps"], "resources": ["deployments", "statefulsets"], "verbs": ["get", "list", "patch", "update"]},
                  {"apiGroups": ["batch"], "resources": ["jobs", "cronjobs"], "verbs": ["create"]})),
    ("rbac-manager", ({"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["rolebindings"], "verbs": ["create"]},
                      {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["roles", "clusterroles"], "verbs": ["bind"]})),
)  # fmt: skip
_ROLE_WEIGHTS = (40, 20, 10, 8, 5, 12, 2)
CLUSTER_ROLES_BOUND = ("view", "edit", "cluster-admin", "attackmap-bench-secrets-reader")
_PSS_LEVELS = (("baseline", 35), ("restricted", 20), ("none", 45))


@dataclass
class SynthStats:
    """What :func:`generate` wrote."""

    workloads: int
    seed: int
    namespaces: int = 0
    files: int = 0
    documents: int = 0
    bytes: int = 0
    kinds: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Namespace:
    name: str
    profile: str  # nim | app | batch | system
    pss: str  # privileged | baseline | restricted | none
    docs: list[Doc] = field(default_factory=list)
    secrets: set[str] = field(default_factory=set)
    service_accounts: list[str] = field(default_factory=list)


def _meta(name: str, ns: str | None, labels: dict[str, str] | None = None) -> Doc:
    meta: Doc = {"name": name}
    if ns is not None:
        meta["namespace"] = ns
    if labels:
        meta["labels"] = labels
    return meta


# ---------------------------------------------------------------------------- containers


class _Gen:
    """All generation state: the seeded RNG and the running counters."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.kinds: Counter[str] = Counter()
        self.cluster_docs: list[Doc] = []

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def pick(self, seq: tuple[Any, ...] | list[Any]) -> Any:
        return seq[self.rng.randrange(len(seq))]

    def weighted(self, pairs: tuple[tuple[str, int], ...]) -> str:
        return self.rng.choices([p[0] for p in pairs], weights=[p[1] for p in pairs])[0]

    # --- security contexts by namespace level

    def pod_security(self, ns: _Namespace, *, uid: int | None = None) -> tuple[Doc, Doc, Doc]:
        """(pod spec extras, pod securityContext, container securityContext)."""
        spec: Doc = {}
        if ns.pss == "restricted":
            pod_sc: Doc = {
                "runAsNonRoot": True,
                "runAsUser": uid or 1000,
                "seccompProfile": {"type": "RuntimeDefault"},
            }
            c_sc: Doc = {
                "allowPrivilegeEscalation": False,
                "capabilities": {"drop": ["ALL"]},
                "readOnlyRootFilesystem": self.chance(0.6),
            }
            if self.chance(0.5):
                spec["automountServiceAccountToken"] = False
            return spec, pod_sc, c_sc
        pod_sc = {}
        c_sc = {}
        if uid is not None:
            pod_sc.update({"runAsUser": uid, "runAsGroup": uid, "fsGroup": uid})
        elif self.chance(0.4):
            pod_sc["runAsNonRoot"] = True
        if self.chance(0.45):
            pod_sc["seccompProfile"] = {"type": "RuntimeDefault"}
        if self.chance(0.3):
            spec["automountServiceAccountToken"] = False
        if self.chance(0.3):
            c_sc["allowPrivilegeEscalation"] = False
        if ns.pss == "baseline":
            if self.chance(0.1):
                c_sc["capabilities"] = {"add": ["NET_BIND_SERVICE"], "drop": ["ALL"]}
            return spec, pod_sc, c_sc
        # unlabelled namespace: the risky mix
        if self.chance(0.03):
            c_sc["privileged"] = True
        if self.chance(0.08):
            c_sc["capabilities"] = {"add": sorted({self.pick(RISKY_CAPS) for _ in range(2)})}
        if self.chance(0.03):
            c_sc["seccompProfile"] = {"type": "Unconfined"}
        elif self.chance(0.02):
            c_sc["seccompProfile"] = {"type": "Localhost", "localhostProfile": "profiles/app.json"}
        if self.chance(0.02):
            c_sc["appArmorProfile"] = {"type": "Unconfined"}
        if self.chance(0.02):
            spec["hostPID"] = True
        if self.chance(0.03):
            spec["hostNetwork"] = True
        if self.chance(0.02):
            spec["shareProcessNamespace"] = True
        if self.chance(0.05):
            c_sc["runAsUser"] = 0
        return spec, pod_sc, c_sc

    def risky_volume(self, ns: _Namespace, volumes: list[Doc], mounts: list[Doc]) -> None:
        if ns.pss != "none" or not self.chance(0.05):
            return
        path = self.pick(RISKY_HOSTPATHS)
        kind = (
            "Socket"
            if path.endswith(".sock")
            else ("CharDevice" if path.startswith("/dev/") else "")
        )
        hp: Doc = {"path": path}
        if kind:
            hp["type"] = kind
        volumes.append({"name": "host", "hostPath": hp})
        mounts.append(
            {"name": "host", "mountPath": "/host" + path.rstrip("/"), "readOnly": self.chance(0.5)}
        )

    # --- accompanying objects

    def service(
        self, ns: _Namespace, name: str, selector: dict[str, str], port: int, *, web: bool
    ) -> None:
        roll = self.rng.random()
        svc_type = "ClusterIP"
        if roll < 0.1:
            svc_type = "NodePort"
        elif roll < 0.2:
            svc_type = "LoadBalancer"
        spec: Doc = {
            "type": svc_type,
            "selector": selector,
            "ports": [{"name": "http", "port": port, "targetPort": port}],
        }
        if svc_type == "ClusterIP" and roll > 0.95:
            spec["clusterIP"] = "None"
        ns.docs.append(
            {"apiVersion": "v1", "kind": "Service", "metadata": _meta(name, ns.name), "spec": spec}
        )
        self.kinds["Service"] += 1
        if web and svc_type == "ClusterIP" and self.chance(0.3):
            ns.docs.append(
                {
                    "apiVersion": "networking.k8s.io/v1",
                    "kind": "Ingress",
                    "metadata": _meta(name, ns.name),
                    "spec": {
                        "ingressClassName": "nginx",
                        "rules": [
                            {
                                "host": f"{name}.{ns.name}.example.com",
                                "http": {
                                    "paths": [
                                        {
                                            "path": "/",
                                            "pathType": "Prefix",
                                            "backend": {
                                                "service": {"name": name, "port": {"number": port}}
                                            },
                                        }
                                    ]
                                },
                            }
                        ],
                    },
                }
            )
            self.kinds["Ingress"] += 1

    def service_account(self, ns: _Namespace, name: str) -> str:
        """A dedicated ServiceAccount (60%) with a Role, or the namespace's ``default``."""
        if not self.chance(0.6):
            return "default"
        ns.docs.append(
            {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta(name, ns.name)}
        )
        self.kinds["ServiceAccount"] += 1
        ns.service_accounts.append(name)
        role_name, rules = self.rng.choices(ROLE_RULESETS, weights=_ROLE_WEIGHTS)[0]
        if ns.pss == "restricted" and role_name in {"exec", "pod-creator", "rbac-manager"}:
            role_name, rules = ROLE_RULESETS[0]
        role = f"{name}-{role_name}"
        ns.docs.append(
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "Role",
                "metadata": _meta(role, ns.name),
                "rules": [dict(r) for r in rules],
            }
        )
        ns.docs.append(
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "RoleBinding",
                "metadata": _meta(role, ns.name),
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": role},
                "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": ns.name}],
            }
        )
        self.kinds["Role"] += 1
        self.kinds["RoleBinding"] += 1
        if self.chance(0.02):  # the cross-namespace paths
            cluster_role = self.pick(CLUSTER_ROLES_BOUND)
            self.cluster_docs.append(
                {
                    "apiVersion": "rbac.authorization.k8s.io/v1",
                    "kind": "ClusterRoleBinding",
                    "metadata": _meta(f"{ns.name}-{name}-{cluster_role}", None),
                    "roleRef": {
                        "apiGroup": "rbac.authorization.k8s.io",
                        "kind": "ClusterRole",
                        "name": cluster_role,
                    },
                    "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": ns.name}],
                }
            )
            self.kinds["ClusterRoleBinding"] += 1
        return name

    def pvc(self, ns: _Namespace, name: str, size: str, mode: str = "ReadWriteOnce") -> None:
        ns.docs.append(
            {
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "metadata": _meta(name, ns.name),
                "spec": {"accessModes": [mode], "resources": {"requests": {"storage": size}}},
            }
        )
        self.kinds["PersistentVolumeClaim"] += 1

    def secret(self, ns: _Namespace, name: str, key: str) -> None:
        if name in ns.secrets:
            return
        ns.secrets.add(name)
        ns.docs.append(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": _meta(name, ns.name),
                "type": "Opaque",
                "stringData": {key: "<placeholder>"},
            }
        )
        self.kinds["Secret"] += 1

    def workload(
        self,
        ns: _Namespace,
        kind: str,
        name: str,
        pod: Doc,
        *,
        replicas: int | None = 1,
        api: str = "apps/v1",
    ) -> None:
        labels = {"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": ns.name}
        if kind in {"Job", "CronJob"}:
            api = "batch/v1"
        template = {"metadata": {"labels": labels}, "spec": pod}
        spec: Doc
        if kind == "Pod":
            doc = {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": _meta(name, ns.name, labels),
                "spec": pod,
            }
        else:
            if kind == "CronJob":
                spec = {
                    "schedule": f"{self.rng.randrange(60)} */{self.rng.randrange(1, 12)} * * *",
                    "jobTemplate": {"spec": {"template": template}},
                }
            elif kind == "Job":
                spec = {"backoffLimit": 2, "template": template}
            else:
                spec = {"selector": {"matchLabels": labels}, "template": template}
                if kind != "DaemonSet" and replicas is not None:
                    spec["replicas"] = replicas
                if kind == "StatefulSet":
                    spec["serviceName"] = name
            doc = {
                "apiVersion": api,
                "kind": kind,
                "metadata": _meta(name, ns.name, labels),
                "spec": spec,
            }
        ns.docs.append(doc)
        self.kinds[kind] += 1

    # ---------------------------------------------------------------- workload recipes

    def nim_statefulset(self, ns: _Namespace, name: str, *, deployment: bool = False) -> None:
        """nim-llm Helm chart shape (StatefulSet) or its Deployment variant."""
        spec, pod_sc, c_sc = self.pod_security(ns, uid=1000)
        sa = self.service_account(ns, name) if self.chance(0.5) else "default"
        self.secret(ns, "ngc-api", "NGC_API_KEY")
        gpus = self.pick((1, 1, 1, 2, 4, 8))
        shm: Doc = {"medium": "Memory"}
        if self.chance(0.2):
            shm["sizeLimit"] = "16Gi"
        store_roll = self.rng.random()
        if store_roll < 0.7:
            self.pvc(ns, f"{name}-model-store", "50Gi")
            store: Doc = {
                "name": "model-store",
                "persistentVolumeClaim": {"claimName": f"{name}-model-store"},
            }
        elif store_roll < 0.8 and ns.pss == "none":
            store = {
                "name": "model-store",
                "hostPath": {"path": f"/data/nim/{name}", "type": "DirectoryOrCreate"},
            }
        elif store_roll < 0.9:
            store = {
                "name": "model-store",
                "nfs": {"server": "nfs.storage.svc", "path": f"/exports/{name}"},
            }
        else:
            store = {"name": "model-store", "emptyDir": {}}
        mounts: list[Doc] = [
            {"name": "model-store", "mountPath": "/model-store"},
            {"name": "dshm", "mountPath": "/dev/shm"},
        ]
        volumes: list[Doc] = [{"name": "dshm", "emptyDir": shm}, store]
        self.risky_volume(ns, volumes, mounts)
        container: Doc = {
            "name": "nim-llm",
            "image": self.pick(NIM_IMAGES),
            "securityContext": c_sc,
            "env": [
                {"name": "NIM_CACHE_PATH", "value": "/model-store"},
                {
                    "name": "NGC_API_KEY",
                    "valueFrom": {"secretKeyRef": {"name": "ngc-api", "key": "NGC_API_KEY"}},
                },
                {"name": "NIM_SERVER_PORT", "value": "8000"},
            ],
            "ports": [{"containerPort": 8000, "name": "http-openai"}],
            "livenessProbe": {"httpGet": {"path": "/v1/health/live", "port": "http-openai"}},
            "readinessProbe": {"httpGet": {"path": "/v1/health/ready", "port": "http-openai"}},
            "resources": {"limits": {"nvidia.com/gpu": gpus}},
            "volumeMounts": mounts,
        }
        pod: Doc = {
            **spec,
            "imagePullSecrets": [{"name": "ngc-secret"}],
            "serviceAccountName": sa,
            "securityContext": pod_sc,
            "containers": [container],
            "tolerations": [
                {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
            ],
            "volumes": volumes,
        }
        if deployment or self.chance(0.2):
            pod["runtimeClassName"] = "nvidia"
        self.workload(
            ns,
            "Deployment" if deployment else "StatefulSet",
            name,
            pod,
            replicas=self.pick((1, 1, 2, 4)),
        )
        self.service(ns, name, {"app.kubernetes.io/name": name}, 8000, web=True)

    def nim_service(self, ns: _Namespace, name: str) -> None:
        """NIM Operator NIMService (+ sometimes the NIMCache it serves from: two workloads)."""
        self.secret(ns, "ngc-api-secret", "NGC_API_KEY")
        storage: Doc
        roll = self.rng.random()
        if roll < 0.5:
            storage = {"nimCache": {"name": name, "profile": ""}}
        elif roll < 0.8:
            storage = {
                "pvc": {"create": True, "size": "100Gi", "volumeAccessMode": "ReadWriteOnce"}
            }
        elif roll < 0.9 and ns.pss == "none":
            storage = {"hostPath": f"/data/nim-cache/{name}"}
        else:
            storage = {"emptyDir": {"sizeLimit": "50Gi"}}
        if self.chance(0.3):
            storage["readOnly"] = True
        svc_type = self.weighted((("ClusterIP", 75), ("NodePort", 10), ("LoadBalancer", 15)))
        spec: Doc = {
            "image": {
                "repository": self.pick(NIM_IMAGES).rsplit(":", 1)[0],
                "tag": "1.0.3",
                "pullPolicy": "IfNotPresent",
                "pullSecrets": ["ngc-secret"],
            },
            "authSecret": "ngc-api-secret",
            "storage": storage,
            "replicas": self.pick((1, 1, 2)),
            "resources": {"limits": {"nvidia.com/gpu": self.pick((1, 1, 2, 4))}},
            "expose": {"service": {"type": svc_type, "port": 8000}},
        }
        if self.chance(0.15):
            spec["expose"]["ingress"] = {
                "enabled": True,
                "spec": {
                    "ingressClassName": "nginx",
                    "rules": [{"host": f"{name}.example.com", "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {"service": {"name": name, "port": {"number": 8000}}}}]}}],
                },
            }  # fmt: skip
        ns.docs.append(
            {
                "apiVersion": "apps.nvidia.com/v1alpha1",
                "kind": "NIMService",
                "metadata": _meta(name, ns.name),
                "spec": spec,
            }
        )
        self.kinds["NIMService"] += 1

    def nim_cache(self, ns: _Namespace, name: str) -> None:
        self.secret(ns, "ngc-api-secret", "NGC_API_KEY")
        ns.docs.append(
            {
                "apiVersion": "apps.nvidia.com/v1alpha1",
                "kind": "NIMCache",
                "metadata": _meta(name, ns.name),
                "spec": {
                    "source": {
                        "ngc": {
                            "modelPuller": self.pick(NIM_IMAGES),
                            "pullSecret": "ngc-secret",
                            "authSecret": "ngc-api-secret",
                            "model": {"engine": "tensorrt_llm", "tensorParallelism": "1"},
                        }
                    },
                    "storage": {
                        "pvc": {"create": True, "size": "50Gi", "volumeAccessMode": "ReadWriteMany"}
                    },
                    "resources": {},
                },
            }
        )
        self.kinds["NIMCache"] += 1

    def app(self, ns: _Namespace, name: str, kind: str) -> None:
        """A web service, worker, Job, CronJob or debugging Pod."""
        spec, pod_sc, c_sc = self.pod_security(ns)
        sa = self.service_account(ns, name)
        image = self.pick(APP_IMAGES)
        mounts: list[Doc] = []
        volumes: list[Doc] = []
        env: list[Doc] = [{"name": "LOG_LEVEL", "value": "info"}]
        if self.chance(0.3):
            self.secret(ns, f"{name}-db", "password")
            env.append(
                {
                    "name": "DB_PASSWORD",
                    "valueFrom": {"secretKeyRef": {"name": f"{name}-db", "key": "password"}},
                }
            )
        if self.chance(0.03):
            env.append(
                {"name": "AWS_SECRET_ACCESS_KEY", "value": "not-a-real-key"}
            )  # literal credential
        if kind in {"Deployment", "StatefulSet"} and self.chance(0.2):
            self.pvc(ns, f"{name}-data", "10Gi")
            volumes.append({"name": "data", "persistentVolumeClaim": {"claimName": f"{name}-data"}})
            mounts.append({"name": "data", "mountPath": "/data"})
        if self.chance(0.3):
            volumes.append({"name": "tmp", "emptyDir": {}})
            mounts.append({"name": "tmp", "mountPath": "/tmp"})
        self.risky_volume(ns, volumes, mounts)
        port = self.pick((8080, 8443, 3000, 6379))
        container: Doc = {
            "name": "main",
            "image": image,
            "env": env,
            "ports": [{"containerPort": port, "name": "http"}],
            "resources": {
                "requests": {"cpu": "100m", "memory": "128Mi"},
                "limits": {"memory": "512Mi"},
            },
        }
        if c_sc:
            container["securityContext"] = c_sc
        if mounts:
            container["volumeMounts"] = mounts
        if kind in {"Job", "CronJob"}:
            container["command"] = ["/bin/sh", "-c", "run-batch"]
            if self.chance(0.3):
                container["resources"]["limits"]["nvidia.com/gpu"] = 1
            elif ns.pss == "none" and self.chance(0.05):
                env.append({"name": "NVIDIA_VISIBLE_DEVICES", "value": "all"})
        containers = [container]
        if kind == "Deployment" and self.chance(0.15):
            sidecar: Doc = {
                "name": "metrics",
                "image": "docker.io/prom/statsd-exporter:v0.26.0",
                "ports": [{"containerPort": 9102}],
            }
            if c_sc:
                sidecar["securityContext"] = dict(c_sc)
            containers.append(sidecar)
        pod: Doc = {**spec, "serviceAccountName": sa, "containers": containers}
        if pod_sc:
            pod["securityContext"] = pod_sc
        if volumes:
            pod["volumes"] = volumes
        if kind in {"Job", "CronJob", "Pod"}:
            pod["restartPolicy"] = "Never" if kind != "Pod" else "Always"
        self.workload(ns, kind, name, pod, replicas=self.pick((1, 2, 3, 5)))
        if kind in {"Deployment", "StatefulSet"}:
            self.service(ns, name, {"app.kubernetes.io/name": name}, port, web=port != 6379)

    # ------------------------------------------------------------------ namespaces

    def namespace_doc(self, ns: _Namespace) -> Doc:
        labels = {"kubernetes.io/metadata.name": ns.name, "team": ns.profile}
        if ns.pss != "none":
            labels["pod-security.kubernetes.io/enforce"] = ns.pss
            labels["pod-security.kubernetes.io/enforce-version"] = "latest"
            labels["pod-security.kubernetes.io/warn"] = "restricted"
        elif self.chance(0.5):
            labels["pod-security.kubernetes.io/warn"] = "baseline"
            labels["pod-security.kubernetes.io/audit"] = "restricted"
        self.kinds["Namespace"] += 1
        return {"apiVersion": "v1", "kind": "Namespace", "metadata": _meta(ns.name, None, labels)}

    def network_policies(self, ns: _Namespace) -> None:
        if ns.profile == "system" or not self.chance(0.4 if ns.pss == "none" else 0.7):
            return
        types = ["Ingress", "Egress"] if self.chance(0.3) else ["Ingress"]
        ns.docs.append(
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "NetworkPolicy",
                "metadata": _meta("default-deny", ns.name),
                "spec": {"podSelector": {}, "policyTypes": types},
            }
        )
        ns.docs.append(
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "NetworkPolicy",
                "metadata": _meta("allow-ingress-controller", ns.name),
                "spec": {
                    "podSelector": {},
                    "policyTypes": ["Ingress"],
                    "ingress": [
                        {
                            "from": [
                                {
                                    "namespaceSelector": {
                                        "matchLabels": {
                                            "kubernetes.io/metadata.name": "ingress-nginx"
                                        }
                                    }
                                }
                            ]
                        }
                    ],
                },
            }
        )
        self.kinds["NetworkPolicy"] += 2


def _system_namespaces(g: _Gen) -> list[tuple[_Namespace, int]]:
    """gpu-operator, kube-system, monitoring, nim-operator: (namespace, workloads)."""
    out: list[tuple[_Namespace, int]] = []

    gpu = _Namespace("gpu-operator", "system", "privileged")
    g.cluster_docs.append(
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": _meta("gpu-operator", None),
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "cluster-admin",
            },
            "subjects": [
                {"kind": "ServiceAccount", "name": "gpu-operator", "namespace": "gpu-operator"}
            ],
        }
    )
    g.kinds["ClusterRoleBinding"] += 1
    for sa in ("gpu-operator", "nvidia-driver", "nvidia-operator-validator"):
        gpu.docs.append(
            {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta(sa, gpu.name)}
        )
        g.kinds["ServiceAccount"] += 1
    operands = (
        ("nvidia-driver-daemonset", "nvidia-driver", True, (("run-nvidia", "/run/nvidia"), ("host-root", "/"), ("var-log", "/var/log"))),
        ("nvidia-container-toolkit-daemonset", "nvidia-driver", False, (("containerd-socket", "/var/run/containerd/containerd.sock"), ("host-root", "/"))),
        ("nvidia-device-plugin-daemonset", "nvidia-driver", False, (("device-plugin", "/var/lib/kubelet/device-plugins"),)),
        ("nvidia-dcgm-exporter", "nvidia-driver", False, (("pod-gpu-resources", "/var/lib/kubelet/pod-resources"),)),
        ("nvidia-mig-manager", "nvidia-driver", True, (("host-root", "/"),)),
        ("nvidia-operator-validator", "nvidia-operator-validator", False, (("driver-install-path", "/run/nvidia/driver"),)),
    )  # fmt: skip
    for name, sa, host_pid, paths in operands:
        pod: Doc = {
            "serviceAccountName": sa,
            "priorityClassName": "system-node-critical",
            "runtimeClassName": "nvidia",
            "containers": [
                {
                    "name": name.removesuffix("-daemonset"),
                    "image": f"nvcr.io/nvidia/{name.removesuffix('-daemonset')}:v24.9.2",
                    "securityContext": {"privileged": True},
                    "volumeMounts": [
                        {"name": v, "mountPath": "/host" + p.rstrip("/")} for v, p in paths
                    ],
                }
            ],
            "tolerations": [
                {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
            ],
            "nodeSelector": {"nvidia.com/gpu.present": "true"},
            "volumes": [{"name": v, "hostPath": {"path": p}} for v, p in paths],
        }
        if host_pid:
            pod["hostPID"] = True
        g.workload(gpu, "DaemonSet", name, pod, replicas=None)
    g.workload(
        gpu,
        "Deployment",
        "gpu-operator",
        {
            "serviceAccountName": "gpu-operator",
            "containers": [
                {"name": "gpu-operator", "image": "nvcr.io/nvidia/gpu-operator:v24.9.2"}
            ],
        },
    )
    out.append((gpu, 7))

    kube = _Namespace("kube-system", "system", "privileged")
    kube.docs.append(
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta("kube-proxy", kube.name)}
    )
    g.kinds["ServiceAccount"] += 1
    g.workload(
        kube,
        "DaemonSet",
        "kube-proxy",
        {
            "hostNetwork": True,
            "serviceAccountName": "kube-proxy",
            "containers": [
                {
                    "name": "kube-proxy",
                    "image": "registry.k8s.io/kube-proxy:v1.31.2",
                    "securityContext": {"privileged": True},
                    "volumeMounts": [{"name": "xtables-lock", "mountPath": "/run/xtables.lock"}, {"name": "lib-modules", "mountPath": "/lib/modules", "readOnly": True}],
                }
            ],
            "volumes": [{"name": "xtables-lock", "hostPath": {"path": "/run/xtables.lock", "type": "FileOrCreate"}}, {"name": "lib-modules", "hostPath": {"path": "/lib/modules"}}],
        },
        replicas=None,
    )  # fmt: skip
    g.workload(
        kube,
        "DaemonSet",
        "cni-agent",
        {
            "hostNetwork": True,
            "containers": [
                {
                    "name": "agent",
                    "image": "quay.io/cilium/cilium:v1.16.3",
                    "securityContext": {"capabilities": {"add": ["NET_ADMIN", "SYS_MODULE", "SYS_ADMIN"]}, "seLinuxOptions": {"type": "spc_t"}},
                    "volumeMounts": [{"name": "cni", "mountPath": "/host/etc/cni/net.d"}],
                }
            ],
            "volumes": [{"name": "cni", "hostPath": {"path": "/etc/cni/net.d", "type": "DirectoryOrCreate"}}],
        },
        replicas=None,
    )  # fmt: skip
    g.workload(kube, "Deployment", "coredns", {"containers": [{"name": "coredns", "image": "registry.k8s.io/coredns/coredns:v1.11.3", "securityContext": {"capabilities": {"add": ["NET_BIND_SERVICE"], "drop": ["ALL"]}, "readOnlyRootFilesystem": True}}]}, replicas=2)  # fmt: skip
    out.append((kube, 3))

    mon = _Namespace("monitoring", "system", "privileged")
    g.workload(
        mon,
        "DaemonSet",
        "node-exporter",
        {
            "hostPID": True,
            "hostNetwork": True,
            "containers": [{"name": "node-exporter", "image": "quay.io/prometheus/node-exporter:v1.8.2", "volumeMounts": [{"name": "proc", "mountPath": "/host/proc", "readOnly": True}, {"name": "root", "mountPath": "/host/root", "readOnly": True}]}],
            "volumes": [{"name": "proc", "hostPath": {"path": "/proc"}}, {"name": "root", "hostPath": {"path": "/"}}],
        },
        replicas=None,
    )  # fmt: skip
    mon.docs.append(
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta("promtail", mon.name)}
    )
    g.kinds["ServiceAccount"] += 1
    g.cluster_docs.append(
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": _meta("promtail-view", None),
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "view",
            },
            "subjects": [{"kind": "ServiceAccount", "name": "promtail", "namespace": "monitoring"}],
        }
    )
    g.kinds["ClusterRoleBinding"] += 1
    g.workload(
        mon,
        "DaemonSet",
        "promtail",
        {
            "serviceAccountName": "promtail",
            "containers": [{"name": "promtail", "image": "docker.io/grafana/promtail:3.2.1", "securityContext": {"runAsUser": 0}, "volumeMounts": [{"name": "logs", "mountPath": "/var/log"}]}],
            "volumes": [{"name": "logs", "hostPath": {"path": "/var/log"}}],
        },
        replicas=None,
    )  # fmt: skip
    out.append((mon, 2))

    op = _Namespace("nim-operator", "system", "baseline")
    op.docs.append(
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta("nim-operator", op.name)}
    )
    g.kinds["ServiceAccount"] += 1
    g.cluster_docs.append(
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": _meta("nim-operator", None),
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "nim-operator",
            },
            "subjects": [
                {"kind": "ServiceAccount", "name": "nim-operator", "namespace": "nim-operator"}
            ],
        }
    )
    g.kinds["ClusterRoleBinding"] += 1
    g.workload(op, "Deployment", "nim-operator", {"serviceAccountName": "nim-operator", "securityContext": {"runAsNonRoot": True}, "containers": [{"name": "manager", "image": "nvcr.io/nvidia/cloud-native/nim-operator:v1.0.1", "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}}]})  # fmt: skip
    out.append((op, 1))
    return out


def _cluster_roles() -> list[Doc]:
    rbac = "rbac.authorization.k8s.io/v1"
    return [
        {
            "apiVersion": rbac,
            "kind": "ClusterRole",
            "metadata": _meta("attackmap-bench-secrets-reader", None),
            "rules": [
                {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list", "watch"]}
            ],
        },
        {
            "apiVersion": rbac,
            "kind": "ClusterRole",
            "metadata": _meta("nim-operator", None),
            "rules": [
                {
                    "apiGroups": [""],
                    "resources": ["secrets", "configmaps", "services", "serviceaccounts"],
                    "verbs": ["*"],
                },
                {
                    "apiGroups": ["apps"],
                    "resources": ["deployments", "statefulsets"],
                    "verbs": ["*"],
                },
                {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["*"]},
                {
                    "apiGroups": ["rbac.authorization.k8s.io"],
                    "resources": ["roles", "rolebindings"],
                    "verbs": ["*"],
                },
            ],
        },
        {
            "apiVersion": "node.k8s.io/v1",
            "kind": "RuntimeClass",
            "metadata": _meta("nvidia", None),
            "handler": "nvidia",
        },
    ]


_PROFILES = (("nim", 35), ("app", 45), ("batch", 20))
_APP_KINDS = (("Deployment", 55), ("StatefulSet", 8), ("Job", 10), ("CronJob", 20), ("Pod", 7))
_BATCH_KINDS = (("Job", 45), ("CronJob", 45), ("Deployment", 10))
_NIM_KINDS = (("nim-sts", 40), ("nim-deploy", 15), ("NIMService", 30), ("NIMCache", 15))


def _fill(g: _Gen, ns: _Namespace, count: int) -> None:
    for i in range(count):
        if ns.profile == "nim":
            recipe = g.weighted(_NIM_KINDS)
            name = f"{recipe.lower()}-{i:03d}"
            if recipe == "nim-sts":
                g.nim_statefulset(ns, name)
            elif recipe == "nim-deploy":
                g.nim_statefulset(ns, name, deployment=True)
            elif recipe == "NIMService":
                g.nim_service(ns, name)
            else:
                g.nim_cache(ns, name)
        else:
            kind = g.weighted(_APP_KINDS if ns.profile == "app" else _BATCH_KINDS)
            g.app(ns, f"{kind.lower()}-{i:03d}", kind)


def _write(path: Path, docs: list[Doc]) -> tuple[int, int]:
    text = yaml.dump_all(docs, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=120)
    data = text.encode("utf-8")
    path.write_bytes(data)
    return len(docs), len(data)


def generate(out: Path | str, workloads: int, seed: int = 1) -> SynthStats:
    """Write a synthetic cluster of exactly ``workloads`` workloads under ``out``.

    A workload is a top-level object attackmap analyses as one (Deployment, StatefulSet,
    DaemonSet, Job, CronJob, Pod, NIMService, NIMCache). Existing ``*.yaml`` files in ``out``
    are removed first so that the directory holds exactly one cluster.
    """
    if workloads < 1:
        raise ValueError("workloads must be at least 1")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.yaml"):
        old.unlink()
    g = _Gen(seed)
    stats = SynthStats(workloads=workloads, seed=seed)
    namespaces: list[_Namespace] = []
    remaining = workloads
    for ns, count in _system_namespaces(g):
        if remaining <= 0:  # tiny clusters: drop the namespace and uncount its objects
            g.kinds.subtract(Counter(doc["kind"] for doc in ns.docs))
            continue
        if count > remaining:  # tiny clusters: keep only the first workloads
            kept = 0
            trimmed: list[Doc] = []
            for doc in ns.docs:
                if doc["kind"] in {"DaemonSet", "Deployment"}:
                    if kept == remaining:
                        g.kinds[doc["kind"]] -= 1
                        continue
                    kept += 1
                trimmed.append(doc)
            ns.docs = trimmed
            count = remaining
        remaining -= count
        namespaces.append(ns)
    index = 0
    while remaining > 0:
        profile = g.weighted(_PROFILES)
        pss = g.weighted(_PSS_LEVELS)
        ns = _Namespace(f"{profile}-{index:05d}", profile, pss)
        count = min(remaining, g.rng.randint(10, 60))
        _fill(g, ns, count)
        g.network_policies(ns)
        remaining -= count
        namespaces.append(ns)
        index += 1
    for ns in namespaces:
        docs, size = _write(out / f"ns-{ns.name}.yaml", [g.namespace_doc(ns), *ns.docs])
        stats.documents += docs
        stats.bytes += size
    g.kinds["ClusterRole"] += 2
    g.kinds["RuntimeClass"] += 1
    docs, size = _write(out / "cluster.yaml", [*_cluster_roles(), *g.cluster_docs])
    stats.documents += docs
    stats.bytes += size
    stats.namespaces = len(namespaces)
    stats.files = len(namespaces) + 1
    stats.kinds = dict(sorted((k, v) for k, v in g.kinds.items() if v))
    return stats


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--workloads", type=int, required=True, help="number of workloads (e.g. 1000)"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--out", type=Path, required=True, help="directory to write (its *.yaml are replaced)"
    )
    args = parser.parse_args(argv)
    stats = generate(args.out, args.workloads, args.seed)
    print(json.dumps(stats.to_dict(), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
