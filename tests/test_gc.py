"""attackmap._gc: the cyclic collector is paused around bulk building and always restored."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from attackmap._gc import paused, without_gc
from attackmap.errors import AttackmapError
from attackmap.graph import _analysis, analyze

NIM = Path(__file__).resolve().parents[1] / "examples" / "nim" / "nim-deploy-default.yaml"


@pytest.fixture(autouse=True)
def _collector_enabled() -> Iterator[None]:
    gc.enable()
    yield
    gc.enable()


def test_paused_pauses_and_restores() -> None:
    with paused():
        assert not gc.isenabled()
        with paused():  # nested: the inner block must not re-enable it
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_paused_restores_after_an_exception() -> None:
    with pytest.raises(ValueError), paused():
        raise ValueError("boom")
    assert gc.isenabled()


def test_paused_leaves_a_disabled_collector_disabled() -> None:
    gc.disable()
    with paused():
        pass
    assert not gc.isenabled()


def test_without_gc_wraps_a_function() -> None:
    @without_gc
    def state(x: int) -> tuple[int, bool]:
        return x, gc.isenabled()

    assert state(3) == (3, False)
    assert state.__name__ == "state"
    assert gc.isenabled()


def test_analyze_runs_with_the_collector_paused_and_restores_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[bool] = []
    report = _analysis.Analyzer.report

    def spy(self: _analysis.Analyzer, **options: Any) -> _analysis.Report:
        seen.append(gc.isenabled())
        return report(self, **options)

    monkeypatch.setattr(_analysis.Analyzer, "report", spy)
    assert analyze(NIM).workloads
    assert seen == [False]
    assert gc.isenabled()


def test_analyze_restores_the_collector_when_it_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(self: _analysis.Analyzer, **options: Any) -> _analysis.Report:
        raise AttackmapError("injected")

    monkeypatch.setattr(_analysis.Analyzer, "report", fail)
    with pytest.raises(AttackmapError, match="injected"):
        analyze(NIM)
    assert gc.isenabled()


def test_objects_built_while_paused_leave_the_young_generation() -> None:
    """Re-enabled, the collector's first young collection must not walk everything built
    while it was paused: those objects are promoted to the oldest generation."""
    gc.collect()
    with paused():
        built = [{"i": [i]} for i in range(50_000)]
        assert len(gc.get_objects(generation=0)) > 100_000
    assert len(gc.get_objects(generation=0)) < 1_000
    assert any(o is built for o in gc.get_objects(generation=2))
    assert gc.get_freeze_count() == 0
    del built
    gc.collect()  # still collectable: nothing is left frozen


def test_objects_a_program_froze_stay_frozen() -> None:
    """A program that keeps objects frozen (``gc.freeze()`` before forking workers) keeps
    them frozen: nothing is promoted then (unfreezing would thaw the program's objects)."""
    gc.collect()
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with paused():
            built = [{"i": [i]} for i in range(1_000)]
        assert gc.get_freeze_count() == frozen
        assert not any(o is built for o in gc.get_objects(generation=2))  # not promoted
    finally:
        gc.unfreeze()


def test_a_paused_region_with_the_collector_disabled_promotes_nothing() -> None:
    gc.disable()
    gc.collect()
    with paused():
        built = [{"i": [i]} for i in range(1_000)]
    assert any(o is built for o in gc.get_objects(generation=0))


def test_a_small_paused_region_promotes_nothing() -> None:
    """After a small call the young collection is cheap: nothing is promoted, so young
    garbage the program made itself keeps being collected young."""
    from attackmap import _gc

    gc.collect()
    with paused():
        built = [{"i": [i]} for i in range(_gc.PROMOTE_MIN // 10)]
    assert not any(o is built for o in gc.get_objects(generation=2))
