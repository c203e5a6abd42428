"""Benchmark: cold `import attackmap; attackmap.load_attack()` vs mitreattack-python.

Each measurement runs in a fresh subprocess (cold imports, page cache warm), median of
``--runs``. Prints one JSON object: machine, wall times, ratio, peak RSS. Targets (issue):
attackmap < 0.4 s wall and >= 15x faster than ``MitreAttackData`` on the full 18.1 bundle.

    .venv/bin/python benchmarks/bench_attack.py [--runs 3] [--bundle PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_BUNDLE = REPO_ROOT.parent / "shared" / "attack" / "enterprise-attack-18.1.json"

# the child prints its own peak RSS (KiB on Linux) after doing the work
_RSS = "import resource; print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
ATTACKMAP = "import attackmap; kb = attackmap.load_attack(); kb.technique('T1611'); " + _RSS
ATTACKMAP_FULL = "import attackmap, sys; attackmap.load_attack(sys.argv[1]); " + _RSS
MITREATTACK = (
    "import sys; from mitreattack.stix20 import MitreAttackData; "
    "MitreAttackData(sys.argv[1]); " + _RSS
)


def run(code: str, *args: str, runs: int) -> dict[str, float]:
    walls, rss = [], []
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATTACKMAP_")}
    for _ in range(runs):
        start = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-c", code, *args], capture_output=True, text=True, check=True, env=env
        )
        walls.append(time.perf_counter() - start)
        rss.append(int(out.stdout.strip().splitlines()[-1]) / 1024)
    return {
        "wall_s_median": round(statistics.median(walls), 3),
        "wall_s_min": round(min(walls), 3),
        "peak_rss_mb": round(max(rss), 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--bundle", type=Path, default=DEFAULT_BUNDLE)
    args = parser.parse_args()
    result: dict[str, object] = {
        "benchmark": "attack.load",
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(),
        },
        "runs": args.runs,
        "attackmap_default_slice": run(ATTACKMAP, runs=args.runs),
    }
    if args.bundle.exists():
        result["attackmap_full_bundle"] = run(ATTACKMAP_FULL, str(args.bundle), runs=args.runs)
        mitre = run(MITREATTACK, str(args.bundle), runs=args.runs)
        result["mitreattack_full_bundle"] = mitre
        ours = result["attackmap_default_slice"]
        assert isinstance(ours, dict)
        result["speedup_vs_mitreattack"] = round(mitre["wall_s_median"] / ours["wall_s_median"], 1)
        result["targets"] = {
            "default_under_0_4_s": ours["wall_s_median"] < 0.4,
            "at_least_15x": mitre["wall_s_median"] / ours["wall_s_median"] >= 15,
        }
    else:
        result["note"] = f"{args.bundle} not found: mitreattack comparison skipped"
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
