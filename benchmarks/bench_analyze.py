"""Benchmark: one NIM manifest, cold through the CLI and warm in-process, vs a naive baseline.

* cold: ``attackmap analyze MANIFEST --format json`` as a fresh process (the console script),
  wall time (``time.perf_counter``) and that child's own peak RSS (``os.wait4`` rusage),
  median of ``--runs``;
* baseline: the naive way to get ATT&CK data, ``MitreAttackData(full bundle)``, measured the
  same way (cold process, wall, peak RSS), and the ratio;
* warm: in one process, ``attackmap.analyze(path)`` (load + analyse) and
  ``attackmap.analyze(inventory)`` (analyse only) of the manifest after a first call,
  median over ``--repeat`` calls, in milliseconds.

    .venv/bin/python benchmarks/bench_analyze.py [--runs 3] [--manifest FILE]
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

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = REPO_ROOT.parent / "shared"
DEFAULT_MANIFEST = REPO_ROOT / "examples" / "nim" / "nim-deploy-default.yaml"
DEFAULT_BUNDLE = SHARED / "attack" / "enterprise-attack-18.1.json"

WARM_CHILD = """
import json, statistics, sys, time
import attackmap
path, repeat = sys.argv[1], int(sys.argv[2])
inventory = attackmap.load(path)
attackmap.analyze(inventory).to_json()
full, only, js = [], [], []
for _ in range(repeat):
    t = time.perf_counter(); report = attackmap.analyze(path); full.append(time.perf_counter() - t)
    t = time.perf_counter(); report = attackmap.analyze(inventory); only.append(time.perf_counter() - t)
    t = time.perf_counter(); report.to_json(); js.append(time.perf_counter() - t)
ms = lambda xs: round(statistics.median(xs) * 1000, 2)
print(json.dumps({"load_analyze_ms": ms(full), "analyze_ms": ms(only), "to_json_ms": ms(js),
                  "workloads": len(inventory.workloads), "repeat": repeat}))
"""

MITRE_CHILD = (
    "import sys; from mitreattack.stix20 import MitreAttackData; MitreAttackData(sys.argv[1])"
)


def _clean_env(bytecode: bool = True) -> dict[str, str]:
    """The environment of a user's shell: no ATTACKMAP_* overrides and, by default, bytecode
    caching on (``pip install`` compiles ``.pyc`` files; a checkout with
    ``PYTHONDONTWRITEBYTECODE=1`` recompiles every module on every start, ~0.1-0.2 s here)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATTACKMAP_")}
    if bytecode:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    else:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def timed_process(argv: list[str], runs: int, *, bytecode: bool = True) -> dict[str, Any]:
    """Run ``argv`` ``runs`` times; median/min wall and the max of each child's peak RSS.

    With ``bytecode`` one unmeasured run first writes the ``.pyc`` caches (as an installed
    package has them); without it every run compiles from source."""
    walls: list[float] = []
    rss: list[float] = []
    if bytecode:
        subprocess.run(argv, capture_output=True, env=_clean_env(True), check=False)
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.Popen(
            argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=_clean_env(bytecode)
        )
        _, status, usage = os.wait4(proc.pid, 0)
        walls.append(time.perf_counter() - start)
        proc.returncode = os.waitstatus_to_exitcode(status)
        err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        if proc.returncode not in (0, 1):  # 1 = findings with --fail-on; not used here
            return {"error": f"exit {proc.returncode}: {err.strip()[-300:]}"}
        rss.append(usage.ru_maxrss / 1024)  # KiB on Linux
    return {
        "wall_s_median": round(statistics.median(walls), 3),
        "wall_s_min": round(min(walls), 3),
        "peak_rss_mb": round(max(rss), 1),
        "runs": runs,
        "bytecode_cached": bytecode,
    }


def cli_path() -> list[str]:
    script = Path(sys.executable).parent / "attackmap"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from attackmap.cli import console_main; console_main()"]


def run(
    manifest: Path = DEFAULT_MANIFEST,
    *,
    runs: int = 3,
    repeat: int = 20,
    bundle: Path = DEFAULT_BUNDLE,
) -> dict[str, Any]:
    result: dict[str, Any] = {"benchmark": "analyze.single", "manifest": str(manifest)}
    with tempfile.TemporaryDirectory(prefix="attackmap-bench-") as tmp:
        out = Path(tmp) / "report.json"
        argv = [*cli_path(), "analyze", str(manifest), "--format", "json", "-o", str(out)]
        cold = timed_process(argv, runs)
        if out.exists():
            cold["json_bytes"] = out.stat().st_size
    result["cold_cli"] = cold
    if bundle.exists():
        base = timed_process([sys.executable, "-c", MITRE_CHILD, str(bundle)], runs)
        base["what"] = f"MitreAttackData({bundle.name}) in a fresh process (no analysis at all)"
        result["baseline_mitreattack"] = base
        if "wall_s_median" in cold and "wall_s_median" in base:
            result["ratio_vs_baseline"] = {
                "wall": round(base["wall_s_median"] / cold["wall_s_median"], 2),
                "rss": round(base["peak_rss_mb"] / cold["peak_rss_mb"], 2),
                "note": "baseline / attackmap: how many times faster and leaner the whole "
                "cold analysis is than merely loading the ATT&CK bundle naively",
            }
    else:
        result["baseline_mitreattack"] = {"skipped": f"bundle not available: {bundle}"}
    warm = subprocess.run(
        [sys.executable, "-c", WARM_CHILD, str(manifest), str(repeat)],
        capture_output=True,
        text=True,
        check=False,
        env=_clean_env(),
    )
    if warm.returncode == 0:
        result["warm"] = json.loads(warm.stdout)
    else:
        tail = warm.stderr.strip().splitlines()[-1:] or [f"exit {warm.returncode}"]
        result["warm"] = {"error": tail[0]}
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifest", type=Path, default=DEFAULT_MANIFEST)
    parser.add_argument("--runs", type=int, default=3, help="cold processes per measurement")
    parser.add_argument("--repeat", type=int, default=20, help="warm calls")
    parser.add_argument("--bundle", type=Path, default=DEFAULT_BUNDLE)
    args = parser.parse_args(argv)
    print(
        json.dumps(
            run(args.manifest, runs=args.runs, repeat=args.repeat, bundle=args.bundle), indent=2
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
