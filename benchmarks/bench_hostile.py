"""Benchmark: the worst inputs under the file-size limit, accepted or refused.

Target (docs/security.md, issue 19): any input under ``MAX_FILE_BYTES`` is accepted or
refused by ``attackmap inventory`` within 500 MB of peak memory and 10 s. Each case is
generated once, then run ``--runs`` times in a fresh process (the median wall time and the
largest peak RSS are reported); the process's start-up and imports are included.

    .venv/bin/python benchmarks/bench_hostile.py [--runs 3] [--keep DIR]

Cases: the issue's refused inputs (a 20 MB flow sequence of 10M items, a ConfigMap of 3M
keys, one 1 MB image aliased 300 times), and the largest accepted ones (one document of
just under ``MAX_FILE_NODES`` nodes filling most of the 64 MiB, many documents or pods
filling the node budget, aliases filling ``MAX_ALIAS_CHARS``), and ``harden --format diff``
of a 300 kB annotation that made the secret redactor's patterns backtrack (minutes before
they were bounded). Exit 1 when a case misses the target.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from attackmap.model import MAX_ALIAS_CHARS, MAX_FILE_BYTES, MAX_FILE_NODES

TARGET_MB = 500.0
TARGET_S = 10.0

CHILD = """
import json, sys, time
sys.path.insert(0, sys.argv[2])
from bench_scale import peak_rss_mb
start = time.perf_counter()
from attackmap.cli import main
argv = ["inventory", "--format", "json", "-o", sys.argv[3], sys.argv[1]]
if sys.argv[4] == "harden":
    argv = ["harden", sys.argv[1], "--goal", "T1611", "--format", "diff"]
code = main(argv)
print(json.dumps({"exit": code, "wall_s": time.perf_counter() - start, "peak_rss_mb": peak_rss_mb()}))
"""

HEADER = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: nim}\n"


def _flow_sequence(f: Path) -> None:  # refused: 10M items, 20 MB
    f.write_text(HEADER + "a: [" + ",".join(["1"] * 10_000_000) + "]\n")


def _wide_configmap(f: Path) -> None:  # refused: 3M keys, ~45 MB
    with f.open("w") as out:
        out.write(HEADER + "data:\n")
        out.writelines(f"  k{i:07d}: v{i % 10}\n" for i in range(3_000_000))


def _aliased_image(f: Path) -> None:  # refused: 300 containers naming one 1 MB image
    big = "x" * 1_000_000
    containers = f'  - name: c0\n    image: &img "{big}"\n' + "".join(
        f"  - name: c{i}\n    image: *img\n" for i in range(1, 300)
    )
    f.write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n" + containers
    )


def _largest_document(f: Path) -> None:  # accepted: one ConfigMap just under the node budget
    keys = (MAX_FILE_NODES - 20) // 2
    value = "v" * ((MAX_FILE_BYTES - 1_000_000) // keys - 14)
    with f.open("w") as out:
        out.write(HEADER + "data:\n")
        out.writelines(f"  k{i:07d}: {value}\n" for i in range(keys))


def _many_documents(f: Path) -> None:  # accepted: documents of 15 nodes up to the budget
    docs = MAX_FILE_NODES // 15 - 10
    with f.open("w") as out:
        out.writelines(
            f"---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c{i}, namespace: nim}}\n"
            f"data: {{a: b}}\n"
            for i in range(docs)
        )


def _many_pods(f: Path) -> None:  # accepted: minimal pods (25 nodes) up to the budget
    pods = MAX_FILE_NODES // 25 - 10
    with f.open("w") as out:
        out.writelines(
            f"---\napiVersion: v1\nkind: Pod\nmetadata: {{name: p{i}, namespace: nim}}\nspec:\n"
            "  containers: [{name: c, image: nginx, securityContext: {privileged: true}}]\n"
            for i in range(pods)
        )


def _aliases_at_the_budget(f: Path) -> None:  # accepted: aliases adding ~MAX_ALIAS_CHARS
    image = "x" * 10_000
    uses = MAX_ALIAS_CHARS // len(image) - 10
    containers = f'  - name: c0\n    image: &img "{image}"\n' + "".join(
        f"  - name: c{i}\n    image: *img\n" for i in range(1, uses)
    )
    f.write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n" + containers
    )


def _redactor_backtracking(f: Path) -> None:  # harden --format diff: 300 kB of '.--a'
    note = ".--a" * 75_000
    f.write_text(
        "apiVersion: apps/v1\nkind: Deployment\n"
        f'metadata: {{name: d, namespace: nim, annotations: {{note: "{note}"}}}}\n'
        "spec:\n  selector: {matchLabels: {app: d}}\n  template:\n"
        "    metadata: {labels: {app: d}}\n"
        "    spec: {containers: [{name: c, image: busybox, securityContext: {privileged: true}}]}\n"
    )


CASES: dict[str, tuple[Callable[[Path], None], str]] = {
    "flow_sequence_10m_items": (_flow_sequence, "refused"),
    "configmap_3m_keys": (_wide_configmap, "refused"),
    "image_1mb_aliased_300x": (_aliased_image, "refused"),
    "largest_document_accepted": (_largest_document, "accepted"),
    "many_documents_accepted": (_many_documents, "accepted"),
    "many_pods_accepted": (_many_pods, "accepted"),
    "aliases_at_the_budget_accepted": (_aliases_at_the_budget, "accepted"),
    "harden_diff_300kb_hostile_annotation": (_redactor_backtracking, "harden"),
}


def _run(path: Path, out: Path, command: str) -> dict[str, float]:
    here = Path(__file__).resolve().parent
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), str(here), str(out), command],
        capture_output=True,
        text=True,
        check=False,
    )
    lines = result.stdout.strip().splitlines()
    if not lines:
        raise RuntimeError(f"{path.name}: {result.stderr.strip()[-500:]}")
    data: dict[str, float] = json.loads(lines[-1])
    return data


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="write the generated inputs here")
    args = parser.parse_args()
    results: dict[str, object] = {}
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        for name, (generate, expected) in CASES.items():
            path = folder / f"{name}.yaml"
            generate(path)
            command = "harden" if expected == "harden" else "inventory"
            runs = [_run(path, Path(tmp) / "out.json", command) for _ in range(args.runs)]
            exits = {int(r["exit"]) for r in runs}
            wall = statistics.median(r["wall_s"] for r in runs)
            peak = max(r["peak_rss_mb"] for r in runs)
            wanted = {"refused": {2}, "accepted": {0}, "harden": {0, 1}}[expected]
            verdict = exits <= wanted and wall <= TARGET_S and peak <= TARGET_MB
            ok &= verdict
            results[name] = {
                "expected": expected,
                "exit": sorted(exits),
                "file_mb": round(path.stat().st_size / 1e6, 1),
                "wall_s": round(wall, 2),
                "wall_s_runs": [round(r["wall_s"], 2) for r in runs],
                "peak_rss_mb": peak,
                "pass": verdict,
            }
            if args.keep is None:
                path.unlink()
    print(
        json.dumps(
            {
                "target": {"peak_rss_mb": TARGET_MB, "wall_s": TARGET_S},
                "limits": {
                    "MAX_FILE_BYTES": MAX_FILE_BYTES,
                    "MAX_FILE_NODES": MAX_FILE_NODES,
                    "MAX_ALIAS_CHARS": MAX_ALIAS_CHARS,
                },
                "python": platform.python_version(),
                "cases": results,
                "pass": ok,
            },
            indent=2,
        )
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
