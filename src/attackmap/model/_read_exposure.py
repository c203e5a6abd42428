"""Readers of the exposure kinds: Ingress, Gateway API HTTPRoute/GRPCRoute, Istio Gateway
and VirtualService (their records are in ``_objects.py``).

Each kind's tolerant parse models live here, beside its ``parse_*``: the loader imports this
module when it reads the first object of one of these kinds (``_loader.py``,
``_context_object``), so a manifest set without them never defines these classes.
"""

from typing import Any

from attackmap.model._k8s import IntOrStr, K8s, StrList, StrMap
from attackmap.model._objects import (
    Ingress,
    IngressBackend,
    IstioGateway,
    IstioServer,
    Route,
    RouteBackend,
    VirtualService,
    VirtualServiceDelegate,
    VirtualServiceDestination,
)
from attackmap.model._refs import ObjectRef, SourceLocation


class _K8sIngressPort(K8s):
    number: int | None = None
    name: str | None = None


class _K8sIngressService(K8s):
    name: str
    port: _K8sIngressPort | None = None


class _K8sIngressBackend(K8s):
    service: _K8sIngressService | None = None
    service_name: str | None = None  # extensions/v1beta1
    service_port: IntOrStr | None = None
    resource: dict[str, Any] | None = None


class _K8sIngressPath(K8s):
    path: str | None = None
    path_type: str | None = None
    backend: _K8sIngressBackend | None = None


class _K8sIngressHTTP(K8s):
    paths: list[_K8sIngressPath] | None = None


class _K8sIngressRule(K8s):
    host: str | None = None
    http: _K8sIngressHTTP | None = None


class _K8sIngressTLS(K8s):
    hosts: StrList = None
    secret_name: str | None = None


class _K8sIngressSpec(K8s):
    ingress_class_name: str | None = None
    default_backend: _K8sIngressBackend | None = None
    backend: _K8sIngressBackend | None = None  # extensions/v1beta1
    rules: list[_K8sIngressRule] | None = None
    tls: list[_K8sIngressTLS] | None = None


class _K8sIngress(K8s):
    spec: _K8sIngressSpec | None = None


def _ingress_backend(
    b: _K8sIngressBackend | None, host: str | None, path: str | None
) -> IngressBackend | None:
    if b is None:
        return None
    if b.service is not None:
        port = b.service.port
        number = port.number if port is not None else None
        name = port.name if port is not None else None
        return IngressBackend(
            service=b.service.name,
            port=number if number is not None else name,
            host=host,
            path=path,
        )
    if b.service_name is not None:
        return IngressBackend(service=b.service_name, port=b.service_port, host=host, path=path)
    return None


def parse_ingress(ref: ObjectRef, raw: dict[str, Any], source: SourceLocation) -> Ingress:
    spec = _K8sIngress.model_validate(raw).spec or _K8sIngressSpec()
    backends: list[IngressBackend] = []
    default = _ingress_backend(spec.default_backend or spec.backend, None, None)
    if default:
        backends.append(default)
    for rule in spec.rules or ():
        for p in (rule.http.paths if rule.http else None) or ():
            b = _ingress_backend(p.backend, rule.host, p.path)
            if b:
                backends.append(b)
    return Ingress(
        ref=ref,
        class_name=spec.ingress_class_name,
        backends=tuple(backends),
        tls=bool(spec.tls),
        source=source,
    )


class _K8sParentRef(K8s):
    name: str
    namespace: str | None = None


class _K8sBackendRef(K8s):
    group: str | None = None
    kind: str | None = None
    name: str
    namespace: str | None = None
    port: int | None = None


class _K8sRouteRule(K8s):
    backend_refs: list[_K8sBackendRef] | None = None


class _K8sRouteSpec(K8s):
    parent_refs: list[_K8sParentRef] | None = None
    hostnames: StrList = None
    rules: list[_K8sRouteRule] | None = None


class _K8sRoute(K8s):
    spec: _K8sRouteSpec | None = None


