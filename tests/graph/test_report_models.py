"""The report's models built by ``trusted`` (the analysis and the report reader) are the
objects ``model_construct`` makes: the same fields in the same order, the same fields-set,
no extra or private values, equal, hashing, pickling, dumping and printing alike."""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import BaseModel

from attackmap.graph import Report, analyze
from attackmap.graph._report import FactUse, PathStep, TechniqueFinding, trusted
from attackmap.graph._report import Path as ReportPath

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "nim" / "nim-deploy-default.yaml"

TRUSTED = (FactUse, PathStep, ReportPath, TechniqueFinding)


@pytest.fixture(scope="module")
def report() -> Report:
    return analyze(EXAMPLE)


def _objects(report: Report) -> Iterator[BaseModel]:
    for w in report.workloads:
        for t in w.techniques:
            yield t
            for p in t.paths:
                yield p
                for s in p.steps:
                    yield s
                    yield from s.facts


def _assert_constructed(obj: BaseModel) -> None:
    cls = type(obj)
    made = cls.model_construct(set(obj.model_fields_set), **obj.__dict__)
    assert list(obj.__dict__) == list(cls.model_fields) == list(made.__dict__)
    assert obj.__dict__ == made.__dict__
    assert obj.model_fields_set == made.model_fields_set == set(cls.model_fields)
    assert obj.__pydantic_extra__ is None and made.__pydantic_extra__ is None
    assert obj.__pydantic_private__ is None and made.__pydantic_private__ is None
    assert obj == made and hash(obj) == hash(made)
    assert repr(obj) == repr(made)
    assert obj.model_dump() == made.model_dump()
    assert obj.model_dump_json() == made.model_dump_json()
    again = pickle.loads(pickle.dumps(obj))  # noqa: S301 - our own object, pickled here
    assert again == obj and list(again.__dict__) == list(obj.__dict__)
    assert again.model_fields_set == obj.model_fields_set
    first = next(iter(cls.model_fields))
    copied = obj.model_copy(update={first: getattr(obj, first)})
    assert copied == obj  # the fields-set the objects share is copied, never changed
    assert copied.model_fields_set is not obj.model_fields_set


@pytest.mark.parametrize("cls", TRUSTED)
def test_trusted_models_have_nothing_model_construct_would_add(cls: type[BaseModel]) -> None:
    """What ``trusted`` leaves out of ``model_construct``: aliases, extra values, private
    attributes, post-init hooks and root models; none of these in the models it builds."""
    assert cls.__pydantic_post_init__ is None
    assert not cls.__pydantic_root_model__
    assert cls.model_config.get("extra") == "forbid"
    assert not cls.__private_attributes__
    for field in cls.model_fields.values():
        assert field.alias is None and field.validation_alias is None


def test_trusted_is_model_construct() -> None:
    use = trusted(
        FactUse, {"fact", "path", "line", "field", "detail"}, fact="a", path="p", line=3,
        field="f", detail="",
    )  # fmt: skip
    _assert_constructed(use)
    assert use == FactUse(fact="a", path="p", line=3, field="f", detail="")


@pytest.mark.parametrize("read", [False, True], ids=["analysed", "read back"])
def test_every_report_object_is_model_constructs(report: Report, read: bool) -> None:
    if read:
        report = Report.from_json(report.to_json())
    seen: set[type] = set()
    for obj in _objects(report):
        _assert_constructed(obj)
        seen.add(type(obj))
    assert seen == set(TRUSTED)
