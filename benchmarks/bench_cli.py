"""Benchmark: the CLI on synthetic clusters, as a user runs it, beside the baselines of issue 21.

Each measurement is a fresh process (``attackmap analyze DIR ...``, the console script
beside this interpreter) timed from start to exit: ``wall_s``; ``cpu_s`` = user + system
time of the process and of every child it waited for (``os.wait4``: parse workers, an
analysis pool), so ``cpu_per_wall`` near 2 means both cores busy; ``peak_rss_mb`` = the
largest sum of the memory of the process and its descendants (proportional set sizes:
pages shared by forked workers counted once), sampled every ``SAMPLE_S`` seconds, and
never less than ``largest_process_peak_rss_mb`` (``ru_maxrss``: the peak RSS of the
largest single process of the tree).

A child's ``ru_maxrss`` is never less than the peak of this process's memory
(``VmHWM``): on Linux ``exec`` records the peak of the memory it replaces, and Python
starts a child with ``vfork``, so that memory is this process's. Where the child's figure
does not exceed this process's peak it is not the child's: ``largest_process_peak_rss_mb``
is then the largest ``VmHWM`` (the peak of a process's own memory) sampled from the
tree's processes (none, ``null``, for a child that ends before the first sample), and
``rss_floor_mb`` says so. This process keeps itself small (checkov's JSON output is read
in a child) so that it does not happen in ``make bench``.

* ``json``: ``analyze DIR --format json -o FILE`` (the report's size is ``json_bytes``);
* ``table``: ``analyze DIR --format table`` with stdout in a file (not a terminal), run
  alternately with ``json`` ``--table RUNS`` times: medians of each and of the pairs' ratios;
* ``goal``: ``analyze DIR --goal T1611,T1552 --format json -o FILE``, in one process and
  with ``--workers 2`` (``goal_workers_2``), run alternately with ``json`` ``--goal RUNS``
  times: what every workload's minimal-control checks cost against the same analysis
  without them (medians, and of the pairs' goal/json ratios);
* ``libyaml``: ``yaml.load_all(text, Loader=yaml.CSafeLoader)`` of every ``*.yaml`` file
  of the cluster in a fresh process, reading and parsing timed (the interpreter's start
  not): the floor issue 21 sets the 10k wall against;
* ``checkov``: ``checkov -d DIR --framework kubernetes -o json --skip-download`` (the peer
  the issue names, version 3.3.30), stopped after ``--checkov-timeout`` seconds (then
  ``timed_out`` and ``wall_s`` is that limit); skipped with a reason where checkov is not
  installed. It scans a copy of the cluster's files (it skips paths with a hidden part,
  such as ``benchmarks/.cache/``); ``summary`` gives its resource and check counts, and a
  run that scanned nothing is an ``error``. checkov 3.3.30 requires ``networkx<2.7`` and
  attackmap ``networkx>=3``, so it cannot be an extra of attackmap's environment:
  ``make bench-peers`` installs it into ``.venv-peers/``, where this script looks first
  (then beside this interpreter, then on ``PATH``).

    .venv/bin/python benchmarks/bench_cli.py --workloads 1000 [--table RUNS] [--goal RUNS]
        [--libyaml] [--checkov]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_scale import dataset, high_water_mb  # noqa: E402 - a sibling script, not a package

SAMPLE_S = 0.1
PAGE_MB = os.sysconf("SC_PAGE_SIZE") / 2**20
CHECKOV_VERSION = "3.3.30"

LIBYAML_CHILD = """
import json, sys, time
from pathlib import Path
import yaml
start = time.perf_counter()
documents = 0
for path in sorted(Path(sys.argv[1]).glob("*.yaml")):
    documents += sum(1 for _ in yaml.load_all(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader))
