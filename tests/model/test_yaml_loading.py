"""Safe YAML reading: line numbers, limits, tags, duplicate keys, bad bytes."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attackmap.errors import InputError
from attackmap.model import MAX_DEPTH, load
from attackmap.model._yaml import decode_bytes, locate, parse_text

SERVICE = "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {ports: [{port: 80}]}\n"
POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: p
spec:
  containers:
  - name: c
    image: nginx
"""


def test_documents_carry_lines_and_helm_source() -> None:
    text = (
        "---\n# Source: chart/templates/a.yaml\n"
        + POD
        + "---\n# Source: chart/templates/b.yaml\n"
        + POD.replace("name: p", "name: q")
    )
    docs = parse_text(text, "x.yaml")
    assert [(d.index, d.line, d.helm_source) for d in docs] == [
        (0, 3, "chart/templates/a.yaml"),
        (1, 13, "chart/templates/b.yaml"),
    ]


def test_helm_source_is_the_comment_between_documents() -> None:
    """Each document takes the last ``# Source:`` comment after the previous document's end;
    a comment inside a document, or several documents after one comment, take nothing."""
    parts = [
        "# Source: chart/templates/a.yaml\n# Source: chart/templates/a2.yaml\n" + POD,
        POD,  # no comment of its own
        "# Source: chart/templates/c.yaml\n"
        + POD.replace("  name: p", "  # Source: chart/templates/inside.yaml\n  name: p"),
        "# Source: chart/templates/d.yaml\n" + POD,
    ]
    docs = parse_text("---\n".join(parts * 300), "helm.yaml")
    expected = ["chart/templates/a2.yaml", None, "chart/templates/c.yaml", "chart/templates/d.yaml"]
    assert [d.helm_source for d in docs] == expected * 300


def test_locate_walks_field_paths() -> None:
    assert locate(POD, 0, ["spec", "containers", 0, "image"]) == 8
    assert locate(POD, 0, ["spec", "containers", 0, "nope"]) == 7


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: !!python/object:os.system x\n", "unsupported YAML tag"),
        ("a: !custom 1\n", "unsupported YAML tag"),
        ("a: !!set {x}\n", "unsupported YAML tag"),
        ("a: 1\na: 2\n", "duplicate key 'a'"),
        ("a: [1\n", "invalid YAML"),
        ("? [a]\n: 1\n", "mapping keys must be scalars"),
        ("a: &x [*x]\n", "recursive alias"),
    ],
)
def test_rejected_yaml(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message) as info:
        parse_text(text, "bad.yaml")
    assert info.value.path == "bad.yaml"
    assert info.value.line is not None


def test_alias_bomb_is_refused() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        prev = f"*a{i - 1}"
        lines.append(f"a{i}: &a{i} [{', '.join([prev] * 10)}]")
    with pytest.raises(InputError, match="alias"):
        parse_text("\n".join(lines) + "\n", "bomb.yaml")


def test_deep_nesting_is_refused() -> None:
    text = "a: " + "[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5) + "\n"
    with pytest.raises(InputError, match="nested deeper"):
        parse_text(text, "deep.yaml")


def test_timestamps_and_binary_stay_strings_merge_keys_work() -> None:
    docs = parse_text("base: &b {x: 1}\nd: 2024-01-02\nm:\n  <<: *b\n  y: 2\n", "t.yaml")
    assert docs[0].data == {"base": {"x": 1}, "d": "2024-01-02", "m": {"x": 1, "y": 2}}


def test_bad_bytes() -> None:
    with pytest.raises(InputError, match="UTF-8") as info:
        decode_bytes(b"a: 1\nb: \xff\n", "f.yaml")
    assert info.value.line == 2
    with pytest.raises(InputError, match="NUL"):
        parse_text("a: 1\x00\n", "f.yaml")


def test_load_reports_field_path_and_line(tmp_path: Path) -> None:
    f = tmp_path / "deploy.yaml"
    f.write_text(
        POD.replace(
            "    image: nginx\n",
            "    image: nginx\n    securityContext:\n      capabilities:\n        add: SYS_ADMIN\n",
        )
    )
    with pytest.raises(InputError) as info:
        load(f)
    e = info.value
    assert e.field == "spec.containers[0].securityContext.capabilities.add"
    assert e.line == 11
    assert "expected a list of strings, got a string" in e.summary()
    assert e.summary().startswith(f"{f}:11: spec.containers[0]")


