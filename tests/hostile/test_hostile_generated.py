"""Hostile inputs too big, binary or dangerous to commit: generated in ``tmp_path``.

Every one is refused with an :class:`~attackmap.errors.AttackmapError` naming file and
line, the CLI exits 2 without a traceback, and the limits hold: oversize input is refused
before the YAML parser sees it, an alias bomb is stopped with bounded memory, nothing
tagged ``!!python/...`` is ever constructed (the payloads would create a marker file).
"""

from __future__ import annotations

import contextlib
import io
import json
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from attackmap.audit import read
from attackmap.cli import main
from attackmap.errors import AttackmapError, InputError, SeccompError
from attackmap.graph import analyze
from attackmap.model import (
    MAX_DEPTH,
    MAX_DOCUMENTS_PER_FILE,
    MAX_EXPANDED_NODES,
    MAX_FILE_BYTES,
    load,
)
from attackmap.seccomp import load_profile
from attackmap.seccomp._profile import MAX_PROFILE_DEPTH

POD = """\
apiVersion: v1
kind: Pod
metadata: {name: p, namespace: nim}
spec:
  containers: [{name: c, image: nginx}]
"""


def _cli_refuses(capsys: pytest.CaptureFixture[str], argv: list[str], where: str) -> str:
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert "Traceback" not in err
    assert where in err, err
    return err


def _alias_bomb(levels: int = 9, width: int = 10) -> str:
    lines = ["a0: &a0 [" + ", ".join(["lol"] * width) + "]"]
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- manifests


def test_a_100mb_document_is_refused_before_parsing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    big = tmp_path / "big.yaml"
    with big.open("wb") as f:
        f.write(POD.encode())
        f.truncate(100 * 1024 * 1024)  # 100 MiB, sparse: takes no disk
    assert big.stat().st_size > MAX_FILE_BYTES

    def no_parsing(*args: Any) -> Any:
        raise AssertionError("oversize input reached the YAML parser")

    monkeypatch.setattr("attackmap.model._yaml._compose", no_parsing)
    tracemalloc.start()
    try:
        with pytest.raises(InputError, match="more than the limit") as info:
            load(big)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert info.value.path == str(big)
    assert peak < 1024 * 1024, f"{peak} bytes allocated: the file was read before refusing it"
    _cli_refuses(capsys, ["inventory", str(big)], f"error: {big}: file is")


class _Endless(io.RawIOBase):
    """A stream that never ends (``yes``-like stdin); counts the bytes it served."""

    def __init__(self) -> None:
        self.served = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        view[:] = b"#" * len(view)
        self.served += len(view)
        return len(view)


def test_endless_stdin_is_refused_after_the_limit(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    stream = _Endless()
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BufferedReader(stream)))
    with pytest.raises(InputError, match="larger than the limit") as info:
        load("-")
    assert info.value.path == "<stdin>"
    # read up to one byte past the limit (plus one buffer of read-ahead), not forever
    assert MAX_FILE_BYTES < stream.served <= MAX_FILE_BYTES + 2 * 1024 * 1024
    _cli_refuses(capsys, ["inventory", "-"], "error: <stdin>: file is larger than the limit")


def test_oversize_text_and_stdin_are_refused(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("attackmap.model._yaml.MAX_FILE_BYTES", 1000)
    with pytest.raises(InputError, match="limit"):
        load(POD + "#" * 2000 + "\n")
    stdin = io.TextIOWrapper(io.BytesIO((POD + "#" * 2000 + "\n").encode()))
    monkeypatch.setattr("sys.stdin", stdin)
    _cli_refuses(capsys, ["inventory", "-"], "error: <stdin>: file is")


def test_more_than_100k_documents_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    many = tmp_path / "many.yaml"
    many.write_text("---\n{}\n" * (MAX_DOCUMENTS_PER_FILE + 1))
    line = 2 * MAX_DOCUMENTS_PER_FILE + 2  # the first document over the limit
    with pytest.raises(InputError, match=f"more than {MAX_DOCUMENTS_PER_FILE} documents") as info:
        load(many)
    assert (info.value.path, info.value.line) == (str(many), line)
    _cli_refuses(capsys, ["inventory", str(many)], f"{many}:{line}: more than")


def test_alias_bomb_is_refused_with_bounded_memory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata:\n"
        + "".join("  " + line + "\n" for line in _alias_bomb().splitlines())
    )
    tracemalloc.start()
    try:
        with pytest.raises(InputError, match="alias") as info:
            load(bomb)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # 10^9 nodes if expanded; the limit stops it after MAX_EXPANDED_NODES counted, not built
    assert peak < 32 * 1024 * 1024
    assert info.value.line is not None and info.value.field is not None
    assert info.value.field.startswith("data.a")
    _cli_refuses(capsys, ["analyze", str(bomb)], f"{bomb}:")


