"""``make demo`` installs only what the demo needs (issue 20, item 9): not the dev toolchain
(pytest, mypy, atheris, dask... took minutes and hundreds of MB before a first result).
``make -n`` prints the commands without running them, in a copy of the Makefile."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _plan(tmp_path: Path, target: str) -> list[str]:
    make = shutil.which("make")
    if make is None:  # pragma: no cover - make is part of the development setup
        pytest.fail("make is needed: the README's Quick start runs it")
    for name in ("Makefile", "pyproject.toml"):
        shutil.copy(REPO / name, tmp_path / name)
    # Under `make test` the suite runs inside make: the inherited MAKELEVEL/MAKEFLAGS would make
    # this a sub-make that prints "Entering/Leaving directory" around the plan.
    env = {k: v for k, v in os.environ.items() if k not in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS")}
    done = subprocess.run(
        [make, "--no-print-directory", "-n", target],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    return done.stdout.splitlines()


def test_make_demo_installs_attackmap_without_the_dev_extra(tmp_path: Path) -> None:
    plan = _plan(tmp_path, "demo")
    installs = [line for line in plan if " pip install " in line]
    assert installs == [".venv/bin/python -m pip install --quiet -e ."]
    assert plan[-1] == ".venv/bin/attackmap analyze examples/nim/nim-deploy-default.yaml"


def test_make_test_installs_the_dev_extra(tmp_path: Path) -> None:
    assert any("install --quiet -e '.[dev]'" in line for line in _plan(tmp_path, "test"))
