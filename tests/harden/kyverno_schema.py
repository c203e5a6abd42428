"""A focused structural check of the Kyverno ``ClusterPolicy`` attackmap emits.

The Kyverno CLI is not installed where these tests run, so the emitted policy is checked
against the parts of Kyverno's own schema it uses, written out here by hand from
kyverno/kyverno ``config/crds/kyverno/kyverno.io_clusterpolicies.yaml`` (version ``v1``,
the storage version) at commit 111e07bbecc66abfde36ab99969af22d7a961003 (2026-08-21), and
from the checks Kyverno's admission webhook adds in Go (``api/kyverno/v1/rule_types.go``
``ValidateRuleType``: exactly one of mutate/validate/generate/verifyImages per rule;
``pkg/validation/policy/validate.go``: no ``context`` in a CEL validate rule).

Stricter than upstream on purpose: each object lists only the properties the upstream
schema defines (``additionalProperties: false``): the API server would *prune* an unknown
field silently (a misspelt ``failureAction`` would quietly leave the rule in Audit mode),
so here it is an error. Enums, required fields and types are upstream's. Only what
attackmap emits is covered; the rest of the schema (generate, verifyImages, foreach,
preconditions ...) is deliberately left out (``additionalProperties`` would reject it).
"""

from __future__ import annotations

from typing import Any

_LABEL_SELECTOR: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "matchLabels": {"type": "object", "additionalProperties": {"type": "string"}},
        "matchExpressions": {"type": "array"},
    },
}

_RESOURCES: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "annotations": {"type": "object"},
        "kinds": {"type": "array", "items": {"type": "string"}},
        "name": {"type": "string"},
        "names": {"type": "array", "items": {"type": "string"}},
        "namespaceSelector": _LABEL_SELECTOR,
        "namespaces": {"type": "array", "items": {"type": "string"}},
        "operations": {
            "type": "array",
            "items": {"enum": ["CREATE", "CONNECT", "UPDATE", "DELETE"]},
        },
        "selector": _LABEL_SELECTOR,
    },
}

_MATCH: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "any": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "resources": _RESOURCES,
                    "clusterRoles": {"type": "array"},
                    "roles": {"type": "array"},
                    "subjects": {"type": "array"},
                },
            },
        },
        "all": {"type": "array"},
        "resources": _RESOURCES,
        "clusterRoles": {"type": "array"},
        "roles": {"type": "array"},
        "subjects": {"type": "array"},
    },
}

_CEL_EXPRESSION: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["expression"],
    "properties": {
        "expression": {"type": "string"},
        "message": {"type": "string"},
        "messageExpression": {"type": "string"},
        "reason": {"type": "string"},
    },
}

_VALIDATE: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "allowExistingViolations": {"type": "boolean"},
        "anyPattern": {},
        "assert": {},
        "cel": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "auditAnnotations": {"type": "array"},
                "expressions": {"type": "array", "items": _CEL_EXPRESSION},
                "generate": {"type": "boolean"},
                "paramKind": {"type": "object"},
                "paramRef": {"type": "object"},
                "variables": {"type": "array"},
            },
        },
        "deny": {},
        "failureAction": {"enum": ["Audit", "Enforce"]},
        "failureActionOverrides": {"type": "array"},
        "foreach": {"type": "array"},
        "manifests": {"type": "object"},
        "message": {"type": "string"},
        "pattern": {},
        "podSecurity": {"type": "object"},
    },
}

_MUTATE: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "foreach": {"type": "array"},
        "mutateExistingOnPolicyUpdate": {"type": "boolean"},
        "patchStrategicMerge": {},  # x-kubernetes-preserve-unknown-fields upstream
        "patchesJson6902": {"type": "string"},
        "targets": {"type": "array"},
    },
}

_RULE: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["match", "name"],
    "properties": {
        "name": {"type": "string", "maxLength": 63},
        "match": _MATCH,
        "exclude": _MATCH,
        "validate": _VALIDATE,
        "mutate": _MUTATE,
        "context": {"type": "array"},
        "preconditions": {},
        "celPreconditions": {"type": "array"},
        "skipBackgroundRequests": {"type": "boolean"},
    },
}

CLUSTER_POLICY: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "kyverno.io/v1"},
        "kind": {"const": "ClusterPolicy"},
        "metadata": {
            "type": "object",
            "required": ["name"],
            "properties": {
                "name": {"type": "string", "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"},
                "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
            },
        },
        "spec": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "admission": {"type": "boolean"},
                "background": {"type": "boolean"},
                "failurePolicy": {"enum": ["Ignore", "Fail"]},
                "rules": {"type": "array", "items": _RULE, "minItems": 1},
                "validationFailureAction": {"enum": ["audit", "enforce", "Audit", "Enforce"]},
                "webhookTimeoutSeconds": {"type": "integer"},
            },
        },
    },
}


def semantic_errors(policy: dict[str, Any]) -> list[str]:
    """What Kyverno's webhook refuses beyond the schema (see the module docstring)."""
    errors: list[str] = []
    rules = policy["spec"]["rules"]
    names = [r["name"] for r in rules]
    if len(set(names)) != len(names):
        errors.append(f"rule names are not unique: {names}")
    for r in rules:
        kinds = [k for k in ("mutate", "validate", "generate", "verifyImages") if k in r]
        if len(kinds) != 1:
            errors.append(f"rule {r['name']}: exactly one operation expected, got {kinds}")
        if "cel" in r.get("validate", {}) and "context" in r:
            errors.append(f"rule {r['name']}: context variables are not supported with CEL")
        validate = r.get("validate", {})
        if validate and validate.get("failureAction") != "Enforce":
            errors.append(
                f"rule {r['name']}: not enforced (failureAction {validate.get('failureAction')!r})"
            )
    return errors
