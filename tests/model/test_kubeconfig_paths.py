"""``Container.kubeconfig_paths``: where a container's manifest says its kubeconfig is."""

from __future__ import annotations

from attackmap.model import load
from attackmap.model._code import kubeconfig_paths


def test_kubeconfig_variable_and_flag() -> None:
    env = [("KUBECONFIG", "/a/config:relative:/b/prod.yaml"), ("OTHER", "/c"), ("KUBECONFIG", None)]
    assert kubeconfig_paths(
        ["sh", "-c", "kubectl --kubeconfig /d/k apply -f x"], ["--kubeconfig=/e/k"], env
    ) == ("/a/config", "/b/prod.yaml", "/d/k", "/e/k")
    assert kubeconfig_paths(None, ["--kubeconfig"], []) == ()  # no value: nothing


def test_the_model_keeps_them_and_only_literal_values() -> None:
    (w,) = load(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "p"},
            "spec": {
                "containers": [
                    {
                        "name": "c",
                        "image": "x",
                        "args": ["--kubeconfig=/cfg/k"],
                        "env": [
                            {"name": "KUBECONFIG", "value": "/root/.kube/config"},
                            {
                                "name": "KUBECONFIG",
                                "valueFrom": {"configMapKeyRef": {"name": "m", "key": "k"}},
                            },
                        ],
                    }
                ]
            },
        }
    ).workloads
    assert w.pod.containers[0].kubeconfig_paths == ("/root/.kube/config", "/cfg/k")
