"""The step/control catalogue loads, validates against the bundled ATT&CK KB, and a bad
catalogue is refused with a :class:`MappingError` that names the file and the entry."""

from __future__ import annotations

import fnmatch
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from attackmap.attack import AttackKB, load_attack
from attackmap.errors import MappingError
from attackmap.graph import Catalogue, load_catalogue
from attackmap.graph._catalogue import ControlInstance
from attackmap.graph._facts import is_known_fact

REPO_ROOT = Path(__file__).resolve().parents[2]
MAPPINGS = REPO_ROOT / "mappings"


@pytest.fixture(scope="module")
def kb() -> AttackKB:
    return load_attack()


@pytest.fixture(scope="module")
def catalogue(kb: AttackKB) -> Catalogue:
    return load_catalogue(kb)


def test_packaged_catalogue_loads(catalogue: Catalogue, kb: AttackKB) -> None:
    assert catalogue.steps and catalogue.controls
    ids = [s.id for s in catalogue.steps]
    assert ids == sorted(ids) and len(ids) == len(set(ids))
    for step in catalogue.steps:
        assert kb.status(step.technique).state == "live", step.id
        for fact in step.requires.all_facts + step.requires.any_facts:
            assert is_known_fact(fact), (step.id, fact)
    for control in catalogue.controls:
        for mid in control.mitigations:
            assert kb.status(mid).state == "live", (control.id, mid)


def test_packaged_catalogue_equals_source_tree(kb: AttackKB, catalogue: Catalogue) -> None:
    """The packaged mappings are the repository's (a Path is a Traversable)."""
    assert load_catalogue(kb, root=MAPPINGS) == catalogue


# -- bad catalogues ------------------------------------------------------------------------

Mutator = Callable[[Path], None]


def _edit(path: Path, change: Callable[[dict[str, Any]], None]) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def _step(steps: list[dict[str, Any]], ident: str) -> dict[str, Any]:
    return next(s for s in steps if s["id"] == ident)


def _new_step(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "test-step",
        "title": "A test step",
        "technique": "T1611",
        "scope": "container",
        "requires": {"all": ["state:exec"]},
        "grants": [],
        "rationale": "test",
        "references": ["https://attack.mitre.org/"],
    }
    base.update(fields)
    return base


def _add_step(root: Path, step: dict[str, Any]) -> None:
    (root / "steps" / "zz-test.yaml").write_text(
        yaml.safe_dump({"steps": [step]}, sort_keys=False), encoding="utf-8"
    )


def _set_technique(tid: str) -> Mutator:
    def run(root: Path) -> None:
        _edit(
            root / "steps" / "privilege-escalation.yaml",
            lambda d: _step(d["steps"], "escape-nsenter").update(technique=tid),
        )

    return run


def _unknown_state(root: Path) -> None:
    _add_step(root, _new_step(requires={"all": ["state:no_such_state"]}))


def _required_never_granted(root: Path) -> None:
    def change(d: dict[str, Any]) -> None:
        d["states"].append({"id": "orphan", "scope": "node", "title": "never granted"})

    _edit(root / "states.yaml", change)
    _add_step(root, _new_step(scope="node", requires={"all": ["state:orphan"]}))


def _unreachable(root: Path) -> None:
    # 'orphan_a' is granted only by a step that needs 'orphan_b' and vice versa: both
    # states are granted, neither is reachable from an entry.
    def change(d: dict[str, Any]) -> None:
        d["states"] += [
            {"id": "orphan_a", "scope": "node", "title": "a"},
            {"id": "orphan_b", "scope": "node", "title": "b"},
        ]

    _edit(root / "states.yaml", change)
    (root / "steps" / "zz-test.yaml").write_text(
        yaml.safe_dump(
            {
                "steps": [
                    _new_step(
                        id="loop-a",
                        scope="node",
                        requires={"all": ["state:orphan_a"]},
                        grants=["state:orphan_b"],
                    ),
                    _new_step(
                        id="loop-b",
                        scope="node",
                        requires={"all": ["state:orphan_b"]},
                        grants=["state:orphan_a"],
                    ),
                ]
            },
            sort_keys=False,
        ),
        encoding="utf-8",
    )


def _unknown_fact(root: Path) -> None:
    _add_step(root, _new_step(requires={"all": ["state:exec", "fact:no_such_fact"]}))


def _unknown_patch_op(root: Path) -> None:
    _edit(
        root / "controls" / "container.yaml",
        lambda d: _step(d["controls"], "unprivileged").update(patch={"op": "no_such_op"}),
    )


def _unknown_mitigation(root: Path) -> None:
    _edit(
        root / "controls" / "container.yaml",
        lambda d: _step(d["controls"], "unprivileged").update(mitigations=["M9999"]),
    )


