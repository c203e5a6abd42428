"""Benchmark: end-to-end analysis of a synthetic cluster (load, analyse, JSON) at one size.

The cluster comes from ``synth.py`` (cached under ``benchmarks/.cache/``, regenerated when
missing). The measurement runs in a fresh subprocess (``--measure DIR``) that records, per
phase, wall time (``time.perf_counter``) and the peak RSS so far (``VmHWM`` from
``/proc/self/status``, or ``ru_maxrss``), then prints one JSON object. With ``--baseline`` a
second fresh subprocess times the naive approach (pure-Python ``yaml.safe_load_all`` of the
same files, parsing only) for comparison.

    .venv/bin/python benchmarks/bench_scale.py --workloads 1000 [--seed 1] [--baseline]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache"


def high_water_mb(pid: int | str = "self") -> float | None:
    """The peak resident size of process ``pid``'s memory since its ``exec``, in MB
    (``VmHWM``; unlike ``ru_maxrss``, never the peak of the process that started it), or
    ``None`` where ``/proc`` does not say."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MB."""
    found = high_water_mb()
    if found is None:
        found = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return round(found, 1)


def dataset(workloads: int, seed: int, cache: Path = CACHE) -> tuple[Path, dict[str, Any]]:
    """The generated cluster for ``(workloads, seed)``, generating it when not cached."""
    sys.path.insert(0, str(HERE))
    from synth import generate  # a sibling script, not a package

    out = cache / f"synth-{workloads}-{seed}"
    stamp = out / "stats.json"
    if stamp.exists():
        return out, dict(json.loads(stamp.read_text()))
    start = time.perf_counter()
    stats = generate(out, workloads, seed).to_dict()
    stats["generate_s"] = round(time.perf_counter() - start, 2)
    stamp.write_text(json.dumps(stats, indent=2) + "\n")
    return out, stats


def measure(directory: Path) -> dict[str, Any]:
    """Load, analyse and serialise ``directory`` in this process; phases with time and RSS."""
    t0 = time.perf_counter()
    import attackmap

    attackmap.analyze  # noqa: B018 - resolve the lazy import now, not inside a phase
    phases: dict[str, dict[str, float]] = {}

    def done(phase: str, start: float) -> None:
        phases[phase] = {
            "wall_s": round(time.perf_counter() - start, 3),
            "peak_rss_mb": peak_rss_mb(),
        }
        print(json.dumps({"phase": phase, **phases[phase]}), file=sys.stderr, flush=True)

    done("import", t0)
    rss_import = phases["import"]["peak_rss_mb"]
    t = time.perf_counter()
    inventory = attackmap.load(directory)
    done("load", t)
    t = time.perf_counter()
    report = attackmap.analyze(inventory)
    done("analyze", t)
    t = time.perf_counter()
    # As the CLI writes it (`analyze --format json -o FILE`): streamed, one workload at a time.
    import tempfile

    with tempfile.TemporaryDirectory(prefix="attackmap-bench-json-") as tmp:
        target = Path(tmp) / "report.json"
        with target.open("w", encoding="utf-8") as fh:
            report.write_json(fh)
        json_bytes = target.stat().st_size
    done("json", t)
    total = time.perf_counter() - t0
    n = len(inventory.workloads)
    peak = peak_rss_mb()
    techniques = sum(len(w.techniques) for w in report.workloads)
    paths = sum(len(f.paths) for w in report.workloads for f in w.techniques)
    return {
        "workloads": n,
        "phases": phases,
        "wall_s": round(total, 3),
        "peak_rss_mb": peak,
        "ms_per_workload": round(total * 1000 / n, 3),
        "kb_per_workload": round((peak - rss_import) * 1024 / n, 1),
        "json_bytes": json_bytes,
        # the report/v2 size target (issue 21: at most 6 KB per workload, compact JSON)
        "json_kb_per_workload": round(json_bytes / 1000 / n, 2) if n else None,
        "findings": {"techniques": techniques, "paths": paths},
    }


def measure_baseline(directory: Path) -> dict[str, Any]:
    """The naive approach: pure-Python PyYAML ``safe_load_all`` of every file (parsing only)."""
    import yaml

    t0 = time.perf_counter()
    documents = 0
    for path in sorted(directory.glob("*.yaml")):
        with path.open(encoding="utf-8") as f:
            documents += sum(1 for _ in yaml.load_all(f, Loader=yaml.SafeLoader))
    return {
        "what": "pure-Python yaml.safe_load_all of every file (no analysis)",
        "documents": documents,
        "wall_s": round(time.perf_counter() - t0, 3),
        "peak_rss_mb": peak_rss_mb(),
    }


def _child(flag: str, directory: Path, timeout: float | None) -> dict[str, Any]:
    start = time.perf_counter()
    try:
        out = subprocess.run(
            [sys.executable, __file__, flag, str(directory)],
            capture_output=True,
            text=True,
            check=False,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as e:
        # the phases the child finished before the limit (one JSON line each on stderr)
        err = e.stderr.decode() if isinstance(e.stderr, bytes) else (e.stderr or "")
        finished = [json.loads(line) for line in err.splitlines() if line.startswith('{"phase"')]
        return {"error": f"timed out after {timeout:.0f} s", "finished_phases": finished}
    if out.returncode != 0:
        return {
            "error": out.stderr.strip().splitlines()[-1]
            if out.stderr.strip()
            else f"exit {out.returncode}"
        }
    result: dict[str, Any] = json.loads(out.stdout)
    result["process_wall_s"] = round(time.perf_counter() - start, 3)
    return result


def run(
    workloads: int,
    seed: int = 1,
    *,
    baseline: bool = False,
    timeout: float | None = None,
    cache: Path = CACHE,
) -> dict[str, Any]:
    """Generate (or reuse) the cluster and measure it in fresh subprocesses."""
    directory, stats = dataset(workloads, seed, cache)
    result: dict[str, Any] = {
        "benchmark": "scale",
        "size": workloads,
        "seed": seed,
        "dataset": {
            k: stats[k] for k in ("namespaces", "files", "documents", "bytes") if k in stats
        },
        "attackmap": _child("--measure", directory, timeout),
    }
    if baseline:
        naive = _child("--measure-baseline", directory, timeout)
        result["baseline"] = naive
        ours = result["attackmap"]
        if "wall_s" in naive and "wall_s" in ours:
            result["ratio_vs_baseline"] = {
                "wall": round(ours["wall_s"] / naive["wall_s"], 2),
                "note": "attackmap end-to-end time / time to merely parse the YAML naively",
            }
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--baseline", action="store_true", help="also time a naive YAML parse")
    parser.add_argument("--timeout", type=float, default=None, help="seconds per subprocess")
    parser.add_argument("--cache", type=Path, default=CACHE, help="where generated clusters live")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--measure-baseline", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        print(json.dumps(measure(args.measure)))
    elif args.measure_baseline:
        print(json.dumps(measure_baseline(args.measure_baseline)))
    else:
        result = run(
            args.workloads,
            args.seed,
            baseline=args.baseline,
            timeout=args.timeout,
            cache=args.cache,
        )
        print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
