"""Deterministic generator of large, realistic Kubernetes audit logs (for benchmarks).

The mix follows a busy cluster running NIM: mostly ``Metadata``-level get/list/watch by
controllers and ServiceAccounts, leases, some ``Request``-level pod creations (a few
privileged, with PSA annotations), RoleBindings, exec, secret reads, event deletions; a
fifth of the requests also log ``RequestReceived`` (as with a policy that does not omit it),
watches log ``ResponseStarted``. The same seed always gives byte-identical output.

    python benchmarks/gen_audit.py OUT.jsonl --bytes 100000000
    python benchmarks/gen_audit.py OUT.jsonl --events 1000000
"""

from __future__ import annotations

import argparse
import json
import random
from collections.abc import Iterator
from pathlib import Path

_NAMESPACES = ["nim", "nim-operator", "gpu-operator", "kube-system", "monitoring", "default"]
_SAS = [
    "system:serviceaccount:nim:nim-llm",
    "system:serviceaccount:nim-operator:nim-operator",
    "system:serviceaccount:gpu-operator:gpu-operator",
    "system:serviceaccount:monitoring:prometheus",
    "system:serviceaccount:kube-system:replicaset-controller",
    "system:serviceaccount:kube-system:endpointslice-controller",
    "system:kube-scheduler",
    "system:node:gpu-node-1",
    "alice@example.com",
]
_RESOURCES = [
    ("", "pods"),
    ("", "configmaps"),
    ("", "services"),
    ("", "endpoints"),
    ("apps", "deployments"),
    ("coordination.k8s.io", "leases"),
    ("", "secrets"),
    ("", "events"),
    ("discovery.k8s.io", "endpointslices"),
    ("apps.nvidia.com", "nimservices"),
]
_VIOLATIONS = (
    'would violate PodSecurity "restricted:latest": allowPrivilegeEscalation != false '
    '(container "nim-llm" must set securityContext.allowPrivilegeEscalation=false), '
    'unrestricted capabilities (container "nim-llm" must set securityContext.capabilities.drop=["ALL"]), '
    'runAsNonRoot != true (pod or container "nim-llm" must set securityContext.runAsNonRoot=true), '
    'seccompProfile (pod or container "nim-llm" must set securityContext.seccompProfile.type to '
    '"RuntimeDefault" or "Localhost")'
)


def _ts(i: int) -> str:
    s = i // 50
    return f"2026-03-10T{(s // 3600) % 24:02d}:{(s // 60) % 60:02d}:{s % 60:02d}.{(i % 50) * 20000:06d}Z"


def _uid(rng: random.Random) -> str:
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _pod(rng: random.Random, ns: str, privileged: bool) -> dict[str, object]:
    sc: dict[str, object] = {"privileged": True} if privileged else {"runAsUser": 1000}
    spec: dict[str, object] = {
        "serviceAccountName": "nim-llm",
        "containers": [
            {
                "name": "nim-llm",
                "image": "nvcr.io/nim/meta/llama3-8b-instruct:1.0.0",
                "securityContext": sc,
                "env": [{"name": "NIM_CACHE_PATH", "value": "/opt/nim/.cache"}],
                "resources": {"limits": {"nvidia.com/gpu": "1"}},
            }
        ],
        "volumes": [{"name": "dshm", "emptyDir": {"medium": "Memory"}}],
    }
    if privileged:
        spec["hostPID"] = True
        spec["volumes"] = [{"name": "host", "hostPath": {"path": "/", "type": "Directory"}}]
    h = f"{rng.getrandbits(32):08x}"[:9]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "generateName": f"llama3-8b-instruct-{h}-",
            "namespace": ns,
            "labels": {"app.kubernetes.io/name": "nim-llm", "pod-template-hash": h},
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "name": f"llama3-8b-instruct-{h}",
                    "uid": _uid(rng),
                    "controller": True,
                }
            ],
        },
        "spec": spec,
    }


