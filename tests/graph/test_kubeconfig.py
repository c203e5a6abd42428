"""A kubeconfig found in a workload: where attackmap sees one, and where it leads (issue 16).

``kubeconfig-credentials`` (T1552.001) reads it, ``kubeconfig-cluster-access`` (T1078)
logs in with it. Its user is not in the manifests, so the second assumes cluster-admin and
the evidence says so, naming the object and the line that define it.
"""

from __future__ import annotations

from typing import Any

import pytest

from attackmap.graph import analyze
from attackmap.graph._credentials import build_credential_index, held_kubeconfigs, kubeconfig_name
from attackmap.model import load

Doc = dict[str, Any]


def holder(*, env: list[Doc] | None = None, mounts: list[Doc] | None = None, **spec: Any) -> Doc:
    container: Doc = {"name": "c", "image": "x", "ports": [{"containerPort": 8080}]}
    if env:
        container["env"] = env
    if mounts:
        container["volumeMounts"] = mounts
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "runner", "namespace": "ci"},
        "spec": {"automountServiceAccountToken": False, "containers": [container], **spec},
    }


def secret(name: str, *keys: str, kind: str = "Secret") -> Doc:
    doc: Doc = {
        "apiVersion": "v1",
        "kind": kind,
        "metadata": {"name": name, "namespace": "ci"},
        "data": dict.fromkeys(keys, "eA=="),
    }
    return doc


def mounted(path: str, source: Doc, sub_path: str | None = None) -> Doc:
    mount: Doc = {"name": "v", "mountPath": path}
    if sub_path:
        mount["subPath"] = sub_path
    return holder(mounts=[mount], volumes=[{"name": "v", **source}])


def container(doc: Doc, **fields: Any) -> Doc:
    """``doc`` with ``fields`` set on its container."""
    doc["spec"]["containers"][0].update(fields)
    return doc


def held(*docs: Doc) -> list[str]:
    inv = load(*docs)
    index = build_credential_index(inv)
    (w,) = inv.workloads
    return [f"{h.field}: {h.detail}" for h in held_kubeconfigs(w, index)]


@pytest.mark.parametrize(
    ("docs", "expected"),
    [
        # a Secret mounted where kubectl looks, whatever its keys
        (
            [mounted("/root/.kube", {"secret": {"secretName": "deploy"}}), secret("deploy", "x")],
            "containers[c].volumeMounts[v]: Secret ci/deploy (<object>) mounted at /root/.kube",
        ),
        # a ConfigMap whose key names a kubeconfig, mounted anywhere
        (
            [
                mounted("/etc/app", {"configMap": {"name": "settings"}}),
                secret("settings", "app.yaml", "kubeconfig.yaml", kind="ConfigMap"),
            ],
            "containers[c].volumeMounts[v]: ConfigMap ci/settings (<object>) (key kubeconfig.yaml) "
            "at /etc/app",
        ),
        # Cluster API's <cluster>-kubeconfig Secret (key "value"), not among the inputs
        (
            [mounted("/etc/cluster", {"secret": {"secretName": "prod-kubeconfig"}})],
            "containers[c].volumeMounts[v]: Secret ci/prod-kubeconfig (its name) at /etc/cluster",
        ),
        # kubeadm's admin.conf by subPath
        (
            [
                mounted(
                    "/etc/kubernetes/admin.conf",
                    {"secret": {"secretName": "admin"}},
                    sub_path="admin.conf",
                )
            ],
            "containers[c].volumeMounts[v]: Secret ci/admin mounted at /etc/kubernetes/admin.conf",
        ),
        # KUBECONFIG pointing into a volume of any kind
        (
            [
                holder(
                    env=[{"name": "KUBECONFIG", "value": "/work/cfg:/data/kube/prod.yaml"}],
                    mounts=[{"name": "v", "mountPath": "/data"}],
                    volumes=[{"name": "v", "persistentVolumeClaim": {"claimName": "data"}}],
                )
            ],
            "containers[c].volumeMounts[v]: persistentVolumeClaim volume v at /data: the "
            "kubeconfig /data/kube/prod.yaml",
        ),
        # --kubeconfig on the command line
        (
            [
                container(
                    mounted("/cfg", {"configMap": {"name": "any"}}), args=["--kubeconfig=/cfg/x"]
                )
            ],
            "containers[c].volumeMounts[v]: ConfigMap ci/any at /cfg: the kubeconfig /cfg/x",
        ),
        # a variable read from a kubeconfig key, or named like one
        (
            [
                holder(
                    env=[
                        {
                            "name": "CLUSTER",
                            "valueFrom": {"secretKeyRef": {"name": "ci", "key": "kubeconfig"}},
                        }
                    ]
                )
            ],
            "containers[c].env[CLUSTER]: Secret ci/ci key kubeconfig as CLUSTER",
        ),
        (
            [
                holder(
                    env=[
                        {
                            "name": "KUBECONFIG_DATA",
                            "valueFrom": {"configMapKeyRef": {"name": "ci", "key": "data"}},
                        }
                    ]
                )
            ],
            "containers[c].env[KUBECONFIG_DATA]: ConfigMap ci/ci key data as KUBECONFIG_DATA",
        ),
        # envFrom an object with a kubeconfig key
        (
            [
                container(holder(), envFrom=[{"secretRef": {"name": "ci"}}]),
                secret("ci", "KUBECONFIG"),
            ],
            "containers[c].envFrom: Secret ci/ci (<object>) key KUBECONFIG",
        ),
    ],
)
def test_where_a_kubeconfig_is_seen(docs: list[Doc], expected: str) -> None:
    assert held(*docs) == [expected]


