"""Coverage-guided fuzzing (atheris) of the loader, the audit reader and the seccomp parser.

``make test``: a smoke run of 100 inputs on the loader target, seeded with a real file.
``make fuzz`` (``--hypothesis-profile=fuzz``): ``ATTACKMAP_FUZZ_SECONDS`` (default 60)
per target. atheris is an optional tool (Linux wheels only): without it these tests are
skipped with that reason, and the hypothesis fuzz tests still run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from fuzz_helpers import budget

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SEEDS = {
    "loader": [
        REPO / "examples" / "nim" / "nim-deploy-default.yaml",
        *sorted((REPO / "tests" / "hostile" / "lists").glob("*.yaml")),  # *List kinds, nested
        *sorted((REPO / "tests" / "hostile" / "seeds").glob("*.*[ln]")),  # issue-19 inputs
    ],
    "audit": [REPO / "tests" / "audit" / "data" / "cluster.jsonl"],
    "seccomp": [REPO / "data" / "seccomp" / "runtime-default.json"],
}
LONG = budget(0) > 0


# the short run checks the harness on one target (a run costs ~10 s of instrumented start-up;
# the hypothesis tests fuzz all three parsers in every run)
@pytest.mark.parametrize("target", sorted(SEEDS) if LONG else ["loader"])
def test_atheris_finds_no_crash(target: str, tmp_path: Path) -> None:
    pytest.importorskip("atheris", reason="atheris is not installed (pip install atheris)")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for seed in SEEDS[target]:
        shutil.copy(seed, corpus / seed.name)
    limit = (
        [f"-max_total_time={os.environ.get('ATTACKMAP_FUZZ_SECONDS', '60')}"]
        if LONG
        else ["-runs=100"]
    )
    result = subprocess.run(
        [
            sys.executable,
            str(HERE / "atheris_main.py"),
            target,
            *limit,
            "-max_len=65536",
            "-rss_limit_mb=1024",
            "-timeout=20",
            f"-artifact_prefix={tmp_path}/",
            str(corpus),
        ],
        capture_output=True,
        text=True,
        timeout=3600,
        cwd=tmp_path,
    )
    crashes = sorted(
        p.name for p in tmp_path.iterdir() if p.name.startswith(("crash-", "timeout-", "oom-"))
    )
    assert result.returncode == 0 and not crashes, result.stderr[-4000:]
