"""Benchmark: stream large Kubernetes audit logs (target: 1 GB in < 60 s, flat memory).

Generates deterministic logs with ``gen_audit.py`` (100 MB, 1 GB and a 1M-line log) in a
temporary directory, then, each in a fresh subprocess, streams them with
``attackmap.audit.read``, then ``analyze_audit`` on top, then the whole command
(``attackmap audit LOG --format json -o FILE``), reporting wall and CPU time, MB/s, events/s
and peak RSS (CPU time is the steadier figure on a busy machine; the load average is noted). Flat memory shows as the same peak RSS at 100 MB and 1 GB. The
generated files are deleted at the end. Prints one JSON document with the machine noted.

    .venv/bin/python benchmarks/bench_audit.py            # 100 MB, 1 GB, 1M lines
    .venv/bin/python benchmarks/bench_audit.py --quick    # 100 MB only
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from gen_audit import generate  # noqa: E402 - benchmarks are scripts, not a package

TARGET_SECONDS_PER_GB = 60.0

CHILD = """
import json, os, resource, sys, tempfile, time
from attackmap.audit import analyze_audit, read
path, mode = sys.argv[1], sys.argv[2]
start = time.perf_counter()
cpu = time.process_time()
if mode == "cli":  # the whole command: read, analyse, JSON report written to a file
    from attackmap.cli import main
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "audit.json")
        assert main(["-q", "audit", path, "--format", "json", "-o", out]) == 0
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        with open(out, encoding="utf-8") as f:
            report = json.load(f)
    stats, events = report["read"], report["summary"]["events"]
else:
    reader = read(path)
    if mode == "read":
        events = sum(1 for _ in reader)
    else:
        events = analyze_audit(reader).events
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    stats = reader.stats.model_dump()
print(json.dumps({
    "wall_s": round(wall, 2),
    "cpu_s": round(cpu, 2),
    "events": events,
    "lines": stats["lines"],
    "bad_lines": stats["bad_lines"],
    "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
}))
"""


def machine() -> dict[str, object]:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = None
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        mem_gb = round(pages / 2**30, 1)
    except (ValueError, OSError):
        pass
    return {
        "load_average": [round(x, 2) for x in os.getloadavg()],  # other processes running
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "memory_gb": mem_gb,
    }


def measure(path: Path, mode: str) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), mode],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    result: dict[str, object] = json.loads(out)
    size = path.stat().st_size
    wall = float(result["wall_s"])  # type: ignore[arg-type]  # a number from the child
    result["mode"] = mode
    result["bytes"] = size
    result["mb_per_s"] = round(size / 1e6 / wall, 1)
    result["events_per_s"] = round(int(result["events"]) / wall)  # type: ignore[call-overload]  # int from the child
    result["projected_s_per_gb"] = round(wall * 1e9 / size, 1)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="only the 100 MB log")
    parser.add_argument("--dir", type=Path, default=None, help="where to generate (temp dir)")
    args = parser.parse_args()
    logs: list[tuple[str, dict[str, int]]] = [("100MB", {"max_bytes": 100_000_000})]
    if not args.quick:
        logs += [("1GB", {"max_bytes": 1_000_000_000}), ("1M-lines", {"max_events": 1_000_000})]
    results = []
    with tempfile.TemporaryDirectory(dir=args.dir, prefix="attackmap-bench-audit-") as tmp:
        for label, limits in logs:
            path = Path(tmp) / f"audit-{label}.jsonl"
            t0 = time.perf_counter()
            generate(path, **limits)
            gen_s = round(time.perf_counter() - t0, 1)
            for mode in ("read", "analyze", "cli"):
                result = measure(path, mode)
                result["log"] = label
                result["generate_s"] = gen_s
                results.append(result)
                print(json.dumps(result), file=sys.stderr)
            path.unlink()
    by = {(r["log"], r["mode"]): r for r in results}
    report: dict[str, object] = {
        "benchmark": "audit log streaming",
        "machine": machine(),
        "target": f"1 GB in < {TARGET_SECONDS_PER_GB:.0f} s with flat memory",
        "results": results,
    }
    if ("1GB", "read") in by:
        gb = by[("1GB", "read")]
        small = by[("100MB", "read")]
        report["verdict"] = {
            "1GB_read_s": gb["wall_s"],
            "1GB_analyze_s": by[("1GB", "analyze")]["wall_s"],
            "1GB_cli_s": by[("1GB", "cli")]["wall_s"],
            "1M_lines_cli_s": by[("1M-lines", "cli")]["wall_s"],
            "meets_target": float(by[("1GB", "cli")]["wall_s"]) < TARGET_SECONDS_PER_GB,  # type: ignore[arg-type]  # number
            "peak_rss_mb_100MB_vs_1GB": [small["peak_rss_mb"], gb["peak_rss_mb"]],
        }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
