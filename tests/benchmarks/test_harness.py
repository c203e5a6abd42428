"""The benchmark harness runs end to end (``run.py --quick``) and the sharded example agrees
with whole-cluster analysis. Timings are recorded, never asserted."""

from __future__ import annotations

import json
import os
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
    assert "workloads" in proc.stdout and "verdict" in proc.stdout
    assert "issue 21" in proc.stdout and "--format table at 1k" in proc.stdout


def test_sharded_analysis_matches_the_whole_cluster(tmp_path: Path) -> None:
    generate(tmp_path, 60, seed=2)
    groups = bench_shard.shards(tmp_path, 3)
    assert len(groups) == 3 and all(g[-1].endswith("cluster.yaml") for g in groups)
    results = [bench_shard.analyze_shard(g) for g in groups]
    assert sum(r["workloads"] for r in results) == 60
    whole = bench_shard.analyze_whole(tmp_path)["techniques"]
    local = {ref: ids for r in results for ref, ids in r["techniques"].items()}
    assert set(local) == set(whole)
    for ref, ids in whole.items():  # a shard sees less of the cluster, never more
        assert set(local[ref]) <= set(ids), ref
    joined = bench_shard.reduce_shards(results)
    for ref, ids in whole.items():  # the join restores what the namespace cut removed
        assert set(ids) <= set(joined[ref]), (ref, sorted(set(ids) - set(joined[ref])))
    escapers = {ref for r in results for ref in r["escapers"]}
    assert escapers  # the gpu-operator DaemonSets escape to the host
    for ref in set(whole) - escapers:
        assert joined[ref] == local[ref]


def test_dask_engine_gives_the_stdlib_results(tmp_path: Path) -> None:
    """The same map on Dask's local multiprocessing scheduler: identical shard results, in
    group order (what a Dask cluster would compute from the same task graph)."""
    pytest.importorskip("dask", reason="dask is in the dev extra; not installed here")
    generate(tmp_path, 40, seed=3)
    groups = bench_shard.shards(tmp_path, 3)
    strip = ("wall_s", "peak_rss_mb", "pid")  # measurements and workers, not results
    stdlib = bench_shard.map_shards(groups, 2, "stdlib")
    dask = bench_shard.map_shards(groups, 2, "dask")
    assert [{k: v for k, v in r.items() if k not in strip} for r in dask] == [
        {k: v for k, v in r.items() if k not in strip} for r in stdlib
    ]
    assert sum(r["workloads"] for r in dask) == 40
    with pytest.raises(ValueError, match="unknown engine"):
        bench_shard.map_shards(groups, 1, "ray")
    assert all(r["pid"] != os.getpid() for r in dask)  # computed in worker processes
