"""Benchmark: evaluate all upstream Pod Security fixtures in one process.

Target: the 4,537 fixtures of ../shared/conformance/pss evaluated in < 5 s (YAML parsing
excluded; reported separately). Prints JSON with the machine noted. Run:
``.venv/bin/python benchmarks/bench_pss.py``.
"""

from __future__ import annotations

import csv
import json
import os
import platform
import sys
import time
from pathlib import Path

import yaml

from attackmap.pss import evaluate, parse_violations

PSS_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "conformance" / "pss"
TARGET_SECONDS = 5.0


def main() -> int:
    index = PSS_DIR / "INDEX.tsv"
    if not index.exists():
        print(json.dumps({"skipped": f"reference data not available: {PSS_DIR}"}))
        return 0
    with index.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    start = time.perf_counter()
    docs = []
    for row in rows:
        with (PSS_DIR / row["file"]).open(encoding="utf-8") as f:
            docs.append(yaml.load(f, Loader=loader))  # noqa: S506 - a safe loader
    parse_s = time.perf_counter() - start

    start = time.perf_counter()
    results = [
        evaluate(doc, row["level"], row["version"]) for row, doc in zip(rows, docs, strict=True)
    ]
    evaluate_s = time.perf_counter() - start

    start = time.perf_counter()
    for result in results:
        if not result.allowed:
            parse_violations(result.message)
    parse_messages_s = time.perf_counter() - start

    agree = sum(
        r.allowed == (row["expected"] == "pass") for row, r in zip(rows, results, strict=True)
    )
    report = {
        "benchmark": "pss: evaluate every upstream fixture",
        "fixtures": len(rows),
        "verdicts_agreeing_with_upstream": agree,
        "yaml_parse_seconds": round(parse_s, 3),
        "evaluate_seconds": round(evaluate_s, 3),
        "evaluate_ms_per_fixture": round(1000 * evaluate_s / len(rows), 4),
        "parse_violations_seconds": round(parse_messages_s, 3),
        "target_seconds": TARGET_SECONDS,
        "within_target": evaluate_s < TARGET_SECONDS,
        "yaml_loader": loader.__name__,
        "machine": {
            "python": sys.version.split()[0],
            "implementation": platform.python_implementation(),
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(),
        },
    }
    print(json.dumps(report, indent=2))
    return 0 if report["within_target"] else 1


if __name__ == "__main__":
    sys.exit(main())