def test_wide_aliases_under_the_limit_still_load() -> None:
    # a legitimate use of anchors (shared labels) is not mistaken for a bomb
    text = "x: &l {app: a}\n" + "".join(f"k{i}: *l\n" for i in range(1000))
    assert MAX_EXPANDED_NODES > 3000
    inv = load(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n"
        + "".join("  " + line + "\n" for line in text.splitlines())
    )
    assert inv.configmaps


@pytest.mark.parametrize("levels", [MAX_DEPTH + 1, 10_000])
def test_deep_nesting_is_refused(
    levels: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    deep = tmp_path / "deep.yaml"
    deep.write_text(POD + "x: " + "[" * levels + "]" * levels + "\n")
    with pytest.raises(InputError, match="nest") as info:
        load(deep)
    assert info.value.line == 6
    _cli_refuses(capsys, ["inventory", str(deep)], f"{deep}:6: ")


def test_nul_byte_is_refused_at_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = tmp_path / "nul.yaml"
    f.write_bytes(POD.encode().replace(b"name: p", b"name: p\x00\x00", 1))
    with pytest.raises(InputError, match="NUL") as info:
        load(f)
    assert info.value.line == 3
    _cli_refuses(capsys, ["analyze", str(f)], f"{f}:3: ")


def test_invalid_utf8_is_refused_at_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = tmp_path / "latin1.yaml"
    f.write_bytes(POD.encode().replace(b"image: nginx", b"image: ngin\xe9\xff", 1))
    with pytest.raises(InputError, match="UTF-8") as info:
        load(f)
    assert info.value.line == 5
    _cli_refuses(capsys, ["pss", str(f)], f"{f}:5: ")


_PAYLOADS = [
    "!!python/object/apply:os.mkdir [{marker}]",
    "!!python/object/apply:builtins.exec ['import os; os.mkdir({marker})']",
    "!!python/object/new:os.mkdir [{marker}]",
    "!!python/name:os.system",
    "!!python/module:os",
]


@pytest.mark.parametrize("payload", _PAYLOADS)
def test_python_tags_are_never_constructed(
    payload: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    marker = tmp_path / "pwned"
    value = payload.format(marker=json.dumps(str(marker)))
    manifest = tmp_path / "evil.yaml"
    manifest.write_text(POD + f"status: {value}\n")
    with pytest.raises(InputError, match="unsupported YAML tag") as info:
        load(manifest)
    assert (info.value.line, info.value.field) == (6, "status")
    _cli_refuses(capsys, ["analyze", str(manifest)], f"{manifest}:6: status: ")
    profile = tmp_path / "evil-profile.yaml"
    profile.write_text(f"defaultAction: {value}\n")
    with pytest.raises(SeccompError):
        load_profile(profile)
    with pytest.raises(SeccompError):
        load_profile(f"defaultAction: SCMP_ACT_ERRNO\nsyscalls: {value}\n")
    assert not marker.exists()


def test_unknown_api_versions_are_listed_not_silently_dropped(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Documented decision (docs/security.md): an unknown API group or kind is not an
    error (charts are full of CRDs) but every output says what was not analysed. (The
    version within a known group is not checked: ``apps/v1beta2`` is read as ``apps/v1``.)"""
    f = tmp_path / "future.yaml"
    f.write_text(
        POD.replace("apiVersion: v1", "apiVersion: pods.example.com/v1")
        + "---\napiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n"
    )
    report = analyze(f)
    assert report.workloads == ()
    reasons = sorted(s.reason for s in report.skipped)
    assert reasons == [
        "kind Widget is not analysed by attackmap",
        "unknown apiVersion pods.example.com/v1 for kind Pod (expected group core)",
    ]
    assert main(["analyze", str(f)]) == 0
    out, _ = capsys.readouterr()
    assert "skipped 2 object(s)" in out
    assert main(["analyze", str(f), "--format", "json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["skipped"]) == 2


# --------------------------------------------------------------------------- seccomp


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (_alias_bomb(), "aliases are not accepted"),
        (
            "defaultAction: "
            + "[" * (MAX_PROFILE_DEPTH + 1)
            + "]" * (MAX_PROFILE_DEPTH + 1)
            + "\n",
            "nested deeper",
        ),
        ('{"defaultAction": ' + "[" * 100_000 + "]" * 100_000 + "}", "nested"),
        (
            '{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1' + "0" * 5000 + "}",
            "unreadable value",
        ),
        (
            "defaultAction: SCMP_ACT_ERRNO\ndefaultErrnoRet: 1" + "0" * 5000 + "\n",
            "unreadable value",
        ),
        ('{"defaultAction": "SCMP_ACT_ALLOW\x00"}', "not valid JSON"),
        ("defaultAction: SCMP_ACT_ALLOW\x00\n", "neither JSON nor YAML"),
        ('{"defaultAction": 5, "syscalls": "x"}', "expected"),
        (
            "defaultAction: SCMP_ACT_ERRNO\nsyscalls:\n- {names: [mount], x: !!bool maybe}\n",
            "line 3: 'maybe' is not a valid bool",
        ),
        (
            'defaultAction: SCMP_ACT_ERRNO\ndefaultErrnoRet: !!int ""\n',
            "line 2: '' is not a valid int",
        ),
    ],
    ids=[
        "alias-bomb",
        "deep-yaml",
        "deep-json",
        "huge-int-json",
        "huge-int-yaml",
        "nul-json",
        "nul-yaml",
        "types",
        "bool-tag-on-a-word",  # KeyError, fixed
        "int-tag-on-nothing",  # IndexError, fixed
    ],
)
def test_seccomp_parser_refuses_hostile_profiles(text: str, message: str) -> None:
    with pytest.raises(SeccompError, match=message):
        load_profile(text)


def test_seccomp_cli_refuses_a_hostile_profile(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = tmp_path / "bomb.yaml"
    f.write_text(_alias_bomb())
    _cli_refuses(capsys, ["seccomp", str(f)], f"{f}:2: ")


def test_malformed_tagged_values_are_refused_at_their_line_by_the_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Explicit standard tags on values they cannot have raised KeyError/IndexError (a
    traceback, exit 1) in both YAML readers."""
    profile = tmp_path / "profile.yaml"
    profile.write_text("defaultAction: SCMP_ACT_ERRNO\ndefaultErrnoRet: !!float ''\n")
    err = _cli_refuses(capsys, ["seccomp", str(profile)], str(profile))
    assert "line 2: '' is not a valid float" in err
    pod = tmp_path / "pod.yaml"
    pod.write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n"
        "  containers: [{name: c, image: x}]\n  hostNetwork: !!bool maybe\n"
    )
    _cli_refuses(capsys, ["inventory", str(pod)], f"{pod}:6: spec.hostNetwork: malformed boolean")
    pod.write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n"
        "  containers: [{name: c, image: x, ports: [{containerPort: !!int '-'}]}]\n"
    )
    _cli_refuses(
        capsys, ["analyze", str(pod)], f"{pod}:5: spec.containers[0].ports[0].containerPort"
    )


_PROFILE_PIECES = [
    "defaultAction: SCMP_ACT_ERRNO\n", "syscalls:\n", "- names: [mount]\n", "  action: ",
    "SCMP_ACT_ALLOW", "\n", "a: ", "- ", "{", "}", "[", "]", ", ", "!!bool ", "!!int ",
    "!!float ", "!!null ", "!!binary ", "!!timestamp ", "!!set ", '""', "maybe", "-", "0x",
    "1:30", "&x ", "*x", "<<: ",
]  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(_PROFILE_PIECES), max_size=16).map("".join))
def test_no_profile_text_raises_anything_but_seccomp_errors(text: str) -> None:
    with contextlib.suppress(SeccompError):
        load_profile(text if "\n" in text else text + "\n")