@pytest.mark.parametrize(
    ("text", "field", "message"),
    [
        (POD.replace("kind: Pod\n", ""), "kind", "required field missing"),
        (POD.replace("  name: p\n", "  labels: {}\n"), "metadata.name", "required field missing"),
        (
            POD.replace("  - name: c\n    image: nginx\n", "  - image: nginx\n"),
            "spec.containers[0].name",
            "required field missing",
        ),
        (
            POD.replace(
                "    image: nginx\n",
                "    image: nginx\n    securityContext: {privileged: 'true'}\n",
            ),
            "spec.containers[0].securityContext.privileged",
            "expected a boolean",
        ),
        (
            POD.replace(
                "    image: nginx\n", "    image: nginx\n    resources: {limits: {cpu: lots}}\n"
            ),
            "spec.containers[0].resources.limits.cpu",
            "malformed quantity",
        ),
        # identical copies are one object (tests/cli/test_repositories.py); different ones
        # are an error unless a workload (tests/model/test_duplicates.py)
        (
            SERVICE + "---\n" + SERVICE.replace("port: 80", "port: 8080"),
            None,
            "duplicate object Service/default/s",
        ),
        ("- a\n- b\n", None, "must be a mapping"),
    ],
)
def test_bad_objects(text: str, field: str | None, message: str) -> None:
    with pytest.raises(InputError, match=message) as info:
        load(text)
    assert info.value.field == field
    assert info.value.line is not None


def test_oversize_file_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("attackmap.model._yaml.MAX_FILE_BYTES", 10)
    with pytest.raises(InputError, match="limit"):
        decode_bytes(b"a: 1234567890\n", "big.yaml")


_SHARED = Path(__file__).resolve().parents[3] / "shared"


def _both_builders(text: str) -> list[tuple[object, object]]:
    """Each document of ``text`` built by the general builder (alias bookkeeping) and by
    the plain one used when the text has no anchor: (value or error) pairs."""
    from attackmap.model._yaml import _Builder, _compose, _NodeError

    out = []
    for node in _compose(text, "t.yaml"):
        results = []
        for plain in (False, True):
            builder = _Builder("t.yaml", aliases=not plain)
            try:
                value = builder.plain(node, 0) if plain else builder.build(node, 0)[0]
                results.append(("value", value))
            except _NodeError as e:
                results.append(("error", e.message, e.line, e.parts))
        out.append((results[0], results[1]))
    return out


@pytest.mark.parametrize(
    "text",
    [
        POD,
        "m:\n  <<: {x: 1, y: 2}\n  y: 3\n",  # a merge key without anchors
        "m:\n  <<: [{x: 1}, {x: 2, z: 3}]\n  a: [1, 2.5, true, null, ~, '7', 0x1F]\n",
        "m: {<<: 3}\n",
        "a: 1\nb: {c: 1, c: 2}\n",
        "a: [{b: 1}, {b: 2, b: 3}]\n",
        "? [a, b]\n: 1\n",
        "a: !!set {x, y}\n",
        "a: [1, !custom 2]\n",
        "a: 123456789012345678901234567890\n",
        "a: .inf\n",
        "a: 2024-01-02\nb: !!binary aGk=\n3: int key\nnull: null key\n",
        "a: " + "[" * (MAX_DEPTH + 2) + "]" * (MAX_DEPTH + 2) + "\n",
        "- a\n- [b, {c: [d, {e: f}]}]\n",
    ],
)
def test_plain_builder_equals_the_general_one(text: str) -> None:
    """Documents without anchors take a faster builder; it gives exactly the values and
    the errors (message, line, field path) of the general one."""
    for general, plain in _both_builders(text):
        assert plain == general


def test_plain_builder_equals_the_general_one_on_the_corpora() -> None:
    roots = [Path(__file__).resolve().parents[1] / "hostile" / "corpus"]
    if (_SHARED / "corpus").is_dir():
        roots.append(_SHARED / "corpus")
    files = [f for root in roots for f in sorted(root.rglob("*.y*ml"))]
    checked = 0
    for f in files:
        text = f.read_text(encoding="utf-8", errors="replace")
        if "&" in text:  # anchors: only the general builder is used
            continue
        try:
            pairs = _both_builders(text)
        except InputError:  # a syntax error: no document to build
            continue
        for general, plain in pairs:
            assert plain == general, f
            checked += 1
    assert checked > 20


_HELM_PIECES = [
    "# Source: ",
    "a",
    " ",
    "\n",
    "\r",
    "\t",
    "x/y.yaml",
    "#",
    "Source:",
    "\u2028",
    "\x85",
]


@settings(max_examples=2000, deadline=None)
@given(st.lists(st.sampled_from(_HELM_PIECES), max_size=14).map("".join))
def test_helm_source_comments_are_found_as_the_multiline_pattern_finds_them(text: str) -> None:
    """``_helm_sources`` scans with ``str.find``; it finds exactly the lines and templates
    of the pattern ``^# Source: (.+?)\\s*$`` (multi-line), line numbers included."""
    import re

    from attackmap.model._yaml import _helm_sources

    expected = []
    line, counted = 1, 0
    for m in re.finditer(r"^# Source: (.+?)\s*$", text, re.MULTILINE):
        line += text.count("\n", counted, m.start())
        counted = m.start()
        expected.append((line, m.group(1)))
    assert _helm_sources(text) == expected
