"""Sharded analysis: one task per namespace shard, cross-namespace reach joined in a reduction.

The runnable local example for ``docs/scaling.md``. A synthetic cluster (``synth.py``) is
already one file per namespace plus ``cluster.yaml`` (ClusterRoles, ClusterRoleBindings,
RuntimeClasses). Each *shard* is a group of namespace files plus ``cluster.yaml``, analysed
by ``attackmap.analyze`` in its own worker process: ``--engine stdlib`` (default,
``concurrent.futures.ProcessPoolExecutor``) or ``--engine dask`` (Dask's local
multiprocessing scheduler, the same task graph a Dask cluster would run). A shard returns
small, picklable facts: per workload its reachable technique ids, and whether it reaches
the node (T1611 Escape to Host, which hands it every projected ServiceAccount token on the
node, in any namespace). The reduction joins what a shard cannot see: a node-escaping workload gains the
techniques that any token-holding workload of another shard reaches with its identity.

With ``--compare`` the whole cluster is also analysed in one process, and the sharded
result is checked against it (a shard never reports a technique the whole cluster does
not; the join closes most of the cross-namespace gap; the rest is printed).

    .venv/bin/python benchmarks/bench_shard.py --workloads 2000 --shards 8 --workers 2 [--compare]
    .venv/bin/python benchmarks/bench_shard.py --engine dask --workloads 2000 --shards 8
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_scale import CACHE, dataset, peak_rss_mb  # noqa: E402 - a sibling script

ESCAPE = "T1611"  # Escape to Host: the attacker is on the node, with every token on it


def shards(directory: Path, count: int) -> list[list[str]]:
    """Namespace files dealt round-robin into ``count`` shards, ``cluster.yaml`` in each."""
    files = sorted(p for p in directory.glob("ns-*.yaml"))
    groups: list[list[str]] = [[] for _ in range(max(1, min(count, len(files))))]
    for i, path in enumerate(files):
        groups[i % len(groups)].append(str(path))
    cluster = directory / "cluster.yaml"
    return [[*g, str(cluster)] if cluster.exists() else g for g in groups]


def analyze_shard(files: list[str]) -> dict[str, Any]:
    """One task: analyse a shard; return per-workload techniques and the join keys."""
    start = time.perf_counter()
    import attackmap

    inventory = attackmap.load(*files)
    report = attackmap.analyze(inventory)
    techniques = {str(w.ref): sorted(w.technique_ids()) for w in report.workloads}
    token_holders = sorted(
        str(w.ref)
        for w in inventory.workloads
        if w.service_account is not None and w.service_account.automount
    )
    return {
        "techniques": techniques,
        "escapers": sorted(ref for ref, ids in techniques.items() if ESCAPE in ids),
        "token_holders": token_holders,
        "workloads": len(inventory.workloads),
        "wall_s": round(time.perf_counter() - start, 3),
        "peak_rss_mb": peak_rss_mb(),
        "pid": os.getpid(),
    }


def reduce_shards(results: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Join cross-namespace reach: escapers gain what other shards' token holders reach."""
    joined: dict[str, set[str]] = {}
    for r in results:
        for ref, ids in r["techniques"].items():
            joined[ref] = set(ids)
    for i, r in enumerate(results):
        gained: set[str] = set()
        for j, other in enumerate(results):
            if i != j:
                for ref in other["token_holders"]:
                    gained.update(other["techniques"].get(ref, ()))
        for ref in r["escapers"]:
            joined[ref] |= gained
    return {ref: sorted(ids) for ref, ids in sorted(joined.items())}


ENGINES = ("stdlib", "dask")