# --------------------------------------------------------------------------- audit


def test_audit_reader_counts_hostile_lines_and_never_raises(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    good = (Path(__file__).parents[1] / "audit" / "data" / "cluster.jsonl").read_bytes()
    first_good = good.splitlines(keepends=True)[0]
    hostile = [
        b"\x00\xff\xfe binary\n",
        b"[" * 100_000 + b"\n",
        b'{"apiVersion":"audit.k8s.io/v1","verb":"get","stage":"x","code":1' + b"0" * 5000 + b"}\n",
        b'{"apiVersion":"audit.k8s.io/v1","verb":5,"stage":[]}\n',
        b'{"apiVersion":"audit.k8s.io/v1","verb":"get","stage":"ResponseComplete","responseStatus":{"code":NaN}}\n',
        b'{"kind":"EventList","items":"nope"}\n',
        b'{"apiVersion":[],"verb":"get"}\n',  # an unhashable apiVersion (TypeError, fixed)
        b"x" * 5000 + b"\n",  # longer than max_line_bytes below
        b'{"truncated": \n',
    ]
    log = tmp_path / "audit.log"
    log.write_bytes(b"".join(hostile) + first_good)
    reader = read(log, max_line_bytes=4096)
    events = list(reader)
    assert reader.finished
    assert len(events) == 1
    assert reader.stats.bad_lines == len(hostile)
    assert [b.line for b in reader.stats.bad_locations] == list(range(1, len(hostile) + 1))
    assert main(["audit", str(log)]) == 0
    _, err = capsys.readouterr()
    assert "Traceback" not in err
    assert f"{len(hostile)} of {len(hostile) + 1} line(s) were not audit events" in err


def test_audit_of_nothing_but_garbage_is_an_error_not_an_empty_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "garbage.log"
    log.write_bytes(b"\x1f\x8b\x08\x00garbage-that-claims-to-be-gzip")
    _cli_refuses(capsys, ["audit", str(log)], "error: ")


def test_audit_paths_that_cannot_be_read(tmp_path: Path) -> None:
    with pytest.raises(AttackmapError, match="not found"):
        read(tmp_path / "missing.log")


@pytest.mark.parametrize("command", [["seccomp"], ["seccomp", "generate"]])
def test_seccomp_reads_are_bounded(
    command: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # `seccomp /dev/zero` read until memory ran out (a MemoryError traceback); a 1 GB file
    # was read whole before its size was checked
    from attackmap.seccomp._document import MAX_READ_BYTES

    big = tmp_path / "big.json"
    with big.open("wb") as f:
        f.truncate(MAX_READ_BYTES + 1)
    for path in ("/dev/zero", str(big)):
        _cli_refuses(capsys, [*command, path], f"{path}: file is larger than the limit")


def test_a_profile_of_millions_of_names_is_refused_early(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # 3.9M syscall names under the 16 MiB limit took minutes and 2 GB (~50 µs a name)
    from attackmap.seccomp._profile import MAX_PROFILE_SCALARS

    profile = {
        "defaultAction": "SCMP_ACT_ERRNO",
        "syscalls": [{"names": ["read"] * (MAX_PROFILE_SCALARS + 1), "action": "SCMP_ACT_ALLOW"}],
    }
    f = tmp_path / "names.json"
    f.write_text(json.dumps(profile))
    _cli_refuses(capsys, ["seccomp", str(f)], f"more than {MAX_PROFILE_SCALARS} values")


def test_an_endless_audit_stream_without_line_breaks_is_refused(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # `audit /dev/zero` (and `harden --audit /dev/zero`) skipped the over-long "line" forever
    from attackmap.audit import _reader

    monkeypatch.setattr(_reader, "MAX_LINE_SKIP_BYTES", 4 * 1024 * 1024)
    reader = read("/dev/zero", max_line_bytes=64 * 1024)
    with pytest.raises(AttackmapError, match="no line break in 4194304 bytes"):
        list(reader)
