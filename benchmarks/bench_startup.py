"""Benchmark: start-up, the cold CLI on one NIM manifest against ``MitreAttackData`` (issue 21).

Targets: ``attackmap analyze MANIFEST`` as a new process (``.pyc`` cached, as installed)
takes at most 0.35 s wall, and at least 20x less than merely loading ATT&CK 18.1 with
``MitreAttackData`` in the same run. The processes are interleaved -- each round runs every
command once -- so that a busy or slowing machine weighs on all of them alike; medians of
``--runs`` rounds (default 7). Measured per command: wall (``time.perf_counter``), the
child's CPU time (user + system, ``os.wait4``) and peak RSS.

* ``cli_table``: ``attackmap analyze MANIFEST`` (the default table, to a pipe): the target;
* ``cli_json``: ``attackmap analyze MANIFEST --format json -o FILE`` (what ``bench_analyze``
  times; no Rich);
* ``baseline_mitreattack``: ``MitreAttackData(enterprise-attack-18.1.json)``;
* ``imports``: one ``-X importtime`` run of the table command: the seconds spent importing
  (the sum of the top-level imports' cumulative times) and the modules imported.

    .venv/bin/python benchmarks/bench_startup.py [--runs 7] [--no-baseline]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench_analyze import (  # a script beside this one: benchmarks are not a package
    DEFAULT_BUNDLE,
    DEFAULT_MANIFEST,
    MITRE_CHILD,
    _clean_env,
    cli_path,
)

WALL_LIMIT_S = 0.35
SPEEDUP_MIN = 20.0


def _once(argv: list[str]) -> tuple[float, float, float] | str:
    """(wall s, CPU s, peak RSS MB) of one run of ``argv``, or the error."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=_clean_env(True)
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        return f"exit {code}: {err.strip()[-300:]}"
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024  # KiB on Linux


def interleaved(commands: dict[str, list[str]], runs: int) -> dict[str, dict[str, Any]]:
    """Each command ``runs`` times, one of each per round (after one unmeasured run of
    each, which writes the ``.pyc`` caches); medians and minima per command."""
    samples: dict[str, list[tuple[float, float, float]]] = {name: [] for name in commands}
    errors: dict[str, str] = {}
    for argv in commands.values():
        subprocess.run(argv, capture_output=True, env=_clean_env(True), check=False)
    for _ in range(runs):
        for name, argv in commands.items():
            if name in errors:
                continue
            got = _once(argv)
            if isinstance(got, str):
                errors[name] = got
            else:
                samples[name].append(got)
    out: dict[str, dict[str, Any]] = {}
    for name, rows in samples.items():
        if name in errors:
            out[name] = {"error": errors[name]}
            continue
        walls, cpus, rss = zip(*rows, strict=True)
        out[name] = {
            "wall_s_median": round(statistics.median(walls), 3),
            "wall_s_min": round(min(walls), 3),
            "cpu_s_median": round(statistics.median(cpus), 3),
            "peak_rss_mb": round(max(rss), 1),
            "runs": runs,
        }
    return out


def import_time(argv: list[str]) -> dict[str, Any]:
    """Seconds spent importing in one run of ``argv`` (a Python command) under
    ``-X importtime``, and how many modules it imported."""
    done = subprocess.run(
        [argv[0], "-X", "importtime", *argv[1:]],
        capture_output=True,
        text=True,
        env=_clean_env(True),
        check=False,
    )
    total_us = modules = 0
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative, name = line[len("import time:") :].split("|")
        modules += 1
        if not name[1:].startswith(" "):  # a top-level import: its cumulative time counts
            total_us += int(cumulative)
    return {"imports_s": round(total_us / 1e6, 3), "modules": modules}


def run(
    manifest: Path = DEFAULT_MANIFEST,
    *,
    runs: int = 7,
    bundle: Path | None = DEFAULT_BUNDLE,
) -> dict[str, Any]:
    """The start-up measurements and the two targets' verdicts (``bundle=None``: no
    baseline, the speed-up is not measured)."""
    cli = cli_path()
    python_cli = [sys.executable, "-c", "from attackmap.cli import console_main; console_main()"]
    result: dict[str, Any] = {"benchmark": "startup", "manifest": str(manifest)}
    with tempfile.TemporaryDirectory(prefix="attackmap-bench-") as tmp:
        commands = {
            "cli_table": [*cli, "analyze", str(manifest)],
            "cli_json": [*cli, "analyze", str(manifest), "--format", "json", "-o", f"{tmp}/r.json"],
        }
        if bundle is not None and bundle.exists():
            commands["baseline_mitreattack"] = [sys.executable, "-c", MITRE_CHILD, str(bundle)]
        elif bundle is not None:
            result["baseline_mitreattack"] = {"skipped": f"bundle not available: {bundle}"}
        result.update(interleaved(commands, runs))
        result["imports"] = import_time([*python_cli, "analyze", str(manifest)])
    table = result["cli_table"].get("wall_s_median")
    base = result.get("baseline_mitreattack", {}).get("wall_s_median")
    result["speedup_vs_mitreattack"] = round(base / table, 1) if table and base else None
    result["targets"] = {
        "wall_s": {"limit": WALL_LIMIT_S, "measured": table},
        "speedup_vs_mitreattack": {
            "at_least": SPEEDUP_MIN,
            "measured": result["speedup_vs_mitreattack"],
        },
    }
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifest", type=Path, default=DEFAULT_MANIFEST)
    parser.add_argument("--runs", type=int, default=7, help="interleaved rounds")
    parser.add_argument("--bundle", type=Path, default=DEFAULT_BUNDLE)
    parser.add_argument("--no-baseline", action="store_true", help="skip MitreAttackData")
    args = parser.parse_args(argv)
    bundle = None if args.no_baseline else args.bundle
    print(json.dumps(run(args.manifest, runs=args.runs, bundle=bundle), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
