"""Sharded analysis of one cluster with the engines of ``attackmap.engines``, against one process.

The measurement behind ``docs/scaling.md``. Each configuration runs in a fresh Python
process (``--run``), one after another, so they share the machine's state and can be
compared in the same run; ``--repeat`` interleaves the configurations that many times:

* ``single``: ``attackmap.analyze`` in one process, then the JSON document written;
* ``shards=N workers=W``: N shard tasks (``attackmap.engines``) on a local pool of W
  processes, joined, then the JSON document written by the client;
* ``dask shards=N workers=W``: the same tasks on a Dask ``LocalCluster`` of W processes;
* ``forkN``: ``attackmap.analyze(workers=N)``: the cluster loaded, its graph built and its
  paths found once, then N processes forked from it (this one among them) each analyse a
  run of the workloads (docs/scaling.md, "One cluster on every core").

Per run: wall (imports excluded), CPU seconds of every process (and / wall), peak RSS
summed over the processes (the client and each worker's peak), the shard tasks' own wall
and CPU, the join and the JSON write, the load average at the end (on a shared machine,
CPU seconds say more than wall); and the SHA-256 of the JSON document, which must be the
same everywhere.

    .venv/bin/python benchmarks/bench_shard.py --workloads 1000 --config single --config 2x2 \\
        --config dask:2x2 --repeat 3
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_scale import CACHE, dataset, peak_rss_mb  # noqa: E402 - a sibling script


class _Digest:
    """A text sink that only hashes (the document is written, not kept)."""

    def __init__(self) -> None:
        self.sha = hashlib.sha256()
        self.size = 0

    def write(self, text: str) -> None:
        data = text.encode()
        self.size += len(data)
        self.sha.update(data)


def timed_task(task: Any) -> tuple[Any, dict[str, Any]]:
    """A shard task, with its wall, CPU, peak RSS and process id."""
    from attackmap.engines._fleet import run_task

    start, cpu = time.perf_counter(), time.process_time()
    report = run_task(task)
    return report, {
        "wall_s": round(time.perf_counter() - start, 3),
        "cpu_s": round(time.process_time() - cpu, 3),
        "peak_rss_mb": peak_rss_mb(),
        "pid": os.getpid(),
        "workloads": len(report.workloads),
    }


def run_one(directory: str, config: str) -> dict[str, Any]:
    """One configuration in this (fresh) process."""
    import attackmap
    from attackmap.engines import LocalEngine, join
    from attackmap.engines._fleet import ShardTask

    start, cpu0 = time.perf_counter(), time.process_time()
    out: dict[str, Any] = {"config": config}
    if config == "single":
        report = attackmap.analyze(directory)
        out["analyze_s"] = round(time.perf_counter() - start, 3)
        tasks_info: list[dict[str, Any]] = []
    elif config.startswith("fork"):
        report = attackmap.analyze(directory, workers=int(config[4:]))
        out["analyze_s"] = round(time.perf_counter() - start, 3)
        tasks_info = []  # the forked workers are children: their CPU is counted below
    else:
        kind, _, shape = config.rpartition(":")
        shards, _, workers = shape.partition("x")
        n, w = int(shards), int(workers)
        tasks = [ShardTask(0, directory, (), (i, n), attackmap.__version__) for i in range(n)]
        if kind == "dask":
            from attackmap.engines._dask import connect

            with connect(None, w) as engine:
                ready = time.perf_counter()
                results = engine.map(timed_task, tasks)
                out["cluster_start_s"] = round(ready - start, 3)
        else:
            results = LocalEngine(w).map(timed_task, tasks)
        mapped = time.perf_counter()
        out["map_s"] = round(mapped - start, 3)
        report = join([r for r, _ in results])
        out["join_s"] = round(time.perf_counter() - mapped, 4)
        tasks_info = [info for _, info in results]
        out["tasks"] = tasks_info
    t = time.perf_counter()
    sink = _Digest()
    report.write_json(sink)
    out["json_s"] = round(time.perf_counter() - t, 3)
    out["wall_s"] = round(time.perf_counter() - start, 3)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = time.process_time() - cpu0 + children.ru_utime + children.ru_stime
    if config.startswith("dask:"):  # Dask's workers are not our children when they report
        cpu = time.process_time() - cpu0 + sum(i["cpu_s"] for i in tasks_info)
    out["cpu_s"] = round(cpu, 2)
    out["client_cpu_s"] = round(time.process_time() - cpu0, 2)
    out["cpu_per_wall"] = round(cpu / out["wall_s"], 2)
    out["load_average"] = os.getloadavg()[0]
    per_pid: dict[int, float] = {}
    for info in tasks_info:
        per_pid[info["pid"]] = max(per_pid.get(info["pid"], 0.0), info["peak_rss_mb"])
    per_pid.pop(os.getpid(), None)  # tasks run here (workers=1) count once, below
    out["peak_rss_mb_client"] = peak_rss_mb()
    out["peak_rss_mb_sum"] = round(peak_rss_mb() + sum(per_pid.values()), 1)
    if config.startswith("fork"):  # the largest forked worker (its shared pages counted)
        out["peak_rss_mb_worker_max"] = round(children.ru_maxrss / 1024, 1)
    out["workloads"] = len(report.workloads)
    out["sha256"] = sink.sha.hexdigest()
    out["json_mb"] = round(sink.size / 1e6, 1)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--dir", type=Path, help="a cluster directory (default: synth.py's)")
    parser.add_argument(
        "--config",
        action="append",
        help="single, NxW (N shards on W local processes), dask:NxW (on a Dask "
        "LocalCluster) or forkN (analyze(workers=N): the graph built once, N forked workers) (repeatable)",
    )
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--cache", type=Path, default=CACHE)
    parser.add_argument("--run", nargs=2, metavar=("DIR", "CONFIG"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.run:
        print(json.dumps(run_one(*args.run)))
        return 0
    directory = args.dir or dataset(args.workloads, args.seed, args.cache)[0]
    configs = args.config or ["single", "2x2"]
    runs: dict[str, list[dict[str, Any]]] = {c: [] for c in configs}
    for _ in range(args.repeat):
        for config in configs:
            proc = subprocess.run(
                [sys.executable, __file__, "--run", str(directory), config],
                capture_output=True,
                text=True,
                check=True,
            )
            result = json.loads(proc.stdout.splitlines()[-1])
            runs[config].append(result)
            print(json.dumps(result), file=sys.stderr)
    digests = {r["sha256"] for rs in runs.values() for r in rs}
    summary = {
        "benchmark": "shard",
        "directory": str(directory),
        "identical_documents": len(digests) == 1,
        "median": {
            c: {
                k: statistics.median(r[k] for r in rs)
                for k in ("wall_s", "cpu_s", "cpu_per_wall", "peak_rss_mb_sum", "json_s")
            }
            | {"walls": [r["wall_s"] for r in rs]}
            for c, rs in runs.items()
        },
    }
    print(json.dumps(summary, indent=2))
    return 0 if len(digests) == 1 else 1


if __name__ == "__main__":
    sys.exit(main())
