"""Benchmark: the JSON phase alone (serialising an analysed synthetic cluster), per method.

Analysing a large cluster takes minutes, so the report is analysed once in a child process
and pickled to ``benchmarks/.cache/report-<workloads>-<seed>.pickle`` (regenerated when
missing; delete it after a change to the analysis). Each method then runs in its own fresh
process: unpickle the report, reset the peak RSS (``/proc/self/clear_refs``), serialise to a
file, and record wall time, the peak RSS *of the serialisation* above the RSS holding the
report (``peak_rss_delta_mb``), the bytes written and their SHA-256 (so byte-identity between
methods is checked, not assumed).

Methods: ``dumps-indent`` (``json.dumps(to_dict(), indent=2)``: the pure-Python encoder),
``dumps-compact`` (the same ``to_dict``, ``json.dumps`` compact: C encoder, whole tree),
``stream-compact`` / ``stream-pretty`` (``Report.write_json(f, pretty=...)``) and the
other big JSON exporters (``sarif``, ``navigator``, ``stix``: the exporter as it is;
``sarif-stdlib`` etc.: the same dict through ``json.dumps(indent=2)``).

    .venv/bin/python benchmarks/bench_json.py --workloads 1000 [--methods a,b] [--seed 1]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import pickle
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache"
METHODS = (
    "dumps-indent",
    "dumps-compact",
    "stream-compact",
    "stream-pretty",
)
_EXPORTER_DICT = {"sarif": "sarif_log", "navigator": "navigator_layer", "stix": "stix_bundle"}
EXPORTER_METHODS = (*_EXPORTER_DICT, *(f"{name}-stdlib" for name in _EXPORTER_DICT))


def _status(key: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS
    except OSError:
        return False
    return True


def prepare(directory: Path, out: Path) -> None:
    """Analyse ``directory`` and pickle the report (without the analyzer) to ``out``."""
    import attackmap

    report = attackmap.analyze(attackmap.load(directory))
    object.__setattr__(report, "__pydantic_private__", {"_analyzer": None})
    out.write_bytes(pickle.dumps(report, protocol=pickle.HIGHEST_PROTOCOL))


def _serialise(method: str, report: Any, path: Path) -> None:
    if method == "dumps-indent":
        text = json.dumps(report.to_dict(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        path.write_text(text, encoding="utf-8")
    elif method == "dumps-compact":
        doc = report.to_dict()
        text = json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":")) + "\n"
        path.write_text(text, encoding="utf-8")
    elif method in ("stream-compact", "stream-pretty"):
        with path.open("w", encoding="utf-8") as f:
            report.write_json(f, pretty=method == "stream-pretty")
    elif method.endswith("-stdlib"):  # the exporter's dict through json.dumps(indent=2)
        from attackmap import exporters

        doc = getattr(exporters, _EXPORTER_DICT[method.removesuffix("-stdlib")])(report)
        text = json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False)
        path.write_text(text + "\n", encoding="utf-8")
    else:
        from attackmap.exporters import EXPORTERS

        path.write_text(EXPORTERS[method].export(report) + "\n", encoding="utf-8")


def measure(method: str, pickled: Path) -> dict[str, Any]:
    """Serialise the pickled report with ``method`` in this process; time and peak RSS."""
    import attackmap.exporters  # noqa: F401 - imports outside the measured phase

    report = pickle.loads(pickled.read_bytes())  # noqa: S301 - our own cache, from --prepare
    rss = _status("VmRSS")
    exact = _reset_peak()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "report.json"
        start = time.perf_counter()
        _serialise(method, report, path)
        wall = time.perf_counter() - start
        peak = _status("VmHWM")
        data = path.read_bytes()
    return {
        "method": method,
        "wall_s": round(wall, 3),
        "rss_before_mb": round(rss, 1),
        "peak_rss_mb": round(peak, 1),
        "peak_rss_delta_mb": round(peak - rss, 1),
        "peak_is_phase_only": exact,
        "bytes": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
    }


def run(workloads: int, seed: int, methods: list[str], timeout: float | None) -> dict[str, Any]:
    sys.path.insert(0, str(HERE))
    from bench_scale import dataset  # a sibling script, not a package

    directory, _ = dataset(workloads, seed)
    pickled = CACHE / f"report-{workloads}-{seed}.pickle"
    if not pickled.exists():
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, __file__, "--prepare", str(directory), str(pickled)],
            check=True,
            timeout=timeout,
        )
        print(f"analysed in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    results = []
    for method in methods:
        out = subprocess.run(
            [sys.executable, __file__, "--measure", method, str(pickled)],
            capture_output=True,
            text=True,
            check=False,
            timeout=timeout,
        )
        if out.returncode != 0:
            results.append({"method": method, "error": out.stderr.strip().splitlines()[-1:]})
        else:
            results.append(json.loads(out.stdout))
        print(json.dumps(results[-1]), file=sys.stderr, flush=True)
    by = {r["method"]: r for r in results if "sha256" in r}
    same = {
        "compact": _same(by, "dumps-compact", "stream-compact"),
        "pretty": _same(by, "dumps-indent", "stream-pretty"),
        **{name: _same(by, name, f"{name}-stdlib") for name in _EXPORTER_DICT},
    }
    return {
        "benchmark": "json",
        "workloads": workloads,
        "seed": seed,
        "machine": {
            "python": platform.python_version(),
            "cpu_count": os.cpu_count(),
            "platform": platform.platform(),
        },
        "results": results,
        "byte_identical": same,
    }


def _same(by: dict[str, dict[str, Any]], a: str, b: str) -> bool | None:
    if a not in by or b not in by:
        return None
    return bool(by[a]["sha256"] == by[b]["sha256"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--methods",
        default=",".join(METHODS),
        help=f"comma-separated, from {', '.join(METHODS + EXPORTER_METHODS)}",
    )
    parser.add_argument("--timeout", type=float, default=None, help="seconds per subprocess")
    parser.add_argument("--prepare", nargs=2, type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--measure", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.prepare:
        prepare(*args.prepare)
    elif args.measure:
        print(json.dumps(measure(args.measure[0], Path(args.measure[1]))))
    else:
        methods = [m for m in args.methods.split(",") if m]
        print(json.dumps(run(args.workloads, args.seed, methods, args.timeout), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