@pytest.mark.parametrize(
    "docs",
    [
        # a TLS Secret at /etc/tls: keys and name say nothing of a kubeconfig
        [mounted("/etc/tls", {"secret": {"secretName": "tls"}}), secret("tls", "tls.crt")],
        # a ConfigMap of settings at /etc/app
        [mounted("/etc/app", {"configMap": {"name": "app"}}), secret("app", "a", kind="ConfigMap")],
        # KUBECONFIG into the image's own files: no mounted volume holds it
        [holder(env=[{"name": "KUBECONFIG", "value": "/root/config"}])],
        # an emptyDir mounted at .kube: no Secret or ConfigMap, no KUBECONFIG into it
        [mounted("/root/.kube", {"emptyDir": {}})],
        # the ServiceAccount token volume
        [holder()],
    ],
)
def test_where_no_kubeconfig_is_seen(docs: list[Doc]) -> None:
    assert held(*docs) == []


def test_names_that_name_a_kubeconfig() -> None:
    assert all(
        kubeconfig_name(n)
        for n in ("kubeconfig", "KUBECONFIG", "prod.kubeconfig", "kube-config", "admin.conf")
    )
    assert not any(kubeconfig_name(n) for n in ("config", "kube", "token", "app.conf"))


CLUSTER = [
    secret("deploy", "config"),
    mounted("/home/runner/.kube", {"secret": {"secretName": "deploy"}}),
]


def paths(docs: list[Doc], technique: str) -> list[str]:
    report = analyze(docs, entries=["cluster"])
    (w,) = report.workloads
    finding = w.finding(technique)
    return (
        []
        if finding is None
        else [" > ".join(f"{s.id}@{s.scope}" for s in p.steps) for p in finding.paths]
    )


def test_the_kubeconfig_leads_to_cluster_admin_and_says_it_was_assumed() -> None:
    report = analyze(CLUSTER, entries=["cluster"])
    (w,) = report.workloads
    finding = w.finding("T1078")
    assert finding is not None
    (path,) = [p for p in finding.paths if p.steps[-1].id == "kubeconfig-cluster-access"]
    assert [f"{s.id}@{s.scope}" for s in path.steps] == [
        "exploit-cluster-service@Pod/ci/runner[c]",
        "file-credentials@Pod/ci/runner[c]",
        "kubeconfig-cluster-access@Pod/ci/runner",
    ]
    (use,) = [f for f in path.steps[-1].facts if f.fact == "credential:kubeconfig"]
    assert (use.path, use.line, use.field) == ("<object>", None, "containers[c].volumeMounts[v]")
    assert use.detail == (
        "Secret ci/deploy (<object>) mounted at /home/runner/.kube; its user is not in the "
        "manifests (values are not read): attackmap assumes cluster-admin"
    )
    # cluster-admin follows: every Secret of the cluster
    assert any(
        p.steps[-1].id == "cluster-admin-secrets" for p in (w.finding("T1552.007") or finding).paths
    )
    # the kubeconfig itself is a credential found in a file
    assert (
        "exploit-cluster-service@Pod/ci/runner[c] > kubeconfig-credentials@Pod/ci/runner[c]"
        in paths(CLUSTER, "T1552.001")
    )


def test_each_required_fact_left_out_keeps_its_step_quiet() -> None:
    def steps(docs: list[Doc]) -> set[str]:
        report = analyze(docs, entries=["cluster"])
        return {
            s.id for w in report.workloads for t in w.techniques for p in t.paths for s in p.steps
        }

    assert {"kubeconfig-credentials", "kubeconfig-cluster-access"} <= steps(CLUSTER)
    # the same Secret at /etc/deploy holding a token: still credentials (file-credentials),
    # no kubeconfig: neither step
    plain = [
        secret("deploy", "token"),
        mounted("/etc/deploy", {"secret": {"secretName": "deploy"}}),
    ]
    found = steps(plain)
    assert "file-credentials" in found
    assert not {"kubeconfig-credentials", "kubeconfig-cluster-access"} & found
    # a kubeconfig in a ConfigMap: kubeconfig-credentials alone grants the credentials the
    # second step needs
    configmap = [
        secret("deploy", "kubeconfig", kind="ConfigMap"),
        mounted("/etc/deploy", {"configMap": {"name": "deploy"}}),
    ]
    found = steps(configmap)
    assert {"kubeconfig-credentials", "kubeconfig-cluster-access"} <= found
    assert "file-credentials" not in found
