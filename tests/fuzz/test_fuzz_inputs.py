"""Fuzzing the loader, the audit reader and the seccomp parser with hypothesis.

Inputs are real files (the NIM example, the audit fixture, the packaged RuntimeDefault
table and a moby-style profile) mutated at the byte level, plus generated YAML/JSON
built from the fields these parsers care about and hostile scalars. The property: the
parser accepts the input or raises an ``AttackmapError`` -- never anything else.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from fuzz_helpers import budget
from fuzz_targets import fuzz_audit, fuzz_loader, fuzz_seccomp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

REPO = Path(__file__).resolve().parents[2]
NIM = (REPO / "examples" / "nim" / "nim-deploy-default.yaml").read_bytes()
#: typed and nested Lists as the API and kubectl write them
LISTS = (REPO / "tests" / "hostile" / "lists" / "nested-lists.yaml").read_bytes()
#: small inputs of the hostile-input fixes (wrong tags on secrets, JSON NaN, aliases, ...)
SEEDS = [p.read_bytes() for p in sorted((REPO / "tests" / "hostile" / "seeds").glob("*.*[ln]"))]
AUDIT = (REPO / "tests" / "audit" / "data" / "cluster.jsonl").read_bytes()
PROFILE = json.dumps(
    {
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": 1,
        "architectures": ["SCMP_ARCH_X86_64"],
        "syscalls": [
            {"names": ["read", "write", "unshare"], "action": "SCMP_ACT_ALLOW"},
            {
                "names": ["clone"],
                "action": "SCMP_ACT_ALLOW",
                "args": [{"index": 0, "value": 2114060288, "op": "SCMP_CMP_MASKED_EQ"}],
                "excludes": {"caps": ["CAP_SYS_ADMIN"]},
            },
        ],
    },
    indent=2,
).encode()

HOSTILE_SCALARS = [
    "!!python/object/apply:os.system ['id']",
    "!!binary aGk=",
    "!custom x",
    "&a x",
    "*a",
    "*undefined",
    ".nan",
    ".inf",
    "1e400",
    "9" * 40,
    "0x" + "f" * 30,
    "1:2:3:4",
    "1:00",
    "1e3",
    "1e999",
    "NaN",
    "-Infinity",
    "~",
    "<<",
    "'\x00'",
    '"\\x00"',
    "12XB",
    "-1",
    "1.5Gi",
    "[",
    "{",
    "? a",
    "- x",
    "|",
    "%YAML 1.1",
    "---",
    "...",
    "\t",
    "\ufeff",
]
KEYS = [
    "apiVersion", "kind", "metadata", "name", "namespace", "labels", "spec", "template",
    "containers", "initContainers", "securityContext", "privileged", "capabilities", "add",
    "hostPath", "path", "volumes", "volumeMounts", "hostPID", "hostNetwork", "ports",
    "containerPort", "hostPort", "resources", "limits", "nvidia.com/gpu", "memory", "env",
    "value", "valueFrom", "seccompProfile", "type", "rules", "verbs", "subjects", "roleRef",
    "selector", "items", "<<", "defaultAction", "syscalls", "names", "action", "args",
    "verb", "stage", "user", "objectRef", "requestObject", "annotations", "auditID",
]  # fmt: skip
SETTINGS = settings(
    max_examples=budget(60), deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

scalars = st.one_of(
    st.sampled_from(HOSTILE_SCALARS),
    st.integers(),
    st.floats(),
    st.booleans(),
    st.none(),
    st.text(max_size=20),
)
trees = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(KEYS), inner, max_size=5)
    ),
    max_leaves=25,
)


@st.composite
def mutated(draw: st.DrawFn, original: bytes) -> bytes:
    """``original`` with a few random byte-level edits (delete, insert, replace, splice)."""
    data = bytearray(original)
    for _ in range(draw(st.integers(1, 4))):
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        op = draw(st.sampled_from(["delete", "insert", "replace", "duplicate", "scalar"]))
        if op == "delete":
            del data[at : at + draw(st.integers(1, 64))]
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif op == "replace":
            data[at] = draw(st.integers(0, 255))
        elif op == "duplicate":
            end = at + draw(st.integers(1, 200))
            data[end:end] = data[at:end]
        else:
            data[at:at] = draw(st.sampled_from(HOSTILE_SCALARS)).encode()
    return bytes(data)


def _yaml(tree: Any, flow: bool) -> bytes:
    return yaml.safe_dump(tree, default_flow_style=flow, allow_unicode=True).encode(
        "utf-8", "surrogatepass"
    )


@SETTINGS
@given(st.one_of(mutated(NIM), mutated(LISTS), *map(mutated, SEEDS), st.binary(max_size=300)))
def test_loader_raises_only_attackmap_errors_on_mutated_manifests(data: bytes) -> None:
    fuzz_loader(data)


@SETTINGS
@given(
    trees,
    st.booleans(),
    st.sampled_from(["Pod", "Deployment", "Service", "Role", "List", "PodList", "DeploymentList"]),
)
def test_loader_raises_only_attackmap_errors_on_generated_documents(
    tree: Any, flow: bool, kind: str
) -> None:
    doc = {"apiVersion": "v1", "kind": kind, "metadata": {"name": "x"}, "spec": tree}
    if isinstance(tree, dict):
        doc.update(tree)
    text = _yaml(doc, flow)
    fuzz_loader(text)
    # the same text with its plain scalars replaced by hostile ones
    fuzz_loader(text.replace(b"x\n", b"*a\n").replace(b": null", b": !!python/none ''"))


@SETTINGS
@given(st.one_of(mutated(AUDIT), st.binary(max_size=300)))
def test_audit_reader_raises_only_attackmap_errors(data: bytes) -> None:
    fuzz_audit(data)


@SETTINGS
@given(trees)
def test_audit_reader_on_generated_events(tree: Any) -> None:
    event = {
        "apiVersion": "audit.k8s.io/v1",
        "kind": "Event",
        "verb": "create",
        "stage": "ResponseComplete",
    }
    if isinstance(tree, dict):
        event.update(tree)
    else:
        event["requestObject"] = tree
    try:
        line = json.dumps(event, allow_nan=True).encode()
    except (TypeError, ValueError):
        return
    fuzz_audit(line + b"\n" + line)


@SETTINGS
@given(st.one_of(mutated(PROFILE), st.binary(max_size=300)))
def test_seccomp_parser_raises_only_attackmap_errors(data: bytes) -> None:
    fuzz_seccomp(data)


@SETTINGS
@given(trees, st.booleans())
def test_seccomp_parser_on_generated_profiles(tree: Any, flow: bool) -> None:
    doc: dict[str, Any] = {"defaultAction": "SCMP_ACT_ERRNO", "syscalls": tree}
    if isinstance(tree, dict):
        doc.update(tree)
    fuzz_seccomp(_yaml(doc, flow))
