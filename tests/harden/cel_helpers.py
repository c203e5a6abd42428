"""Evaluating emitted admission policies with a real CEL implementation (``cel-python``).

Expressions are read from the *emitted files* (the ValidatingAdmissionPolicy and Kyverno
ClusterPolicy YAML), so what is verified is what a user applies. An expression that does not
evaluate to a bool (an evaluation error: a missing field read without ``has()``) fails the
test: the API server would deny with an error nobody can act on.
"""

from __future__ import annotations

import functools
from typing import Any

import pytest
import yaml


def _celpy() -> Any:
    return pytest.importorskip(
        "celpy",
        reason="cel-python is needed to evaluate the emitted CEL (pip install "
        "'attackmap[cel]'; `make venv` installs it with the dev extra)",
    )


@functools.cache
def _program(expression: str) -> Any:
    env = _celpy().Environment()
    return env.program(env.compile(expression))


def holds(expression: str, pod: dict[str, Any]) -> bool:
    """Whether ``expression`` admits ``pod`` (``object``); fails the test on an error."""
    celpy = _celpy()
    result = _program(expression).evaluate({"object": celpy.json_to_cel(pod)})
    assert isinstance(result, celpy.celtypes.BoolType), f"{expression!r} gave {result!r}"
    return bool(result)


def denials(validations: list[tuple[str, str]], pod: dict[str, Any]) -> list[str]:
    """The messages of the (expression, message) pairs that deny ``pod``."""
    return [message for expression, message in validations if not holds(expression, pod)]


def documents(text: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(text) if isinstance(d, dict)]


def vap_validations(text: str) -> dict[str, list[tuple[str, str]]]:
    """workload -> its ValidatingAdmissionPolicy's (expression, message) pairs; checks
    that each policy has a binding that denies."""
    docs = documents(text)
    bindings = {
        d["spec"]["policyName"]: d["spec"]
        for d in docs
        if d["kind"] == "ValidatingAdmissionPolicyBinding"
    }
    out: dict[str, list[tuple[str, str]]] = {}
    for d in docs:
        if d["kind"] != "ValidatingAdmissionPolicy":
            continue
        assert d["apiVersion"] == "admissionregistration.k8s.io/v1"
        assert "Deny" in bindings[d["metadata"]["name"]]["validationActions"]
        assert d["spec"]["failurePolicy"] == "Fail"
        workload = (d["metadata"].get("annotations") or {}).get("attackmap.io/workload")
        if workload:
            out[workload] = [(v["expression"], v["message"]) for v in d["spec"]["validations"]]
    return out


def kyverno_validations(text: str) -> dict[str, list[tuple[str, str]]]:
    """workload -> its ClusterPolicy's CEL (expression, message) pairs."""
    out: dict[str, list[tuple[str, str]]] = {}
    for d in documents(text):
        workload = (d["metadata"].get("annotations") or {}).get("attackmap.io/workload")
        if not workload:
            continue
        pairs = []
        for rule in d["spec"]["rules"]:
            for e in rule.get("validate", {}).get("cel", {}).get("expressions", []):
                pairs.append((e["expression"], e["message"]))
        out[workload] = pairs
    return out


def guard_validations(text: str) -> dict[str, list[tuple[str, str]]]:
    """namespace -> the guard policy's (expression, message) pairs (VAP)."""
    out: dict[str, list[tuple[str, str]]] = {}
    for d in documents(text):
        if d["kind"] == "ValidatingAdmissionPolicy" and d["metadata"]["name"].endswith("-guard"):
            ns = d["spec"]["matchConstraints"]["namespaceSelector"]["matchLabels"][
                "kubernetes.io/metadata.name"
            ]
            out[ns] = [(v["expression"], v["message"]) for v in d["spec"]["validations"]]
    return out
