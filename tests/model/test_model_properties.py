"""Property tests: generated pods load, the merge follows Kubernetes, nothing but InputError."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from attackmap.errors import AttackmapError
from attackmap.model import LINUX_CAPABILITIES, RUNTIME_DEFAULT_CAPABILITIES, load

_opt_bool = st.one_of(st.none(), st.booleans())
_opt_uid = st.one_of(st.none(), st.integers(min_value=0, max_value=65535))
_caps = st.lists(
    st.sampled_from([*LINUX_CAPABILITIES[:8], "ALL", "cap_sys_admin", "NET_RAW"]), max_size=4
)
_profile = st.one_of(
    st.none(), st.sampled_from(["RuntimeDefault", "Unconfined"]).map(lambda t: {"type": t})
)


def _drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


@st.composite
def security_contexts(draw: st.DrawFn) -> dict[str, Any]:
    return _drop_none(
        {
            "runAsUser": draw(_opt_uid),
            "runAsGroup": draw(_opt_uid),
            "runAsNonRoot": draw(_opt_bool),
            "seccompProfile": draw(_profile),
        }
    )


@st.composite
def pods(draw: st.DrawFn) -> dict[str, Any]:
    names = draw(
        st.lists(
            st.from_regex(r"[a-z][a-z0-9]{0,6}", fullmatch=True),
            min_size=1,
            max_size=3,
            unique=True,
        )
    )
    containers = []
    for name in names:
        sc = draw(security_contexts())
        sc.update(
            _drop_none({"privileged": draw(_opt_bool), "allowPrivilegeEscalation": draw(_opt_bool)})
        )
        caps = _drop_none(
            {"add": draw(st.one_of(st.none(), _caps)), "drop": draw(st.one_of(st.none(), _caps))}
        )
        if caps:
            sc["capabilities"] = caps
        containers.append(_drop_none({"name": name, "image": "img", "securityContext": sc or None}))
    spec = {
        "containers": containers,
        "securityContext": draw(security_contexts()),
        "hostPID": draw(_opt_bool),
    }
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": _drop_none(spec)}


def _norm(caps: list[str]) -> set[str]:
    out: set[str] = set()
    for c in caps:
        c = c.upper().removeprefix("CAP_")
        out |= set(LINUX_CAPABILITIES) if c == "ALL" else {c}
    return out


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pods())
def test_generated_pods_follow_the_merge_rules(pod: dict[str, Any]) -> None:
    (w,) = load(pod).workloads
    pod_sc = pod["spec"].get("securityContext", {})
    for raw, c in zip(pod["spec"]["containers"], w.pod.containers, strict=True):
        sc = raw.get("securityContext", {})
        for field, attr in (
            ("runAsUser", "run_as_user"),
            ("runAsGroup", "run_as_group"),
            ("runAsNonRoot", "run_as_non_root"),
        ):
            expected = sc.get(field, pod_sc.get(field))
            assert getattr(c, attr) == expected
        seccomp = sc.get("seccompProfile", pod_sc.get("seccompProfile"))
        assert (c.seccomp_profile.type if c.seccomp_profile else None) == (
            seccomp["type"] if seccomp else None
        )
        assert c.privileged is bool(sc.get("privileged"))
        caps = sc.get("capabilities", {})
        expected_caps = (set(RUNTIME_DEFAULT_CAPABILITIES) - _norm(caps.get("drop", []))) | _norm(
            caps.get("add", [])
        )
        assert c.effective_capabilities == (
            frozenset(LINUX_CAPABILITIES) if c.privileged else expected_caps
        )
    assert w.pod_template["spec"] == json.loads(json.dumps(pod["spec"]))


_json = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=5)),
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
_keys = [
    "apiVersion",
    "kind",
    "metadata",
    "spec",
    "containers",
    "name",
    "template",
    "securityContext",
    "items",
    "rules",
    "subjects",
    "roleRef",
    "data",
]


@st.composite
def hostile(draw: st.DrawFn) -> Any:
    base: dict[str, Any] = {
        "apiVersion": draw(
            st.sampled_from(
                [
                    "v1",
                    "apps/v1",
                    "batch/v1",
                    "x/v1",
                    3,
                    "networking.k8s.io/v1",
                    "apps.nvidia.com/v1alpha1",
                    "rbac.authorization.k8s.io/v1",
                    "gateway.networking.k8s.io/v1",
                    "kubeflow.org/v2beta1",
                    "leaderworkerset.x-k8s.io/v1",
                    "serving.kserve.io/v1beta1",
                    "attackmap/v1",
                    "networking.istio.io/v1",
                    "cilium.io/v2",
                    "projectcalico.org/v3",
                ]
            )
        ),
        "kind": draw(
            st.sampled_from(
                [
                    "Pod",
                    "Deployment",
                    "CronJob",
                    "List",
                    "Service",
                    "NIMService",
                    "NIMCache",
                    "Role",
                    "Widget",
                    "Ingress",
                    "HTTPRoute",
                    "NetworkPolicy",
                    "PersistentVolume",
                    "Secret",
                    "ServiceAccount",
                    "RoleBinding",
                    "LeaderWorkerSet",
                    "MPIJob",
                    "InferenceService",
                    "ClusterContext",
                    "PersistentVolumeClaim",
                    "VirtualService",
                    "Gateway",
                    "CiliumNetworkPolicy",
                    "GlobalNetworkPolicy",
                ]
            )
        ),
        "metadata": draw(st.one_of(st.just({"name": "x"}), _json)),
    }
    for key in draw(st.lists(st.sampled_from(_keys), max_size=3)):
        base[key] = draw(_json)
    return base


#: YAML pieces random text almost never spells: explicit tags on values they do not fit
#: (``!!bool maybe`` and ``!!int ""`` raised KeyError/IndexError once), anchors, merges.
_YAML_PIECES = [
    "a: ", "b: ", "- ", "\n", "\n  ", "{", "}", "[", "]", ", ", "? ", ": ",
    "!!bool ", "!!int ", "!!float ", "!!null ", "!!str ", "!!timestamp ", "!!binary ",
    "!!map ", "!!seq ", "!!set ", "!!omap ", '""', "''", "maybe", "yes", "-", "0x", "0o",
    "1", "1_0", "1:30", ".", ".inf", "~", "&x ", "*x", "<<: ", "apiVersion: v1\nkind: Pod\n",
]  # fmt: skip
yaml_pieces = st.lists(st.sampled_from(_YAML_PIECES), max_size=16).map("".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        hostile(),
        st.text(max_size=200),
        st.binary(max_size=100).map(lambda b: b.decode("latin-1")),
        yaml_pieces,
    )
)
def test_no_input_raises_anything_but_attackmap_errors(data: Any) -> None:
    try:
        if isinstance(data, str):
            load(data if "\n" in data else data + "\n")
        else:
            load(data)
    except AttackmapError:
        pass
