"""attackmap._gc: the cyclic collector is paused around bulk building and always restored."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

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

    def spy(self: _analysis.Analyzer) -> _analysis.Report:
        seen.append(gc.isenabled())
        return report(self)

    monkeypatch.setattr(_analysis.Analyzer, "report", spy)
    assert analyze(NIM).workloads
    assert seen == [False]
    assert gc.isenabled()


def test_analyze_restores_the_collector_when_it_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(self: _analysis.Analyzer) -> _analysis.Report:
        raise AttackmapError("injected")

    monkeypatch.setattr(_analysis.Analyzer, "report", fail)
    with pytest.raises(AttackmapError, match="injected"):
        analyze(NIM)
    assert gc.isenabled()