print(json.dumps({"wall_s": round(time.perf_counter() - start, 3), "documents": documents}))
"""


def attackmap_command() -> list[str]:
    """The console script installed beside this interpreter, else ``attackmap.cli``."""
    script = Path(sys.executable).with_name("attackmap")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from attackmap.cli import console_main; sys.exit(console_main())"]  # fmt: skip


def _tree_memory_mb(pid: int) -> tuple[float, float]:
    """Memory of ``pid`` and its descendants (``/proc/PID/task/*/children``): the sum of
    their proportional set sizes (``Pss`` in ``smaps_rollup``: a page shared by forked
    processes is counted once in all, not once in each), or of their resident sizes where
    the kernel has no ``smaps_rollup``; and the largest peak of one of them (``VmHWM``)."""
    total = largest = 0.0
    todo = [pid]
    while todo:
        p = todo.pop()
        with contextlib.suppress(OSError, ValueError, IndexError):
            total += _memory_mb(p)
            largest = max(largest, high_water_mb(p) or 0.0)
            for task in Path(f"/proc/{p}/task").iterdir():
                todo.extend(int(c) for c in (task / "children").read_text().split())
    return total, largest


def _memory_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) / 1024
    except FileNotFoundError:
        pass
    return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_MB


def timed(argv: list[str], *, stdout: Path | None = None, timeout: float) -> dict[str, Any]:
    """Run ``argv`` (stdout to ``stdout`` or nowhere): wall, CPU of the process tree, peak
    memory of the tree; ``timed_out`` after ``timeout`` seconds (the tree is killed)."""
    out = stdout.open("wb") if stdout is not None else subprocess.DEVNULL
    # the peak of this process's own memory, which a child's ru_maxrss starts at (see the
    # module's docstring; not this process's ru_maxrss, itself floored by its parent's)
    floor = high_water_mb()
    if floor is None:
        floor = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    peak = high_water = 0.0
    start = time.perf_counter()
    try:
        proc = subprocess.Popen(
            argv, stdout=out, stderr=subprocess.PIPE, start_new_session=True, cwd=HERE.parent
        )
    finally:
        if stdout is not None:
            out.close()  # type: ignore[union-attr]
    done = threading.Event()
    stderr: list[bytes] = []
    reader = threading.Thread(target=lambda: stderr.append(proc.stderr.read()))  # type: ignore[union-attr]
    reader.start()

    def sample() -> None:
        nonlocal peak, high_water
        while not done.wait(SAMPLE_S):
            total, largest = _tree_memory_mb(proc.pid)
            peak = max(peak, total)
            high_water = max(high_water, largest)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    timer = threading.Timer(timeout, lambda: os.killpg(proc.pid, signal.SIGKILL))
    timer.start()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    timer.cancel()
    done.set()
    sampler.join()
    reader.join()
    timed_out = os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL and wall >= timeout
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)  # leftovers of a killed tree
    cpu = usage.ru_utime + usage.ru_stime
    own = usage.ru_maxrss / 1024
    floored = own <= floor  # this process's peak, not the child's
    # (None: a floored child that ended before the first sample)
    largest = (high_water or None) if floored else own
    most = max(peak, largest or 0.0)
    result: dict[str, Any] = {
        "wall_s": round(wall, 3),
        "cpu_s": round(cpu, 3),
        "cpu_per_wall": round(cpu / wall, 2) if wall else None,
        "peak_rss_mb": round(most, 1) if most else None,
        "largest_process_peak_rss_mb": None if largest is None else round(largest, 1),
        "exit_status": os.waitstatus_to_exitcode(status),
    }
    if floored:
        result["rss_floor_mb"] = round(floor, 1)
    if timed_out:
        result["timed_out"] = True
    elif result["exit_status"] not in (0, 1, 2):  # 1: findings, 2: input notes (analyze)
        tail = b"".join(stderr).decode(errors="replace").strip().splitlines()[-1:]
        result["error"] = tail[0] if tail else f"exit {result['exit_status']}"
    return result


def analyze_json(directory: Path, timeout: float, *options: str) -> dict[str, Any]:
    """``attackmap analyze DIR --format json [OPTIONS] -o FILE``; ``json_bytes`` = the
    report's size."""
    with tempfile.TemporaryDirectory(prefix="attackmap-bench-cli-") as tmp:
        report = Path(tmp) / "report.json"
        argv = [*attackmap_command(), "analyze", str(directory), "--format", "json", *options]
        result = timed([*argv, "-o", str(report)], timeout=timeout)
        if report.exists():
            result["json_bytes"] = report.stat().st_size
    return result


def analyze_table(directory: Path, timeout: float) -> dict[str, Any]:
    """``attackmap analyze DIR --format table`` into a file (as a pipe or CI log gets it)."""
    with tempfile.TemporaryDirectory(prefix="attackmap-bench-cli-") as tmp:
        text = Path(tmp) / "table.txt"
        argv = [*attackmap_command(), "analyze", str(directory), "--format", "table"]
        result = timed(argv, stdout=text, timeout=timeout)
        result["table_bytes"] = text.stat().st_size
    return result


def alternate(
    measures: dict[str, Callable[[], dict[str, Any]]], runs: int
) -> dict[str, list[dict[str, Any]]]:
    """Each measurement ``runs`` times, taking turns (A B A B ...): the machine's slow and
    fast phases fall on both alike."""
    out: dict[str, list[dict[str, Any]]] = {name: [] for name in measures}
    for _ in range(runs):
        for name, measure in measures.items():
            out[name].append(measure())
    return out


def _median(runs: list[dict[str, Any]], key: str) -> float | None:
    values = [r[key] for r in runs if key in r and "error" not in r]
    return round(statistics.median(values), 3) if values else None


def table_vs_json(directory: Path, runs: int, timeout: float) -> dict[str, Any]:
    """``--format table`` against ``--format json -o F``, alternately, ``runs`` pairs."""
    turns = alternate(
        {
            "json": lambda: analyze_json(directory, timeout),
            "table": lambda: analyze_table(directory, timeout),
        },
        runs,
    )
    return {
        "runs": runs,
        "json": turns["json"],
        "table": turns["table"],
        "json_wall_s_median": _median(turns["json"], "wall_s"),
        "table_wall_s_median": _median(turns["table"], "wall_s"),
        **_wall_ratios(turns["json"], turns["table"]),
    }


def _wall_ratios(base: list[dict[str, Any]], other: list[dict[str, Any]]) -> dict[str, Any]:
    """Each turn's ``other`` wall / ``base`` wall where both ran to the end
    (``ratio_pairs``), and their median (``ratio``)."""
    pairs = [
        o["wall_s"] / b["wall_s"]
        for b, o in zip(base, other, strict=True)
        if all("wall_s" in r and "error" not in r and "timed_out" not in r for r in (b, o))
    ]
    return {
        "ratio_pairs": [round(p, 2) for p in pairs],
        "ratio": round(statistics.median(pairs), 2) if pairs else None,
    }


#: The goals of the ``--goal`` measurement: escape to the host, and credentials in files.
GOALS = "T1611,T1552"


def goal_vs_json(directory: Path, runs: int, timeout: float) -> dict[str, Any]:
    """``--goal`` in one process and in two (``--workers 2``) against ``--format json -o
    F`` without goals, taking turns, ``runs`` times each: what the minimal-control checks
    cost against the analysis they follow."""
    turns = alternate(
        {
            "json": lambda: analyze_json(directory, timeout),
            "goal": lambda: analyze_json(directory, timeout, "--goal", GOALS),
            "goal_workers_2": lambda: analyze_json(
                directory, timeout, "--goal", GOALS, "--workers", "2"
            ),
        },
        runs,
    )
    return {
        "runs": runs,
        "goals": GOALS,
        **turns,
        "json_wall_s_median": _median(turns["json"], "wall_s"),
        "goal_wall_s_median": _median(turns["goal"], "wall_s"),
        "goal_workers_2_wall_s_median": _median(turns["goal_workers_2"], "wall_s"),
        "goal_workers_2_cpu_per_wall_median": _median(turns["goal_workers_2"], "cpu_per_wall"),
        **_wall_ratios(turns["json"], turns["goal"]),
    }


def libyaml(directory: Path, timeout: float) -> dict[str, Any]:
    """Reading and parsing every YAML file of ``directory`` with libyaml, fresh process."""
    import yaml

    if not hasattr(yaml, "CSafeLoader"):
        return {"skipped": "PyYAML was built without libyaml (no yaml.CSafeLoader)"}
    try:
        out = subprocess.run(
            [sys.executable, "-c", LIBYAML_CHILD, str(directory)],
            capture_output=True,
            text=True,
            check=True,
            timeout=timeout,
        )
    except subprocess.CalledProcessError as e:
        return {"error": (e.stderr.strip().splitlines() or [f"exit {e.returncode}"])[-1]}
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    result: dict[str, Any] = json.loads(out.stdout)
    result["what"] = "yaml.load_all(text, Loader=yaml.CSafeLoader) of every *.yaml file"
    return result


PEERS = HERE.parent / ".venv-peers"


def checkov_command() -> list[str] | None:
    """checkov from ``make bench-peers``, else beside this interpreter, else on ``PATH``."""
    for candidate in (PEERS / "bin" / "checkov", Path(sys.executable).with_name("checkov")):
        if candidate.exists():
            return [str(candidate)]
    found = shutil.which("checkov")
    return [found] if found else None


def checkov(directory: Path, timeout: float) -> dict[str, Any]:
    """checkov's Kubernetes scan of ``directory`` (JSON output into a file)."""
    command = checkov_command()
    if command is None:
        return {
            "skipped": f"checkov is not installed: make bench-peers (checkov {CHECKOV_VERSION} "
            "in .venv-peers/; it cannot share attackmap's environment) or put it on PATH"
        }
    version = subprocess.run(
        [*command, "--version"], capture_output=True, text=True, check=False, timeout=120
    ).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="attackmap-bench-checkov-") as tmp:
        # checkov skips every path with a hidden part (the cache is benchmarks/.cache/):
        # it scans a copy of the cluster's files (not timed)
        cluster = Path(tmp) / "cluster"
        cluster.mkdir()
        for path in directory.glob("*.yaml"):
            shutil.copyfile(path, cluster / path.name)
        argv = [*command, "-d", str(cluster), "--framework", "kubernetes", "-o", "json"]
        report = Path(tmp) / "checkov.json"
        result = timed([*argv, "--skip-download"], stdout=report, timeout=timeout)
        if "timed_out" not in result:
            result["summary"] = _checkov_summary(report)
            if not result["summary"].get("resource_count"):
                result["error"] = "checkov scanned no resource"
    result["version"] = version or None
    result["timeout_s"] = timeout
    return result


CHECKOV_SUMMARY_CHILD = """
import json, sys
try:
    with open(sys.argv[1], encoding="utf-8") as f:
        data = json.load(f)
except (OSError, ValueError):
    data = {}
first = data[0] if isinstance(data, list) and data else data
summary = first.get("summary", first) if isinstance(first, dict) else {}
keys = ("resource_count", "passed", "failed", "parsing_errors")
print(json.dumps({k: summary[k] for k in keys if k in summary}))
"""


def _checkov_summary(report: Path) -> dict[str, Any]:
    """checkov's own counts (resources, passed and failed checks) from its JSON output,
    read in a child process: parsed here, the output of the 1k cluster raised this
    process's peak to 1,577 MB, which then stood as every later child's ``ru_maxrss``
    (the 10k CLI's among them: see :func:`timed`)."""
    out = subprocess.run(
        [sys.executable, "-c", CHECKOV_SUMMARY_CHILD, str(report)],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    try:
        found: dict[str, Any] = json.loads(out.stdout)
    except ValueError:
        return {}
    return found


def run(
    workloads: int,
    seed: int = 1,
    *,
    table_runs: int = 0,
    goal_runs: int = 0,
    with_libyaml: bool = False,
    with_checkov: bool = False,
    checkov_timeout: float = 300.0,
    timeout: float = 1800.0,
) -> dict[str, Any]:
    """The CLI measurements of one cluster size (generated or reused, ``bench_scale``)."""
    directory, stats = dataset(workloads, seed)
    result: dict[str, Any] = {
        "benchmark": "cli",
        "size": workloads,
        "seed": seed,
        "dataset": {
            k: stats[k] for k in ("namespaces", "files", "documents", "bytes") if k in stats
        },
    }
    if table_runs:
        result["table_vs_json"] = table_vs_json(directory, table_runs, timeout)
    else:
        result["json"] = analyze_json(directory, timeout)
    if goal_runs:
        result["goal_vs_json"] = goal_vs_json(directory, goal_runs, timeout)
    if with_libyaml:
        result["libyaml"] = libyaml(directory, timeout)
    if with_checkov:
        result["checkov"] = checkov(directory, checkov_timeout)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--table", type=int, default=0, metavar="RUNS", help="table vs JSON, RUNS pairs"
    )
    parser.add_argument(
        "--goal", type=int, default=0, metavar="RUNS", help="--goal vs JSON, RUNS turns"
    )
    parser.add_argument("--libyaml", action="store_true", help="also the libyaml parse")
    parser.add_argument("--checkov", action="store_true", help="also checkov (if installed)")
    parser.add_argument("--checkov-timeout", type=float, default=300.0)
    parser.add_argument("--timeout", type=float, default=1800.0)
    args = parser.parse_args(argv)
    result = run(
        args.workloads,
        args.seed,
        table_runs=args.table,
        goal_runs=args.goal,
        with_libyaml=args.libyaml,
        with_checkov=args.checkov,
        checkov_timeout=args.checkov_timeout,
        timeout=args.timeout,
    )
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
