"""Every step of the catalogue has a manifest that fires it and one that does not.

The test walks the catalogue: a step without a pair under ``manifests/steps/<step-id>/``
fails. ``fires.yaml`` must put the step in some path of the report, ``quiet.yaml`` (the
minimal change that stops exactly that step) must not; nor may any ``quiet-<name>.yaml``,
each of which removes another one of the step's required facts (one file per fact). ``options.yaml`` holds analysis
options (``entries``, ``assume_kernel_exploit``); its ``quiet`` mapping overrides them for
the quiet manifest. Every control must appear in some ``broken_by`` of the fire manifests.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import pytest
import yaml

from attackmap.attack import load_attack
from attackmap.graph import Catalogue, Report, analyze, load_catalogue

MANIFESTS = Path(__file__).resolve().parent / "manifests" / "steps"


@functools.cache
def catalogue() -> Catalogue:
    return load_catalogue(load_attack())


def _options(step: str, variant: str) -> dict[str, Any]:
    path = MANIFESTS / step / "options.yaml"
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else {}
    quiet = data.pop("quiet", {})
    if variant == "quiet":
        data.update(quiet)
    return data


@functools.cache
def report(step: str, variant: str) -> Report:
    kind = "quiet" if variant.startswith("quiet") else "fires"
    return analyze(MANIFESTS / step / f"{variant}.yaml", **_options(step, kind))


def fire_variants(step: str) -> list[str]:
    """``fires`` and any ``fires-<name>`` (the step fires through another precondition)."""
    return sorted(p.stem for p in (MANIFESTS / step).glob("fires*.yaml"))


def steps_in_paths(rep: Report) -> set[str]:
    return {s.id for w in rep.workloads for t in w.techniques for p in t.paths for s in p.steps}


STEP_IDS = [s.id for s in catalogue().steps]


def test_every_step_has_a_pair() -> None:
    missing = [
        s
        for s in STEP_IDS
        if not all((MANIFESTS / s / f"{v}.yaml").is_file() for v in ("fires", "quiet"))
    ]
    assert not missing, f"steps without fires/quiet manifests: {missing}"
    stale = sorted({p.name for p in MANIFESTS.iterdir() if p.is_dir()} - set(STEP_IDS))
    assert not stale, f"manifest folders for unknown steps: {stale}"


@pytest.mark.parametrize("step", STEP_IDS)
def test_step_fires(step: str) -> None:
    for variant in fire_variants(step):
        found = steps_in_paths(report(step, variant))
        assert step in found, f"{step}/{variant}: not in any path; steps seen: {sorted(found)}"


def quiet_variants(step: str) -> list[str]:
    """``quiet`` and any ``quiet-<name>`` (another required fact removed)."""
    return sorted(p.stem for p in (MANIFESTS / step).glob("quiet*.yaml"))


@pytest.mark.parametrize("step", STEP_IDS)
def test_step_quiet(step: str) -> None:
    for variant in quiet_variants(step):
        rep = report(step, variant)
        assert rep.workloads, f"{variant}: the quiet manifest must still contain the workload"
        found = steps_in_paths(rep)
        assert step not in found, f"{step} still in a path of {variant}.yaml"


@pytest.mark.parametrize("step", STEP_IDS)
def test_step_technique_reported(step: str) -> None:
    """The report lists the step's technique, with a path ending in the step."""
    technique = catalogue().step(step).technique
    rep = report(step, "fires")
    ends = {
        p.steps[-1].id
        for w in rep.workloads
        for t in w.techniques
        if t.technique.id == technique
        for p in t.paths
    }
    assert step in ends


def test_every_control_breaks_some_path() -> None:
    seen: set[str] = set()
    for step, variant in ((s, v) for s in STEP_IDS for v in fire_variants(s)):
        rep = report(step, variant)
        for w in rep.workloads:
            for t in w.techniques:
                for p in t.paths:
                    seen.update(c.split("@")[0].split(":")[0] for c in p.broken_by)
    missing = sorted({c.id for c in catalogue().controls} - seen)
    assert not missing, f"controls never in a broken_by: {missing}"
