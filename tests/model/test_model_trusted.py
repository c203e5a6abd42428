"""The loader builds its normalised models without re-validating them (``_refs.trusted``,
``_refs.replace``) for speed. These tests check that this shortcut never produces a model
that validation would reject or build differently: every model reachable from the
inventories of the reference corpora is validated again, field by field, and compared.
"""

from __future__ import annotations

import gc
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError
from tests.conftest import shared_path

from attackmap.errors import InputError
from attackmap.model import Container, Inventory, ObjectRef, Port, load, relink
from attackmap.model._refs import replace, trusted


def _revalidate(model: BaseModel, seen: set[int]) -> int:
    """Validate ``model`` again from its own field values (nested models first) and
    assert the result equals it and has the same set fields; return the models checked."""
    if id(model) in seen:
        return 0
    seen.add(id(model))
    count = 1
    values = {name: getattr(model, name) for name in type(model).model_fields}
    for value in values.values():
        for item in _models(value):
            count += _revalidate(item, seen)
    again = type(model).model_validate(values)
    assert again == model, type(model).__name__
    assert model.model_fields_set <= set(type(model).model_fields)
    return count


def _models(value: Any) -> list[BaseModel]:
    if isinstance(value, BaseModel):
        return [value]
    if isinstance(value, tuple | list):
        return [m for v in value for m in _models(v)]
    if isinstance(value, dict):
        return [m for v in value.values() for m in _models(v)]
    return []


def _check(inv: Inventory) -> int:
    seen: set[int] = set()
    return sum(_revalidate(w, seen) for w in inv.workloads)


def test_corpora_models_validate_again() -> None:
    root = shared_path("corpus", "nim")
    files = sorted(p for p in root.glob("*.yaml") if p.is_file())
    checked = 0
    for f in files:
        try:
            inv = load(f)
        except InputError:
            continue
        checked += _check(inv)
    for f in sorted(shared_path("corpus", "kubehound").glob("*.yaml")):
        checked += _check(load(f))
    assert checked > 3000


def test_relinked_models_validate_again() -> None:
    manifest = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: app
        image: nginx:1.27
        ports: [{containerPort: 80, name: http}]
        securityContext: {capabilities: {add: [NET_ADMIN], drop: [all]}}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec: {selector: {app: web}, ports: [{port: 80, targetPort: http}]}
"""
    inv = load(manifest)
    w = inv.workloads[0]
    template = {"metadata": w.pod_template["metadata"], "spec": dict(w.pod_template["spec"])}
    template["spec"]["hostPID"] = True
    again = relink(inv, {w.ref: template})
    assert again.workloads[0].pod.host_pid is True
    assert again.workloads[0].exposure.level == "cluster"
    assert _check(again) > 10


def test_trusted_refuses_unknown_and_missing_fields() -> None:
    with pytest.raises(TypeError, match="unknown"):
        trusted(Port, container_port=80, colour="red")
    with pytest.raises(TypeError, match="missing"):
        trusted(Port, name="http")
    port = trusted(Port, container_port=80)
    assert port == Port(container_port=80)
    assert port.model_fields_set == {"container_port"}
    with pytest.raises(TypeError, match="unknown"):
        replace(port, colour="red")
    assert replace(port, name="x") == Port(container_port=80, name="x")


def test_trusted_models_stay_frozen_and_user_models_validate() -> None:
    c = trusted(Container, name="a", kind="regular")
    with pytest.raises(ValidationError):
        c.name = "b"  # type: ignore[misc]  # frozen: the assignment is what is tested
    # mutable defaults are not shared between instances
    assert (
        c.resources.gpu_resources
        is not trusted(Container, name="b", kind="init").resources.gpu_resources
    )
    with pytest.raises(ValidationError):
        Container(name="a", kind="regular", colour="red")  # type: ignore[call-arg]  # extra
    with pytest.raises(ValidationError):
        ObjectRef(kind="Pod", namespace=None, name=1)  # type: ignore[arg-type]  # bad type


def test_load_restores_the_garbage_collector() -> None:
    assert gc.isenabled()
    with pytest.raises(InputError):
        load("apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec: {containers: 3}\n")
    assert gc.isenabled()
    gc.disable()
    try:
        load("apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n")
        assert not gc.isenabled()
    finally:
        gc.enable()