def _unknown_control_fact(root: Path) -> None:
    _edit(
        root / "controls" / "container.yaml",
        lambda d: _step(d["controls"], "unprivileged").update(removes=["fact:no_such_fact"]),
    )


def _duplicate_step(root: Path) -> None:
    _add_step(root, _new_step(id="escape-nsenter"))


def _bad_scope(root: Path) -> None:
    # a node step cannot start from a container state
    _add_step(root, _new_step(scope="node", requires={"all": ["state:exec"]}))


def _at_in_step_id(root: Path) -> None:
    # an instance's id is <step>@<scope>: the scope (and the workload owning the
    # instance) is what follows the first "@"
    _add_step(root, _new_step(id="test@step"))


def _unknown_relation(root: Path) -> None:
    _add_step(root, _new_step(target="no_such_relation", grants=["state:sa_token"]))


def _bad_yaml(root: Path) -> None:
    (root / "steps" / "zz-test.yaml").write_text("steps: [\n  - id: x\n", encoding="utf-8")


def _missing_field(root: Path) -> None:
    step = _new_step()
    del step["rationale"]
    _add_step(root, step)


CASES: dict[str, tuple[Mutator, str, str, str]] = {
    # name: (mutation, file named, entry named, message fragment)
    "unknown technique": (
        _set_technique("T9999"),
        "mappings/steps/privilege-escalation.yaml",
        "escape-nsenter",
        "unknown ATT&CK technique T9999",
    ),
    "revoked technique": (
        _set_technique("T1527"),
        "mappings/steps/privilege-escalation.yaml",
        "escape-nsenter",
        "revoked",
    ),
    "unknown state": (_unknown_state, "mappings/steps/zz-test.yaml", "test-step", "unknown state"),
    "state required never granted": (
        _required_never_granted,
        "mappings/states.yaml",
        "orphan",
        "no step grants it",
    ),
    "unreachable step": (_unreachable, "mappings/steps/zz-test.yaml", "loop-a", "can never fire"),
    "unknown fact": (_unknown_fact, "mappings/steps/zz-test.yaml", "test-step", "no_such_fact"),
    "unknown patch op": (
        _unknown_patch_op,
        "mappings/controls/container.yaml",
        "unprivileged",
        "unknown patch operation 'no_such_op'",
    ),
    "unknown mitigation": (
        _unknown_mitigation,
        "mappings/controls/container.yaml",
        "unprivileged",
        "M9999",
    ),
    "unknown control fact": (
        _unknown_control_fact,
        "mappings/controls/container.yaml",
        "unprivileged",
        "no_such_fact",
    ),
    "duplicate step": (
        _duplicate_step,
        "mappings/steps/zz-test.yaml",
        "escape-nsenter",
        "duplicate step id",
    ),
    "scope": (_bad_scope, "mappings/steps/zz-test.yaml", "test-step", "cannot start from"),
    "@ in a step id": (_at_in_step_id, "mappings/steps/zz-test.yaml", "test@step", "has no '@'"),
    "unknown relation": (
        _unknown_relation,
        "mappings/steps/zz-test.yaml",
        "test-step",
        "unknown target relation",
    ),
    "missing field": (_missing_field, "mappings/steps/zz-test.yaml", "test-step", "required"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_catalogue_is_refused(case: str, tmp_path: Path, kb: AttackKB) -> None:
    mutate, path, entry, fragment = CASES[case]
    root = tmp_path / "mappings"
    shutil.copytree(MAPPINGS, root)
    mutate(root)
    with pytest.raises(MappingError) as err:
        load_catalogue(kb, root=root)
    e = err.value
    assert e.path == path, e.summary()
    assert fragment in e.message, e.summary()
    assert entry in e.summary(), e.summary()


def test_bad_yaml_names_file_and_line(tmp_path: Path, kb: AttackKB) -> None:
    root = tmp_path / "mappings"
    shutil.copytree(MAPPINGS, root)
    _bad_yaml(root)
    with pytest.raises(MappingError) as err:
        load_catalogue(kb, root=root)
    assert err.value.path == "mappings/steps/zz-test.yaml"
    assert err.value.line is not None


def test_unmodified_copy_loads(tmp_path: Path, kb: AttackKB, catalogue: Catalogue) -> None:
    """The mutations above are the only cause of the failures: the plain copy loads."""
    root = tmp_path / "mappings"
    shutil.copytree(MAPPINGS, root)
    assert load_catalogue(kb, root=root) == catalogue


def test_techniques_outside_the_containers_matrix_are_exactly_the_slices_extras() -> None:
    # a step may cite another platform's technique (with a platform note); the bundled slice
    # keeps exactly those, so no extra technique is shipped unused and none is missing
    from attackmap.attack import load_attack
    from attackmap.attack._bundle import EXTRA_TECHNIQUES
    from attackmap.graph import load_catalogue

    kb = load_attack()
    cited = {
        s.technique
        for s in load_catalogue(kb).steps
        if kb.technique(s.technique).framework == "attack"  # ATLAS ids: data/atlas
        and "Containers" not in kb.technique(s.technique).platforms
    }
    assert cited == set(EXTRA_TECHNIQUES)
    assert kb.source.kind == "slice"
    for tid in EXTRA_TECHNIQUES:
        assert "Containers" not in kb.technique(tid).platforms


def _removes(ci: ControlInstance, fact: str) -> bool:
    """A removal as the catalogue documents it: with ``*``, an fnmatch glob; without, one
    fact named exactly."""
    return any(fnmatch.fnmatchcase(fact, p) if "*" in p else p == fact for p in ci.removes)


def _reference_transform(ci: ControlInstance, facts: frozenset[str]) -> frozenset[str]:
    return frozenset({f for f in facts if not _removes(ci, f)} | set(ci.adds))


def test_a_removal_is_a_glob_only_with_a_star() -> None:
    ci = ControlInstance(
        control="c", arg=None, title="t", removes=("a?", "b[x]*", "c*"), adds=("z",), patch={}
    )
    facts = frozenset({"a?", "ab", "bx1", "b[x]1", "c", "cd", "d"})
    assert ci.transform(facts) == {"ab", "b[x]1", "d", "z"}
    assert ci.transform(facts) == _reference_transform(ci, facts)
    assert ci.removes_any({"a?"}) and ci.removes_any({"bx"}) and ci.removes_any({"c"})
    assert not ci.removes_any({"ab", "b[x]1", "d", "z"})


def test_every_control_transforms_as_documented(catalogue: Catalogue) -> None:
    """Every packaged control, with an argument where it takes one, over facts of every
    family its removals name (matched and near misses)."""
    atoms = {a.replace("{arg}", "X") for c in catalogue.controls for a in (*c.removes, *c.adds)}
    facts = frozenset(
        f
        for atom in atoms
        for plain in (atom.removeprefix("fact:"),)
        for f in (plain, plain.replace("*", "SYS_ADMIN"), plain.replace("*", "") + "_", plain + "x")
    )
    for control in catalogue.controls:
        ci = control.instantiate("X" if control.parameter else None)
        assert ci.transform(facts) == _reference_transform(ci, facts), ci.id
        for fact in facts:
            assert ci.removes_any({fact}) == _removes(ci, fact), (ci.id, fact)


@pytest.mark.parametrize("path", ["/data/*", "/x[1]/*", "/logs/?", "/plain"])
def test_an_argument_is_literal_in_a_removal(catalogue: Catalogue, path: str) -> None:
    """A control made for a hostPath whose name holds glob characters removes the facts of
    that hostPath, not those of every path the name would match as a pattern."""
    others = {"/data/x", "/data/[x]", "/x1/a", "/x[1]/a", "/logs/a", "/plainx"} - {path}
    facts = frozenset(f"hostpath:{p}:{mode}" for p in {path, *others} for mode in ("ro", "rw"))
    for control in ("remove-hostpath", "hostpath-read-only"):
        ci = catalogue.control(control).instantiate(path)
        left = ci.transform(facts)
        assert f"hostpath:{path}:rw" not in left, (control, path)
        assert {f for f in facts if not f.startswith(f"hostpath:{path}:")} <= left, (control, path)
        assert not ci.removes_any({f for f in facts if not f.startswith(f"hostpath:{path}:")})
    # a glob of the catalogue's own ("cap_add:*") keeps matching every argument-free fact
    assert (
        catalogue.control("drop-all-capabilities")
        .instantiate(None)
        .removes_any({"cap_add:NET_RAW"})
    )


def test_the_fact_vocabulary_knows_exact_names_and_the_families_of_a_star() -> None:
    assert is_known_fact("host_users")  # named exactly
    assert is_known_fact("cap:SYS_ADMIN") and is_known_fact("cap:*")  # of "cap:*"
    assert is_known_fact("rbac:bind_roles") and is_known_fact("rbac:anything")
    assert is_known_fact("host_users:field")  # named exactly too
    assert not is_known_fact("host_users:other")  # an exact name is no prefix
    assert not is_known_fact("cap") and not is_known_fact("capx:SYS_ADMIN")
    assert not is_known_fact("") and not is_known_fact("no_such_fact")