def events(seed: int = 20260310) -> Iterator[str]:
    """An endless, deterministic stream of audit-event lines (no trailing newline)."""
    rng = random.Random(seed)
    i = 0
    while True:
        i += 1
        user = rng.choice(_SAS)
        ns = rng.choice(_NAMESPACES)
        group, resource = rng.choice(_RESOURCES)
        verb = rng.choices(
            ["get", "list", "watch", "update", "patch", "create", "delete"],
            weights=[40, 15, 10, 15, 8, 10, 2],
        )[0]
        name = "" if verb in ("list", "watch") else f"{resource[:-1]}-{rng.randrange(500)}"
        ref: dict[str, object] = {"resource": resource, "namespace": ns, "apiVersion": "v1"}
        if group:
            ref["apiGroup"] = group
        if name:
            ref["name"] = name
        prefix = f"/apis/{group}/v1" if group else "/api/v1"
        uri = f"{prefix}/namespaces/{ns}/{resource}" + (f"/{name}" if name else "")
        if verb == "watch":
            uri += "?allowWatchBookmarks=true&resourceVersion=123456&watch=true"
        event: dict[str, object] = {
            "kind": "Event",
            "apiVersion": "audit.k8s.io/v1",
            "level": "Metadata",
            "auditID": _uid(rng),
            "stage": "ResponseComplete",
            "requestURI": uri,
            "verb": verb,
            "user": {
                "username": user,
                "uid": _uid(rng),
                "groups": ["system:serviceaccounts", "system:authenticated"],
            },
            "sourceIPs": [f"10.244.{rng.randrange(8)}.{rng.randrange(250)}"],
            "userAgent": "manager/v0.0.0 (linux/amd64) kubernetes/$Format",
            "objectRef": ref,
            "responseStatus": {"metadata": {}, "code": 200},
            "requestReceivedTimestamp": _ts(i),
            "stageTimestamp": _ts(i + 1),
            "annotations": {
                "authorization.k8s.io/decision": "allow",
                "authorization.k8s.io/reason": 'RBAC: allowed by ClusterRoleBinding "x" of ClusterRole "x" to ServiceAccount "y"',
            },
        }
        roll = rng.random()
        if roll < 0.03 and resource == "pods" and verb == "create":
            event["level"] = "Request"
            privileged = rng.random() < 0.2
            event["requestObject"] = _pod(rng, ns, privileged)
            annotations = event["annotations"]
            assert isinstance(annotations, dict)
            annotations["pod-security.kubernetes.io/enforce-policy"] = "baseline:latest"
            annotations["pod-security.kubernetes.io/audit-violations"] = _VIOLATIONS
            event["responseStatus"] = {"metadata": {}, "code": 201}
        elif roll < 0.04:
            event["annotations"] = {"authorization.k8s.io/decision": "forbid"}
            event["responseStatus"] = {"metadata": {}, "code": 403, "reason": "Forbidden"}
        if rng.random() < 0.2:
            first = dict(event, stage="RequestReceived")
            first.pop("responseStatus", None)
            first.pop("requestObject", None)
            yield json.dumps(first, separators=(",", ":"))
        if verb == "watch":
            yield json.dumps(dict(event, stage="ResponseStarted"), separators=(",", ":"))
        yield json.dumps(event, separators=(",", ":"))


def generate(path: Path, *, max_bytes: int | None = None, max_events: int | None = None) -> int:
    """Write lines to ``path`` until ``max_bytes`` or ``max_events`` lines; return the size."""
    written = lines = 0
    with path.open("w", encoding="utf-8") as f:
        for line in events():
            f.write(line)
            f.write("\n")
            written += len(line) + 1
            lines += 1
            if (max_bytes is not None and written >= max_bytes) or (
                max_events is not None and lines >= max_events
            ):
                break
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--bytes", type=int, default=None)
    parser.add_argument("--events", type=int, default=None)
    args = parser.parse_args()
    if args.bytes is None and args.events is None:
        parser.error("give --bytes or --events")
    size = generate(args.out, max_bytes=args.bytes, max_events=args.events)
    print(json.dumps({"path": str(args.out), "bytes": size}))


if __name__ == "__main__":
    main()