def map_shards(
    groups: list[list[str]], workers: int, engine: str = "stdlib"
) -> list[dict[str, Any]]:
    """The map step: :func:`analyze_shard` on every group, in worker processes, results in
    group order. ``dask`` builds one delayed task per shard and computes them with Dask's
    local ``processes`` scheduler (forked workers, so this script's functions need no
    pickling by value); on a Dask cluster the same graph goes to ``Client.compute``."""
    if engine == "dask":
        import dask  # the optional engine: only this path needs it

        tasks = [dask.delayed(analyze_shard, pure=True)(group) for group in groups]
        with dask.config.set({"multiprocessing.context": "fork"}):
            computed = dask.compute(*tasks, scheduler="processes", num_workers=workers)
        return list(computed)
    if engine != "stdlib":
        raise ValueError(f"unknown engine {engine!r}: use one of {', '.join(ENGINES)}")
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(analyze_shard, groups))


def run_sharded(
    directory: Path, count: int, workers: int, engine: str = "stdlib"
) -> dict[str, Any]:
    groups = shards(directory, count)
    start = time.perf_counter()
    results = map_shards(groups, workers, engine)
    map_s = time.perf_counter() - start
    t = time.perf_counter()
    joined = reduce_shards(results)
    reduce_s = time.perf_counter() - t
    walls = [r["wall_s"] for r in results]
    return {
        "shards": len(groups),
        "workers": workers,
        "engine": engine,
        "wall_s": round(time.perf_counter() - start, 3),
        "map_s": round(map_s, 3),
        "reduce_s": round(reduce_s, 4),
        "per_shard": {
            "workloads": [r["workloads"] for r in results],
            "wall_s": walls,
            "peak_rss_mb_max": max(r["peak_rss_mb"] for r in results),
            "ms_per_workload": round(1000 * sum(walls) / sum(r["workloads"] for r in results), 2),
        },
        "escapers": sum(len(r["escapers"]) for r in results),
        "shard_techniques": {ref: ids for r in results for ref, ids in r["techniques"].items()},
        "joined_techniques": joined,
    }


def compare(whole: dict[str, list[str]], sharded: dict[str, Any]) -> dict[str, Any]:
    local = sharded["shard_techniques"]
    joined = sharded["joined_techniques"]
    invented = sorted(r for r in whole if not set(local.get(r, ())) <= set(whole[r]))
    exact_local = sum(1 for r in whole if set(local.get(r, ())) == set(whole[r]))
    exact_joined = sum(1 for r in whole if set(joined.get(r, ())) == set(whole[r]))
    missing = {r: sorted(set(whole[r]) - set(joined.get(r, ()))) for r in whole}
    return {
        "workloads": len(whole),
        "shard_reports_only_true_techniques": not invented,
        "invented": invented[:10],
        "exact_without_join": exact_local,
        "exact_after_join": exact_joined,
        "still_missing_after_join": {r: m for r, m in sorted(missing.items()) if m},
        "over_approximated_by_join": sorted(
            r for r in whole if set(joined.get(r, ())) - set(whole[r])
        )[:10],
    }


def analyze_whole(directory: Path) -> dict[str, Any]:
    start = time.perf_counter()
    import attackmap

    report = attackmap.analyze(directory)
    return {
        "techniques": {str(w.ref): sorted(w.technique_ids()) for w in report.workloads},
        "wall_s": round(time.perf_counter() - start, 3),
        "peak_rss_mb": peak_rss_mb(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--shards", type=int, default=8)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--compare", action="store_true", help="also analyse the whole cluster")
    parser.add_argument("--cache", type=Path, default=CACHE)
    parser.add_argument("--engine", choices=ENGINES, default="stdlib", help="the map's executor")
    args = parser.parse_args(argv)
    directory, stats = dataset(args.workloads, args.seed, args.cache)
    sharded = run_sharded(directory, args.shards, args.workers, args.engine)
    result: dict[str, Any] = {
        "benchmark": "shard",
        "workloads": args.workloads,
        "namespaces": stats.get("namespaces"),
        "sharded": {k: v for k, v in sharded.items() if not k.endswith("_techniques")},
    }
    if args.compare:
        with ProcessPoolExecutor(max_workers=1) as pool:  # a fresh process, like the shards
            whole = pool.submit(analyze_whole, directory).result()
        result["whole"] = {k: v for k, v in whole.items() if k != "techniques"}
        result["comparison"] = compare(whole["techniques"], sharded)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
