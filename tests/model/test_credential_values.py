"""Literal env values shaped like credentials (issue 17): found whatever the variable's name,
never stored -- the model keeps ``credential_like`` and ``credential_kind``, the raw template
``<redacted:KIND>``."""

from __future__ import annotations

import json
import time

import pytest

from attackmap.model import load, relink
from attackmap.model._workload import CREDENTIAL_SHAPES, credential_kind, redacted_credential

# Made-up values of each shape (AKIAIOSFODNN7EXAMPLE is AWS's documented example key).
SHAPED = {
    "AKIAIOSFODNN7EXAMPLE": "aws-access-key",
    "ASIAY34FZKBOKMUTVV7A": "aws-access-key",
    "ghp_" + "x1Y2z3" * 6: "github-token",
    "gho_" + "A" * 36: "github-token",
    "ghs_" + "Ab1" * 12: "github-token",
    "github_pat_11ABCDEFG0" + "x_y1" * 15: "github-token",
    "hf_" + "aBcDeFgHiJ" * 4: "huggingface-token",
    "nvapi-" + "Q1w2E3r4T5y6U7i8O9p0-_" * 3: "nvidia-api-key",
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJl": "jwt",
    "eyJhbGciOiJub25lIn0.eyJhZG1pbiI6dHJ1ZX0.": "jwt",
    "Bearer abcdef0123456789ABCDEF.xyz": "bearer-token",
    "Authorization: bearer 0123456789abcdef0123": "bearer-token",
    "bearer abc123def": "bearer-token",  # kubescape's env-value-lowercase-bearer fixture
    "Bearer " + "abcdefghij" * 3: "bearer-token",
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----": "private-key",
    "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk=": "private-key",
    "-----BEGIN PRIVATE KEY-----": "private-key",
    "-----BEGIN ENCRYPTED PRIVATE KEY-----": "private-key",
    "postgresql://nim:example-password@postgres:5432/nim": "url-password",
    "redis://:s3cr3t@redis.nim.svc:6379/0": "url-password",
    "amqp://guest:guest@rabbitmq/": "url-password",
    "https://user:token123@git.example.com/org/repo.git": "url-password",
    "sk-proj-" + "Ab1_" * 10: "openai-api-key",
    "sk-" + "A1b2C3d4" * 6: "openai-api-key",
    "glpat-" + "x" * 20: "gitlab-token",
    "xoxb-1234567890-abcdef": "slack-token",
    # inside a longer value
    "--token=AKIAIOSFODNN7EXAMPLE --region us-east-1": "aws-access-key",
}

# What NIM deployments put in env (model names, URLs without a password, paths, numbers,
# booleans, device lists...): none is a credential.
NIM_VALUES = [
    "meta/llama-3.1-8b-instruct",
    "llama-3.1-8b-instruct",
    "nvcr.io/nim/meta/llama-3.1-8b-instruct:1.3.3",
    "/model-store",
    "/opt/nim/.cache",
    "8000",
    "0.9",
    "1",
    "true",
    "false",
    "all",
    "0,1,2,3",
    "INFO",
    "tensorrt_llm-h100-fp8-tp1-throughput",
    "http://nim-llm.nim.svc.cluster.local:8000/v1",
    "https://integrate.api.nvidia.com/v1",
    "http://otel-collector:4318",
    "grpc://triton:8001",
    "s3://models/llama/manifest.yaml",
    "https://user@git.example.com/org/repo.git",
    "postgresql://nim:$(DB_PASSWORD)@postgres:5432/nim",
    "postgresql://nim:${DB_PASSWORD}@postgres:5432/nim",
    "ngc-api",
    "nvapi-key-secret",
    "hf_hub_cache",
    "hf_transfer",
    "sk-learn-cluster-configuration-name",
    "bearer of the model card",
    "Bearer",
    "Bearer authentication",
    "bearer token",
    "-----BEGIN CERTIFICATE-----\nMIIC",
    "-----BEGIN PUBLIC KEY-----",
    "AKIAIOSFODNN7EXAMPLEX",  # 17 characters after AKIA: not an access key id
    "eyJ",
    "<redacted>",
    "",
]


@pytest.mark.parametrize(("value", "kind"), sorted(SHAPED.items()))
def test_credential_shapes_are_recognised(value: str, kind: str) -> None:
    assert credential_kind(value) == kind


