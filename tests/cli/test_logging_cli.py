"""The CLI's log handler writes to the stderr of the moment, not the one main() saw."""

from __future__ import annotations

import io
import logging
import sys

import pytest

from attackmap.cli import main


def test_log_records_go_to_the_current_stderr(monkeypatch: pytest.MonkeyPatch) -> None:
    first = io.StringIO()
    monkeypatch.setattr(sys, "stderr", first)
    assert main(["attack", "info"]) == 0
    first.close()  # a harness closes the buffer it captured main()'s stderr in
    second = io.StringIO()
    monkeypatch.setattr(sys, "stderr", second)
    logging.getLogger("attackmap.test").warning("after the run")
    assert second.getvalue() == "WARNING: after the run\n"


def test_quiet_drops_warnings_and_verbose_keeps_debug(monkeypatch: pytest.MonkeyPatch) -> None:
    out = io.StringIO()
    monkeypatch.setattr(sys, "stderr", out)
    assert main(["--quiet", "attack", "info"]) == 0
    logging.getLogger("attackmap.test").warning("hidden")
    assert "hidden" not in out.getvalue()
    assert main(["--verbose", "attack", "info"]) == 0
    logging.getLogger("attackmap.test").debug("shown")
    assert "DEBUG: shown\n" in out.getvalue()
