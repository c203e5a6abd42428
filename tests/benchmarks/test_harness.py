"""The benchmark harness runs end to end (``run.py --quick``) and the shard benchmark compares
like with like. Timings are recorded, never asserted."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCH))

import bench_shard  # noqa: E402 - benchmarks are scripts, not a package
from synth import generate  # noqa: E402


@pytest.mark.slow
def test_run_quick_writes_a_complete_result(tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    proc = subprocess.run(
        [sys.executable, str(BENCH / "run.py"), "--quick", "--no-external", "--out", str(out)],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(out.read_text())
    assert result["machine"]["cpus"] >= 1 and result["machine"]["python"]
    assert "error" not in result["single"]["cold_cli"], result["single"]["cold_cli"]
    assert result["single"]["warm"]["workloads"] == 1
    (scale,) = result["scale"]
    assert scale["attackmap"]["workloads"] == scale["size"] == 50
    assert set(scale["attackmap"]["phases"]) == {"import", "load", "analyze", "json"}
    assert scale["attackmap"]["findings"]["techniques"] > 0
    assert result["audit"]["lines"] >= 20_000 and result["audit"]["rss_curve"]
    targets = {row["target"]: row for row in result["targets"]}
    assert targets["cold_cli_wall_s"]["measured"] == result["single"]["cold_cli"]["wall_s_median"]
    assert targets["cli_100000_wall_s"]["pass"] is None  # not measured in quick mode
    assert targets["cli_100000_wall_s"]["detail"].startswith("not run: ")
    table = result["cli"]["50"]["table_vs_json"]  # the --format table row's measurement
    assert table["ratio"] > 0 and table["json"][0]["json_bytes"] > 0
    assert table["table"][0]["table_bytes"] > 0 and table["json"][0]["cpu_s"] > 0
    goal = result["cli"]["50"]["goal_vs_json"]  # --goal against the same json run
    assert goal["ratio"] > 0 and goal["ratio_pairs"] == [goal["ratio"]]
    assert goal["goal"][0]["json_bytes"] > goal["json"][0]["json_bytes"] > 0
    assert goal["goal_workers_2"][0]["json_bytes"] == goal["goal"][0]["json_bytes"]
    assert targets["goal_1000_vs_json"]["pass"] is None  # a 1k target: not in quick mode
    startup = result["startup"]
    assert targets["startup_cli_wall_s"]["measured"] == startup["cli_table"]["wall_s_median"]
    assert "error" not in startup["cli_json"], startup["cli_json"]
    assert startup["imports"]["modules"] > 100 and startup["imports"]["imports_s"] > 0
    assert targets["startup_speedup_vs_mitreattack"]["pass"] is None  # no baseline in quick
    assert "workloads" in proc.stdout and "verdict" in proc.stdout
    assert "issue 21" in proc.stdout and "--format table at 1k" in proc.stdout


def test_the_shard_benchmark_measures_identical_documents(tmp_path: Path) -> None:
    """``bench_shard.py``'s configurations write the same document (their digests are
    compared in every run) and say what they measured."""
    generate(tmp_path, 20, seed=2)
    single = bench_shard.run_one(str(tmp_path), "single")
    sharded = bench_shard.run_one(str(tmp_path), "3x1")
    assert single["sha256"] == sharded["sha256"] and single["workloads"] == 20
    assert [t["workloads"] for t in sharded["tasks"]] == [6, 7, 7]
    assert sharded["peak_rss_mb_sum"] >= sharded["peak_rss_mb_client"] > 0
    assert set(sharded) >= {"wall_s", "cpu_per_wall", "map_s", "join_s", "json_s"}
    forked = bench_shard.run_one(str(tmp_path), "fork2")
    assert forked["sha256"] == single["sha256"] and forked["peak_rss_mb_worker_max"] > 0


_TIMED_AFTER_A_PEAK = """
import json, sys
sys.path.insert(0, sys.argv[1])
import bench_cli
if sys.argv[2] == "peak":
    block = bytearray(400 * 2**20)  # touched: 400 MB resident, then given back
    del block
child = [sys.executable, "-c", "import time; b = bytearray(60 * 2**20); time.sleep(0.6)"]
print(json.dumps(bench_cli.timed(child, timeout=60)))
"""


_AFTER_A_PEAK_ABOVE = """
import subprocess, sys
block = bytearray(400 * 2**20)  # this process's peak, handed down as its child's ru_maxrss
del block
sys.stdout.write(subprocess.run([sys.executable, "-c", *sys.argv[1:]], capture_output=True,
                                text=True, check=True).stdout)
"""


@pytest.mark.parametrize("parent", ["small", "peak", "inherited"])
def test_a_childs_peak_memory_is_its_own(parent: str) -> None:
    """``bench_cli.timed`` reports the child's peak, not the one Linux hands down from the
    process that started it (``exec`` after ``vfork`` records the parent's peak as the
    child's ``ru_maxrss``): a child that holds 60 MB measures that, whether the process
    that timed it held 400 MB before or not (``peak``), and whether that process was itself
    started by one that did (``inherited``: its own ``ru_maxrss`` is 400 MB, its memory
    small, as when pytest's worker runs this test)."""
    argv = [_TIMED_AFTER_A_PEAK, str(BENCH), "small" if parent == "inherited" else parent]
    if parent == "inherited":
        argv = [_AFTER_A_PEAK_ABOVE, *argv]
    out = subprocess.run(
        [sys.executable, "-c", *argv],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    result = json.loads(out.stdout)
    assert 60 < result["largest_process_peak_rss_mb"] < 100, result
    assert result["peak_rss_mb"] < 100, result
    if parent == "peak":
        assert result["rss_floor_mb"] >= 400, result
    else:
        assert "rss_floor_mb" not in result, result


def test_the_10k_rows_say_what_two_workers_measured() -> None:
    import run

    def row(wall: float, cpu: float, rss: float) -> dict[str, float]:
        return {
            "wall_s": wall,
            "cpu_s": cpu,
            "cpu_per_wall": round(cpu / wall, 2),
            "peak_rss_mb": rss,
        }

    cli = {
        "10000": {
            "json": row(20.0, 21.0, 770.0),
            "json_workers_2": row(18.0, 25.2, 1170.0),
            "libyaml_wall_s": 4.0,
        }
    }
    measured: dict[str, float | None] = {}
    details = run.cli_measured(cli, measured)
    # the rows measure the default run (one process); two processes are written beside
    assert measured["cli_10000_wall_vs_libyaml"] == 5.0
    assert measured["cli_10000_cpu_per_wall"] == 1.05 and measured["cli_10000_rss_mb"] == 770.0
    beside = "; --workers 2: 18.0 s (4.50x), CPU/wall 1.40, 1170 MB"
    assert details["cli_10000_wall_vs_libyaml"] == "20.0 s vs libyaml 4.00 s" + beside
    assert details["cli_10000_cpu_per_wall"] == "21.0 CPU-s in 20.0 s" + beside
    del cli["10000"]["json_workers_2"]
    assert "--workers" not in run.cli_measured(cli, {})["cli_10000_cpu_per_wall"]
