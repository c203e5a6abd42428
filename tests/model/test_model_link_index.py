"""Linking looks things up by key instead of scanning: it must find exactly what a scan finds.

* the bindings of a ServiceAccount are those :meth:`Binding.binds` accepts, in input order
  (generated bindings with every subject form the RBAC authorizer matches, and near misses);
* Ingresses and Gateway API routes expose a workload only through Services of its own
  namespace, however many other namespaces have routes with the same Service names.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from attackmap.model import load
from attackmap.model._links import _BindingIndex, _permissions
from attackmap.model._rbac import Binding, Role, RoleRule, Subject
from attackmap.model._refs import ObjectRef

NAMESPACES = ["a", "b", "a:b"]
ACCOUNTS = ["x", "y", "b:x"]
GROUPS = [
    "system:serviceaccounts",
    "system:serviceaccounts:a",
    "system:serviceaccounts:b",
    "system:serviceaccounts:a:b",
    "system:authenticated",
    "system:unauthenticated",
    "developers",
]
USERS = [f"system:serviceaccount:{ns}:{sa}" for ns in NAMESPACES for sa in ACCOUNTS] + ["alice"]

_subjects = st.one_of(
    st.builds(
        Subject,
        kind=st.just("ServiceAccount"),
        name=st.sampled_from(ACCOUNTS),
        namespace=st.one_of(st.none(), st.just(""), st.sampled_from(NAMESPACES)),
    ),
    st.builds(Subject, kind=st.just("Group"), name=st.sampled_from(GROUPS)),
    st.builds(Subject, kind=st.just("User"), name=st.sampled_from(USERS + GROUPS)),
    st.builds(Subject, kind=st.sampled_from(["group", "Other"]), name=st.sampled_from(GROUPS)),
)


@st.composite
def _bindings(draw: st.DrawFn) -> tuple[Binding, ...]:
    out = []
    for i in range(draw(st.integers(min_value=0, max_value=12))):
        cluster = draw(st.booleans())
        out.append(
            Binding(
                ref=ObjectRef(
                    kind="ClusterRoleBinding" if cluster else "RoleBinding",
                    namespace=None if cluster else draw(st.sampled_from(NAMESPACES)),
                    name=f"b{i}",
                ),
                role_ref=ObjectRef(kind="ClusterRole", namespace=None, name="r"),
                subjects=tuple(draw(st.lists(_subjects, max_size=4))),
            )
        )
    return tuple(out)


@settings(max_examples=300, deadline=None)
@given(_bindings())
def test_binding_index_finds_what_binds_accepts(bindings: tuple[Binding, ...]) -> None:
    index = _BindingIndex(bindings)
    role = Role(
        ref=ObjectRef(kind="ClusterRole", namespace=None, name="r"),
        rules=(RoleRule(api_groups=("",), resources=("secrets",), verbs=("get",)),),
    )
    roles = {role.ref: role}
    for ns in NAMESPACES:
        for sa in ACCOUNTS:
            assert index.of(ns, sa) == [b for b in bindings if b.binds(ns, sa)], (ns, sa)
            # the graph passes the bindings themselves: same rules, same order
            by_scan = _permissions(ns, sa, bindings, roles)
            assert _permissions(ns, sa, index, roles) == by_scan
            assert [r.via for r in by_scan] == [b.ref for b in index.of(ns, sa)]


def _namespace_docs(ns: str) -> str:
    return f"""\
apiVersion: apps/v1
kind: Deployment
metadata: {{name: llm, namespace: {ns}}}
spec:
  selector: {{matchLabels: {{app: llm}}}}
  template:
    metadata: {{labels: {{app: llm}}}}
    spec:
      containers: [{{name: c, image: nim, ports: [{{containerPort: 8000}}]}}]
---
apiVersion: v1
kind: Service
metadata: {{name: llm, namespace: {ns}}}
spec:
  selector: {{app: llm}}
  ports: [{{port: 80, targetPort: 8000}}]
"""


def test_gateways_expose_only_their_own_namespace() -> None:
    ingress = """\
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: llm, namespace: public}
spec:
  rules:
  - http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: llm, port: {number: 80}}}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: llm, namespace: gateways}
spec:
  parentRefs: [{name: gw}]
  rules:
  - backendRefs: [{name: llm, namespace: routed, port: 80}]
"""
    docs = [_namespace_docs(ns) for ns in ("public", "routed", "private", "gateways")]
    inv = load("---\n".join([*docs, ingress]))
    kinds = {
        w.namespace: sorted({r.kind for r in w.exposure.routes if r.kind != "Service"})
        for w in inv.workloads
    }
    assert kinds == {
        "gateways": [],
        "private": [],
        "public": ["Ingress"],
        "routed": ["HTTPRoute"],
    }
    levels = {w.namespace: w.exposure.level for w in inv.workloads}
    assert levels == {
        "gateways": "cluster",
        "private": "cluster",
        "public": "external",
        "routed": "external",
    }