def parse_route(ref: ObjectRef, raw: dict[str, Any], source: SourceLocation) -> Route:
    spec = _K8sRoute.model_validate(raw).spec or _K8sRouteSpec()
    backends = [
        RouteBackend(
            service=b.name,
            namespace=b.namespace or ref.namespace or "default",
            port=b.port,
        )
        for rule in spec.rules or ()
        for b in rule.backend_refs or ()
        if (b.kind or "Service") == "Service" and (b.group or "") in ("", "core")
    ]
    parents = tuple(f"{p.namespace or ref.namespace}/{p.name}" for p in spec.parent_refs or ())
    return Route(
        ref=ref,
        parents=parents,
        hostnames=tuple(spec.hostnames or ()),
        backends=tuple(backends),
        source=source,
    )


class _K8sIstioPort(K8s):
    number: int | None = None
    protocol: str | None = None
    name: str | None = None


class _K8sIstioServer(K8s):
    port: _K8sIstioPort | None = None
    hosts: StrList = None


class _K8sIstioGatewaySpec(K8s):
    selector: StrMap | None = None
    servers: list[_K8sIstioServer] | None = None


class _K8sIstioGateway(K8s):
    spec: _K8sIstioGatewaySpec | None = None


def parse_istio_gateway(
    ref: ObjectRef, raw: dict[str, Any], source: SourceLocation
) -> IstioGateway:
    spec = _K8sIstioGateway.model_validate(raw).spec or _K8sIstioGatewaySpec()
    return IstioGateway(
        ref=ref,
        selector=dict(spec.selector or {}),
        servers=tuple(
            IstioServer(
                port=s.port.number if s.port else None,
                protocol=s.port.protocol if s.port else None,
                hosts=tuple(s.hosts or ()),
            )
            for s in spec.servers or ()
        ),
        source=source,
    )


class _K8sPortSelector(K8s):
    number: int | None = None


class _K8sDestination(K8s):
    host: str
    port: _K8sPortSelector | None = None


class _K8sRouteDestination(K8s):
    destination: _K8sDestination | None = None


class _K8sIstioMatch(K8s):
    gateways: StrList = None


class _K8sDelegate(K8s):
    name: str | None = None
    namespace: str | None = None


class _K8sIstioRoute(K8s):
    """One http/tcp/tls route (the fields of the three kinds attackmap reads)."""

    match: list[_K8sIstioMatch] | None = None
    route: list[_K8sRouteDestination] | None = None
    mirror: _K8sDestination | None = None
    mirrors: list[_K8sRouteDestination] | None = None
    delegate: _K8sDelegate | None = None


class _K8sVirtualServiceSpec(K8s):
    hosts: StrList = None
    gateways: StrList = None
    http: list[_K8sIstioRoute] | None = None
    tcp: list[_K8sIstioRoute] | None = None
    tls: list[_K8sIstioRoute] | None = None


class _K8sVirtualService(K8s):
    spec: _K8sVirtualServiceSpec | None = None


def parse_virtual_service(
    ref: ObjectRef, raw: dict[str, Any], source: SourceLocation
) -> VirtualService:
    spec = _K8sVirtualService.model_validate(raw).spec or _K8sVirtualServiceSpec()
    gateways = tuple(spec.gateways or ()) or ("mesh",)
    destinations: list[VirtualServiceDestination] = []
    delegates: list[VirtualServiceDelegate] = []
    for route in (*(spec.http or ()), *(spec.tcp or ()), *(spec.tls or ())):
        matches = route.match or []
        # a match's gateways replace the VirtualService's; a match without them keeps them
        bound: set[str] = set()
        for m in matches or [_K8sIstioMatch()]:
            bound.update(m.gateways if m.gateways else gateways)
        targets = [r.destination for r in route.route or () if r.destination is not None]
        targets += [r.destination for r in route.mirrors or () if r.destination is not None]
        if route.mirror is not None:
            targets.append(route.mirror)
        for d in targets:
            destinations.append(
                VirtualServiceDestination(
                    host=d.host,
                    port=d.port.number if d.port is not None else None,
                    gateways=tuple(sorted(bound)),
                )
            )
        if route.delegate is not None and route.delegate.name:
            delegates.append(
                VirtualServiceDelegate(
                    ref=ObjectRef(
                        kind="VirtualService",
                        namespace=route.delegate.namespace or ref.namespace,
                        name=route.delegate.name,
                    ),
                    gateways=tuple(sorted(bound)),
                )
            )
    return VirtualService(
        ref=ref,
        hosts=tuple(spec.hosts or ()),
        gateways=gateways,
        destinations=tuple(destinations),
        delegates=tuple(delegates),
        source=source,
    )
