"""Inputs under the file-size limit that would still take unbounded memory or output.

* A huge document (a 20 MB flow sequence of 10M items, a ConfigMap of 3M keys) used to be
  composed whole by libyaml before any limit applied (47 s and 3 GB). Nodes are now
  counted *while* libyaml composes, and the file is refused at :data:`MAX_FILE_NODES`.
* An alias of a long scalar expanded to 300 MB of output from a 1 MB file. An alias now
  counts the characters it expands to, against :data:`MAX_ALIAS_CHARS`.

The real-size cases are measured by ``benchmarks/bench_hostile.py`` (``make bench``); here
the budgets are lowered so that the same mechanism is shown on small inputs, with memory
measured by ``tracemalloc``.
"""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest

from attackmap.cli import main
from attackmap.errors import InputError
from attackmap.model import MAX_ALIAS_CHARS, MAX_FILE_NODES, _yaml, load

HEADER = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: nim}\n"


def _peak_of_refusal(text: str, match: str) -> tuple[InputError, int]:
    tracemalloc.start()
    try:
        with pytest.raises(InputError, match=match) as info:
            load(text)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return info.value, peak


def test_the_node_budget_is_documented_and_below_the_expansion_limit() -> None:
    # one budget for what libyaml composes per file; ~300 bytes a node keeps a refused
    # file's tree (plus its text) within the 500 MB budget docs/security.md states
    assert 100_000 <= MAX_FILE_NODES <= 500_000
    assert MAX_ALIAS_CHARS == 4 * 1024 * 1024


@pytest.mark.parametrize(
    ("body", "line"),
    [
        ("data:\n  a: [" + ",".join(["1"] * 200_000) + "]\n", 5),  # a long flow sequence
        ("data:\n" + "".join(f"  k{i}: v\n" for i in range(100_000)), 5),  # a wide mapping
    ],
    ids=["flow-sequence", "wide-mapping"],
)
def test_a_huge_document_is_refused_while_it_is_composed(
    body: str, line: int, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(_yaml, "MAX_FILE_NODES", 20_000)
    error, peak = _peak_of_refusal(HEADER + body, "more than 20000 YAML nodes")
    assert error.line == line  # the collection that holds too many nodes
    # 20,000 nodes composed, not 200,000: the whole tree would take > 40 MB here
    assert peak < 12 * 1024 * 1024, peak
    f = tmp_path / "huge.yaml"
    f.write_text(HEADER + body)
    assert main(["inventory", str(f)]) == 2


def test_the_node_budget_counts_every_document_of_a_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_yaml, "MAX_FILE_NODES", 1_000)

    def small(i: int) -> str:  # 15 nodes
        return HEADER.replace("name: c", f"name: c{i}") + "data: {a: b}\n"

    load("---\n".join(small(i) for i in range(60)))
    with pytest.raises(InputError, match="more than 1000 YAML nodes") as info:
        load("---\n".join(small(i) for i in range(100)))
    assert info.value.line is not None and info.value.line > 60 * 5


def test_explicitly_tagged_scalars_are_counted_too(monkeypatch: pytest.MonkeyPatch) -> None:
    # libyaml resolves no tag for `!!str x`: the count must not rest on the resolver
    monkeypatch.setattr(_yaml, "MAX_FILE_NODES", 5_000)
    with pytest.raises(InputError, match="YAML nodes"):
        load(HEADER + "data:\n  a: [" + ", ".join(["!!str x"] * 10_000) + "]\n")


def _aliased_image(length: int, uses: int) -> str:
    containers = f'  - name: c0\n    image: &img "{"x" * length}"\n' + "".join(
        f"  - name: c{i}\n    image: *img\n" for i in range(1, uses)
    )
    return "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n" + containers


def test_an_alias_counts_the_size_of_what_it_expands_to(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(_yaml, "MAX_ALIAS_CHARS", 100_000)
    # 300 containers naming one 10,000-character image: 3 MB of output from 10 kB of input
    text = _aliased_image(10_000, 300)
    error, _ = _peak_of_refusal(text, "aliases expand the document by more than 100000")
    assert error.field is not None and error.field.startswith("spec.containers[")
    f = tmp_path / "amplified.yaml"
    f.write_text(text)
    assert main(["inventory", "--format", "json", str(f)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "aliases expand" in err and "Traceback" not in err


def test_aliased_collections_count_their_characters(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_yaml, "MAX_ALIAS_CHARS", 100_000)
    env = "[" + ", ".join(f"{{name: V{i}, value: {'y' * 100}}}" for i in range(100)) + "]"
    uses = "".join(f"  - name: c{i}\n    image: i\n    env: *env\n" for i in range(1, 20))
    text = (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n"
        f"  - name: c0\n    image: i\n    env: &env {env}\n" + uses
    )
    with pytest.raises(InputError, match="aliases expand"):
        load(text)


def test_ordinary_anchors_stay_within_the_budget() -> None:
    # shared labels and env blocks, the way charts use anchors: far below the budget
    inv = load(_aliased_image(50, 300))
    (workload,) = inv.workloads
    assert len(workload.pod.containers) == 300
