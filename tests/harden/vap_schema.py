"""A focused structural check of the ValidatingAdmissionPolicy (+ binding) attackmap emits.

Written by hand from kubernetes/api ``admissionregistration/v1/types.go`` at commit
10b39a39bcee995dfe7cd5e8e7b922be5e46f1e2 (2026-07-24): the fields of
``ValidatingAdmissionPolicySpec``, ``MatchResources``, ``NamedRuleWithOperations``,
``Validation`` and ``ValidatingAdmissionPolicyBindingSpec`` with their documented enums
(``failurePolicy`` Ignore/Fail, ``operations``, ``reason``, ``validationActions``
Deny/Warn/Audit) and the documented rules the API server enforces on what we emit: a
message has no line break, an expression is required, a binding names its policy. Unknown
fields are errors here (the API server would drop them: a misspelt ``validationActions``
would leave a binding that denies nothing). Only the fields attackmap emits or may emit
are listed (``additionalProperties`` rejects the rest).
"""

from __future__ import annotations

from typing import Any

_SELECTOR: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "matchLabels": {"type": "object", "additionalProperties": {"type": "string"}},
        "matchExpressions": {"type": "array"},
    },
}

_RULE: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["apiGroups", "apiVersions", "operations", "resources"],
    "properties": {
        "apiGroups": {"type": "array", "items": {"type": "string"}, "minItems": 1},
        "apiVersions": {"type": "array", "items": {"type": "string"}, "minItems": 1},
        "operations": {
            "type": "array",
            "minItems": 1,
            "items": {"enum": ["*", "CREATE", "UPDATE", "DELETE", "CONNECT"]},
        },
        "resources": {"type": "array", "items": {"type": "string"}, "minItems": 1},
        "resourceNames": {"type": "array", "items": {"type": "string"}},
        "scope": {"enum": ["Cluster", "Namespaced", "*"]},
    },
}

_MATCH: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["resourceRules"],
    "properties": {
        "namespaceSelector": _SELECTOR,
        "objectSelector": _SELECTOR,
        "resourceRules": {"type": "array", "items": _RULE, "minItems": 1},
        "excludeResourceRules": {"type": "array", "items": _RULE},
        "matchPolicy": {"enum": ["Exact", "Equivalent"]},
    },
}

_METADATA: dict[str, Any] = {
    "type": "object",
    "required": ["name"],
    "properties": {
        "name": {"type": "string", "pattern": "^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"},
        "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
    },
}

POLICY: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "admissionregistration.k8s.io/v1"},
        "kind": {"const": "ValidatingAdmissionPolicy"},
        "metadata": _METADATA,
        "spec": {
            "type": "object",
            "additionalProperties": False,
            "required": ["matchConstraints", "validations"],
            "properties": {
                "failurePolicy": {"enum": ["Ignore", "Fail"]},
                "matchConstraints": _MATCH,
                "matchConditions": {"type": "array"},
                "variables": {"type": "array"},
                "validations": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["expression"],
                        "properties": {
                            "expression": {"type": "string", "minLength": 1},
                            "message": {"type": "string", "pattern": "^[^\\n\\r]*$"},
                            "messageExpression": {"type": "string"},
                            "reason": {
                                "enum": [
                                    "Unauthorized",
                                    "Forbidden",
                                    "Invalid",
                                    "RequestEntityTooLarge",
                                ]
                            },
                        },
                    },
                },
            },
        },
    },
}

BINDING: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "admissionregistration.k8s.io/v1"},
        "kind": {"const": "ValidatingAdmissionPolicyBinding"},
        "metadata": _METADATA,
        "spec": {
            "type": "object",
            "additionalProperties": False,
            "required": ["policyName", "validationActions"],
            "properties": {
                "policyName": {"type": "string", "minLength": 1},
                "validationActions": {
                    "type": "array",
                    "minItems": 1,
                    "uniqueItems": True,
                    "items": {"enum": ["Deny", "Warn", "Audit"]},
                },
                "matchResources": _MATCH,
                "paramRef": {"type": "object"},
            },
        },
    },
}
