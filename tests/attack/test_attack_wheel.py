"""The built wheel carries the slice: install it outside the repo and run `attack info`."""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest
from attack_helpers import REPO_ROOT


@pytest.mark.slow
def test_wheel_installs_and_runs_attack_info(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(REPO_ROOT)],
        check=True,
        capture_output=True,
        cwd=tmp_path,
    )
    (wheel,) = dist.glob("attackmap-*.whl")
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    purelib = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True, capture_output=True, text=True,
        ).stdout.strip()
    )  # fmt: skip
    # Dependencies come from the dev venv as a plain path entry, *after* the new venv's own
    # site-packages and without processing its .pth files, so the editable install of
    # attackmap there stays invisible and the wheel's copy is the one imported.
    (purelib / "zz_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--no-deps",
            "-q",
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    where = subprocess.run(
        [str(python), "-c", "import attackmap; print(attackmap.__file__)"],
        check=True, capture_output=True, text=True, cwd=tmp_path,
    ).stdout.strip()  # fmt: skip
    assert Path(where).is_relative_to(purelib), where
    env = {"PATH": "/usr/bin:/bin", "ATTACKMAP_CACHE_DIR": str(tmp_path / "cache"), "NO_COLOR": "1"}
    info = subprocess.run(
        [str(env_dir / "bin" / "attackmap"), "attack", "info", "--format", "json"],
        check=True, capture_output=True, text=True, cwd=tmp_path, env=env,
    )  # fmt: skip
    result = json.loads(info.stdout)
    assert (result["version"], result["techniques"], result["source"]["origin"]) == (
        "18.1",
        48,
        "bundled",
    )
    assert Path(result["source"]["path"]).is_relative_to(purelib)
    table = subprocess.run(
        [str(env_dir / "bin" / "attackmap"), "attack", "info"],
        check=True, capture_output=True, text=True, cwd=tmp_path, env=env,
    )  # fmt: skip
    assert "ATT&CK 18.1 (slice, bundled)" in table.stdout