@pytest.mark.parametrize("value", NIM_VALUES)
def test_nim_values_are_not_credentials(value: str) -> None:
    assert credential_kind(value) is None


def test_every_shape_has_a_sample_and_its_starts_begin_each_match() -> None:
    """The starts are where the search begins: a match that does not begin at one of them
    (a URL: 32 characters before ``://`` at most) would be missed."""
    kinds = {k for k, _, _, _ in CREDENTIAL_SHAPES}
    assert kinds == set(SHAPED.values())
    for value, kind in SHAPED.items():
        (starts, pattern) = next((s, p) for k, s, p, _ in CREDENTIAL_SHAPES if k == kind)
        match = pattern.search(value)
        assert match is not None, value
        where = value[match.start() : match.start() + 32 + 3]
        assert any(where.startswith(s) or (s == "://" and s in where) for s in starts), value


def test_a_redacted_value_keeps_its_kind() -> None:
    for kind, _, _, _ in CREDENTIAL_SHAPES:
        assert credential_kind(redacted_credential(kind)) == kind
    assert credential_kind("<redacted:not-a-kind>") is None


@pytest.mark.parametrize(
    "value",
    [
        "eyJ" * 3_000_000,
        "a://" + "b" * 10_000_000,
        "x:" * 5_000_000 + "@",
        "://" * 3_000_000,
        "Bearer" + " " * 10_000_000,
        "-----BEGIN " + "A" * 10_000_000,
        "AKIA" * 2_500_000,
    ],
    ids=["eyJ", "scheme", "colons", "schemes", "bearer", "pem", "akia"],
)
def test_hostile_values_cost_one_linear_pass(value: str) -> None:
    start = time.perf_counter()
    credential_kind(value)
    assert time.perf_counter() - start < 2.0


POD = """
apiVersion: v1
kind: Pod
metadata: {name: p, namespace: nim}
spec:
  containers:
    - name: main
      image: nvcr.io/nim/meta/llama3:1.0
      env:
        - {name: UPSTREAM_ID, value: AKIAIOSFODNN7EXAMPLE}
        - {name: DATABASE_URL, value: "postgresql://nim:example-password@db:5432/nim"}
        - {name: NIM_MODEL_NAME, value: meta/llama-3.1-8b-instruct}
        - {name: NGC_API_KEY, value: nvapi-named-credential}
        - {name: MODEL_REVISION, valueFrom: {secretKeyRef: {name: s, key: k}}}
"""


def test_the_model_keeps_the_kind_not_the_value() -> None:
    inv = load(POD)
    (w,) = inv.workloads
    env = {e.name: e for e in w.pod.containers[0].env}
    assert (env["UPSTREAM_ID"].credential_like, env["UPSTREAM_ID"].credential_kind) == (
        True,
        "aws-access-key",
    )
    assert env["DATABASE_URL"].credential_kind == "url-password"
    assert not env["NIM_MODEL_NAME"].credential_like
    assert env["NIM_MODEL_NAME"].credential_kind is None
    # the name decides alone: no kind for a value that is not shaped like one
    assert env["NGC_API_KEY"].credential_like and env["NGC_API_KEY"].credential_kind is None
    assert not env["MODEL_REVISION"].credential_like  # an innocent name from a Secret
    dumped = json.dumps(inv.model_dump(mode="json"))
    assert "AKIAIOSFODNN7EXAMPLE" not in dumped and "example-password" not in dumped
    assert "nvapi-named-credential" not in dumped
    assert "meta/llama-3.1-8b-instruct" in dumped  # ordinary values stay in the template
    values = {e["name"]: e.get("value") for e in w.pod_template["spec"]["containers"][0]["env"]}
    assert values["UPSTREAM_ID"] == "<redacted:aws-access-key>"
    assert values["DATABASE_URL"] == "<redacted:url-password>"
    assert values["NGC_API_KEY"] == "<redacted>"


def test_a_workload_rebuilt_from_its_scrubbed_template_keeps_the_kind() -> None:
    inv = load(POD)
    (w,) = inv.workloads
    again = relink(inv, {w.ref: w.pod_template})
    env = {e.name: e for e in again.workloads[0].pod.containers[0].env}
    assert env["UPSTREAM_ID"].credential_kind == "aws-access-key"
    assert env["DATABASE_URL"].credential_like
