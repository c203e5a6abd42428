"""Istio exposure: a VirtualService bound to a Gateway routes outside traffic to a Service.

Decision (docs/model.md, "Exposure"): a gateway other than ``mesh`` is taken to serve
outside traffic (its ingress gateway pods normally sit behind a LoadBalancer, as an
Ingress controller's do; no ClusterContext setting says otherwise for Ingress, so none
does for Istio). A Gateway in the input must serve one of the VirtualService's hosts; a
Gateway outside the input is assumed to.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import shared_path

from attackmap.errors import InputError
from attackmap.model import Exposure, load
from attackmap.model._links import gateway_serves, istio_service
from attackmap.model._objects import IstioGateway, IstioServer, VirtualService


def pod(ns: str = "nim") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "llm", "namespace": ns, "labels": {"app": "llm"}},
        "spec": {"containers": [{"name": "c", "image": "x", "ports": [{"containerPort": 8000}]}]},
    }


def service(ns: str = "nim", ports: tuple[int, ...] = (8000,)) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "llm", "namespace": ns},
        "spec": {
            "selector": {"app": "llm"},
            "ports": [{"port": p, "name": f"p{p}"} for p in ports],
        },
    }


def gateway(hosts: list[str], ns: str = "istio-ingress", name: str = "public") -> dict[str, Any]:
    return {
        "apiVersion": "networking.istio.io/v1beta1",
        "kind": "Gateway",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "selector": {"istio": "ingressgateway"},
            "servers": [
                {"port": {"number": 80, "name": "http", "protocol": "HTTP"}, "hosts": hosts}
            ],
        },
    }


def virtual_service(spec: dict[str, Any], ns: str = "nim", name: str = "llm") -> dict[str, Any]:
    return {
        "apiVersion": "networking.istio.io/v1",
        "kind": "VirtualService",
        "metadata": {"name": name, "namespace": ns},
        "spec": spec,
    }


def route(host: str = "llm", port: int | None = 8000, **extra: Any) -> dict[str, Any]:
    dest: dict[str, Any] = {"host": host}
    if port is not None:
        dest["port"] = {"number": port}
    return {"route": [{"destination": dest}], **extra}


def exposure(*docs: dict[str, Any]) -> Exposure:
    inv = load(*docs)
    (w,) = inv.workloads
    return w.exposure


def vs_routes(e: Exposure) -> list[tuple[str, int | None, int | str | None]]:
    return [(str(r.ref), r.port, r.target) for r in e.routes if r.kind == "VirtualService"]


def test_a_virtual_service_bound_to_a_gateway_exposes_the_pod() -> None:
    vs = virtual_service(
        {"hosts": ["llm.example.com"], "gateways": ["istio-ingress/public"], "http": [route()]}
    )
    e = exposure(pod(), service(), gateway(["*"]), vs)
    assert e.level == "external"
    assert vs_routes(e) == [("VirtualService/nim/llm", 8000, 8000)]
    (r,) = [r for r in e.routes if r.kind == "VirtualService"]
    assert r.level == "external" and r.service_type == "ClusterIP"


def test_without_gateways_a_virtual_service_serves_the_mesh_only() -> None:
    assert exposure(
        pod(), service(), virtual_service({"hosts": ["llm"], "http": [route()]})
    ).level == ("cluster")
    mesh = virtual_service({"hosts": ["llm"], "gateways": ["mesh"], "tcp": [route()]})
    assert vs_routes(exposure(pod(), service(), mesh)) == []


def test_a_gateway_outside_the_input_is_assumed_to_serve_outside_traffic() -> None:
    vs = virtual_service({"hosts": ["llm.example.com"], "gateways": ["public"], "http": [route()]})
    assert exposure(pod(), service(), vs).level == "external"


def test_a_gateway_in_the_input_must_serve_one_of_the_hosts() -> None:
    vs = virtual_service(
        {"hosts": ["llm.example.com"], "gateways": ["istio-ingress/public"], "http": [route()]}
    )
    assert exposure(pod(), service(), gateway(["other.example.com"]), vs).level == "cluster"
    for hosts in (["*.example.com"], ["nim/llm.example.com"], ["*/*"], ["llm.example.com"]):
        assert exposure(pod(), service(), gateway(hosts), vs).level == "external", hosts
    # a namespace restriction that excludes the VirtualService's namespace
    for hosts in (["other/llm.example.com"], ["./llm.example.com"]):
        assert exposure(pod(), service(), gateway(hosts), vs).level == "cluster", hosts
    same_ns = virtual_service(
        {"hosts": ["llm.example.com"], "gateways": ["public"], "http": [route()]}
    )
    assert exposure(pod(), service(), gateway(["./llm.example.com"], ns="nim"), same_ns).level == (
        "external"
    )


def test_a_match_naming_only_the_mesh_keeps_its_route_inside() -> None:
    inside = route(match=[{"gateways": ["mesh"], "uri": {"prefix": "/"}}])
    vs = virtual_service({"hosts": ["llm"], "gateways": ["public", "mesh"], "http": [inside]})
    assert vs_routes(exposure(pod(), service(), vs)) == []
    outside = route(match=[{"uri": {"prefix": "/"}}])  # no gateways: the VirtualService's
    vs = virtual_service({"hosts": ["llm"], "gateways": ["public", "mesh"], "http": [outside]})
    assert vs_routes(exposure(pod(), service(), vs)) == [("VirtualService/nim/llm", 8000, 8000)]


@pytest.mark.parametrize(
    ("host", "exposed"),
    [
        ("llm", True),
        ("llm.nim", True),
        ("llm.nim.svc", True),
        ("llm.nim.svc.cluster.local", True),
        ("llm.other.svc.cluster.local", False),
        ("llm.example.com", False),
        ("*.nim.svc.cluster.local", False),
    ],
)
def test_destination_hosts_name_services(host: str, exposed: bool) -> None:
    vs = virtual_service({"hosts": ["x"], "gateways": ["public"], "tls": [route(host)]})
    assert bool(vs_routes(exposure(pod(), service(), vs))) is exposed


def test_a_destination_without_a_port_reaches_every_service_port() -> None:
    vs = virtual_service({"hosts": ["x"], "gateways": ["public"], "http": [route(port=None)]})
    e = exposure(pod(), service(ports=(8000, 9000)), vs)
    assert vs_routes(e) == [
        ("VirtualService/nim/llm", 8000, 8000),
        ("VirtualService/nim/llm", 9000, 9000),
    ]


def test_mirrors_and_delegates_are_routes_too() -> None:
    mirrored = {"route": [{"destination": {"host": "elsewhere"}}], "mirror": {"host": "llm"}}
    vs = virtual_service({"hosts": ["x"], "gateways": ["public"], "http": [mirrored]})
    assert vs_routes(exposure(pod(), service(), vs)) == [("VirtualService/nim/llm", 8000, 8000)]
    root = virtual_service(
        {
            "hosts": ["x"],
            "gateways": ["public"],
            "http": [{"delegate": {"name": "leaf", "namespace": "nim"}}],
        },
        ns="edge",
        name="root",
    )
    leaf = virtual_service({"http": [route()]}, name="leaf")  # a delegate has no gateways
    assert vs_routes(exposure(pod(), service(), root, leaf)) == [
        ("VirtualService/nim/leaf", 8000, 8000)
    ]
    assert vs_routes(exposure(pod(), service(), leaf)) == []


def test_gateway_api_gateways_stay_skipped_and_never_meet_istio_ones() -> None:
    gw_api = {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "Gateway",
        "metadata": {"name": "public", "namespace": "istio-ingress"},
        "spec": {"gatewayClassName": "istio", "listeners": []},
    }
    inv = load(pod(), gateway(["*"]), gw_api)  # same name and namespace: not a duplicate
    assert [s.reason for s in inv.skipped] == ["kind Gateway is not analysed by attackmap"]
    assert [str(g.ref) for g in inv.istio_gateways] == [
        "Gateway.networking.istio.io/istio-ingress/public"
    ]


def test_a_malformed_virtual_service_is_an_input_error_at_its_field() -> None:
    bad = virtual_service({"hosts": "llm", "gateways": ["public"]})
    with pytest.raises(InputError, match=r"spec\.hosts: expected a list of strings"):
        load(bad)
    bad = virtual_service({"http": [{"route": [{"destination": {"port": {"number": 80}}}]}]})
    with pytest.raises(InputError, match=r"spec\.http\[0\]\.route\[0\]\.destination\.host"):
        load(bad)


def test_helpers() -> None:
    assert istio_service("a.b.svc.corp.example", "x") == ("a", "b")
    assert istio_service("a..b", "x") is None
    vs = VirtualService.model_validate(
        {
            "ref": {"kind": "VirtualService", "namespace": "n", "name": "v"},
            "hosts": ["a.example.com"],
        }
    )
    gw = IstioGateway.model_validate(
        {"ref": {"kind": "Gateway.networking.istio.io", "namespace": "g", "name": "gw"}}
    )
    assert gateway_serves(gw, vs)  # no servers: nothing to check against
    narrow = gw.model_copy(update={"servers": (IstioServer(hosts=("b.example.com",)),)})
    assert not gateway_serves(narrow, vs)


# -- the Kubescape fixtures of its Istio exposure rule -----------------------------------


def _istio_cases() -> list[tuple[str, str]]:
    root = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "kubescape"
    if not root.is_dir():
        return []
    with (root / "INDEX.tsv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    return [
        (r["case"], r["expected_failed"])
        for r in rows
        if r["rule"] == "exposure-to-internet-via-istio-ingress"
    ]


@pytest.mark.parametrize(("case", "expected_failed"), _istio_cases())
def test_kubescape_istio_exposure_fixtures(case: str, expected_failed: str) -> None:
    """Each fixture's own expected result (a non-empty expected.json: the workload is
    exposed through the VirtualService) against attackmap's exposure of the workloads."""
    inputs = shared_path(
        "corpus", "kubescape", "exposure-to-internet-via-istio-ingress", case, "input"
    )
    inv = load(inputs)
    exposed = {
        str(w.ref)
        for w in inv.workloads
        if any(r.kind == "VirtualService" for r in w.exposure.routes)
    }
    assert bool(exposed) is (expected_failed == "true")
    assert all(w.exposure.level == "external" for w in inv.workloads if str(w.ref) in exposed)
