"""The guarantees of docs/security.md, each backed by a test here or named there.

* no network access except ``attackmap attack update``;
* audit logs are streamed, never loaded whole;
* secret values never appear in any output format or log;
* ``yaml.load``/``eval``/``pickle`` never touch input;
* every test docs/security.md cites exists.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import re
import subprocess
import sys
import textwrap
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from attackmap.audit import analyze_audit, read
from attackmap.cli import main
from attackmap.exporters import EXPORTERS
from attackmap.graph import analyze

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SRC = REPO / "src" / "attackmap"
LEAK_MANIFEST = HERE / "secret-leak.yaml"
LEAK_AUDIT = HERE / "secret-leak-audit.jsonl"
LEAK_HARDEN = HERE / "secret-leak-harden.yaml"  # secrets where harden's diffs show context


@pytest.fixture(autouse=True)
def _restore_attackmap_logger() -> Iterator[None]:
    logger = logging.getLogger("attackmap")
    saved = (logger.handlers[:], logger.level, logger.propagate)
    yield
    logger.handlers[:], logger.level, logger.propagate = saved[0], saved[1], saved[2]


# --------------------------------------------------------------------------- network

_BLOCK_NETWORK = """
import socket, sys
class NetworkAccess(BaseException):
    pass
def refuse(*args, **kwargs):
    raise NetworkAccess(f"network access attempted: {args!r}")
class BlockedSocket(socket.socket):
    def __init__(self, *args, **kwargs):
        refuse(*args)
socket.socket = BlockedSocket
socket.create_connection = refuse
socket.getaddrinfo = refuse
socket.socketpair = refuse
"""


def test_no_network_access_in_a_fresh_process(tmp_path: Path) -> None:
    """Every command but ``attack update`` runs with sockets blocked (cold caches)."""
    out = tmp_path / "out"
    profile = tmp_path / "profile.json"
    profile.write_text(
        '{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]}'
    )
    commands = [
        ["attack", "info"],
        ["inventory", str(LEAK_MANIFEST), "--format", "json"],
        *(
            ["analyze", str(LEAK_MANIFEST), "--format", fmt, "-o", str(out / fmt)]
            for fmt in sorted(EXPORTERS)
        ),
        ["analyze", str(LEAK_MANIFEST)],
        ["pss", str(LEAK_MANIFEST), "--format", "json"],
        ["audit", str(LEAK_AUDIT), "--format", "json"],
        ["harden", str(LEAK_MANIFEST), "--out", str(out / "hardened")],
        ["seccomp", str(profile)],
        ["seccomp", "RuntimeDefault", "--caps", "SYS_ADMIN"],
    ]
    script = _BLOCK_NETWORK + textwrap.dedent(
        f"""
        import json
        from attackmap.cli import main
        out = __import__("pathlib").Path({str(out)!r})
        out.mkdir()
        codes = [main(argv) for argv in json.loads({json.dumps(json.dumps(commands))})]
        print(json.dumps(codes))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=600, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "NetworkAccess" not in result.stderr
    codes = json.loads(result.stdout.strip().splitlines()[-1])
    assert all(code in (0, 1) for code in codes), list(zip(commands, codes, strict=True))


def test_only_attack_update_imports_network_modules() -> None:
    network = re.compile(
        r"^\s*(?:import|from)\s+(urllib\.request|urllib3|http\.client|requests|httpx|socket|ftplib|smtplib)\b",
        re.MULTILINE,
    )
    users = sorted(
        str(p.relative_to(SRC)) for p in SRC.rglob("*.py") if network.search(p.read_text())
    )
    # and the Dask engine, which connects to the scheduler `--scheduler` names (a TCP probe
    # of it first) or runs a cluster on 127.0.0.1: `analyze --engine dask` alone
    assert users == ["attack/_update.py", "engines/_dask.py"]


# --------------------------------------------------------------------------- audit streaming


class _GuardedStream(io.RawIOBase):
    """An endless-looking audit log that fails if anyone reads it whole."""

    def __init__(self, lines: Iterator[bytes], chunk_limit: int) -> None:
        self._lines = lines
        self._buffer = b""
        self.chunk_limit = chunk_limit
        self.largest_request = 0
        self.served = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            raise AssertionError("the whole audit log was requested (read() without a size)")
        if size > self.chunk_limit:
            raise AssertionError(f"a read of {size} bytes")
        self.largest_request = max(self.largest_request, size)
        while len(self._buffer) < size:
            line = next(self._lines, None)
            if line is None:
                break
            self._buffer += line
        data, self._buffer = self._buffer[:size], self._buffer[size:]
        self.served += len(data)
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def readall(self) -> bytes:
        raise AssertionError("readall() on an audit log")

    def readlines(self, hint: int = -1) -> list[bytes]:
        raise AssertionError("readlines() on an audit log")


def _events(n: int, padding: int) -> Iterator[bytes]:
    for i in range(n):
        event = {
            "apiVersion": "audit.k8s.io/v1",
            "kind": "Event",
            "level": "RequestResponse",
            "auditID": f"00000000-0000-4000-8000-{i:012d}",
            "stage": "ResponseComplete",
            "verb": "get",
            "user": {"username": f"system:serviceaccount:nim:sa{i % 7}"},
            "objectRef": {"resource": "configmaps", "namespace": "nim", "name": f"c{i}"},
            "responseStatus": {"code": 200},
            "responseObject": {"data": {"blob": "x" * padding}},
        }
        yield json.dumps(event).encode() + b"\n"


def test_audit_logs_are_streamed_in_bounded_reads() -> None:
    stream = _GuardedStream(_events(5_000, 4000), chunk_limit=4 << 20)
    reader = read(stream)
    tracemalloc.start()
    try:
        count = sum(1 for _ in reader)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 5_000 and reader.finished
    assert stream.served > 20_000_000  # a 20 MB log ...
    assert peak < 8 << 20  # ... read with well under its size in memory
    assert 0 < stream.largest_request <= 4 << 20


def test_audit_summary_memory_does_not_grow_with_the_log() -> None:
    def peak_of(n: int) -> int:
        tracemalloc.start()
        try:
            analyze_audit(read(_GuardedStream(_events(n, 2000), chunk_limit=4 << 20)))
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    small, large = peak_of(1_000), peak_of(4_000)  # 2 MB vs 8 MB of log
    assert large < 2 * small + (2 << 20), (small, large)


# --------------------------------------------------------------------------- secrets

SECRETS = [f"LEAK{i:04d}" for i in range(1, 27)]
FORMS = [
    *SECRETS,
    base64.b64encode(b"nvapi-LEAK0002").decode(),
    base64.b64encode(b"nvapi-LEAK0012").decode(),
    "TEVBSz",  # base64 of "LEAK" at any offset-0 encoding
]


def _assert_clean(text: str, what: str) -> None:
    for form in FORMS:
        assert form not in text, f"{what} contains {form}"


def test_the_leak_fixtures_hold_the_secrets() -> None:
    text = LEAK_MANIFEST.read_text() + LEAK_AUDIT.read_text() + LEAK_HARDEN.read_text()
    encoded = {"LEAK0002", "LEAK0012", "LEAK0026"}  # present only base64-encoded (Secret data)
    assert all(s in text for s in SECRETS if s not in encoded)
    assert all(f in text for f in FORMS[len(SECRETS) : len(SECRETS) + 2])


def test_no_exporter_and_no_log_leaks_a_secret(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="attackmap"):
        report = analyze(LEAK_MANIFEST)
        outputs = {name: e.export(report) for name, e in EXPORTERS.items()}
        outputs["to_json"] = report.to_json()
        outputs["repr"] = repr(report)
        summary = analyze_audit(read(LEAK_AUDIT))
        outputs["audit"] = summary.model_dump_json()
    (w,) = report.workloads
    assert "T1552.001" in w.technique_ids()  # the credentials are found, by name
    for name, text in outputs.items():
        _assert_clean(text, name)
    _assert_clean(caplog.text, "the library's logs")


_CLI_RUNS = [
    ["inventory", str(LEAK_MANIFEST)],
    ["inventory", str(LEAK_MANIFEST), "--format", "json"],
    ["pss", str(LEAK_MANIFEST)],
    ["pss", str(LEAK_MANIFEST), "--format", "json"],
    ["analyze", str(LEAK_MANIFEST)],
    ["analyze", str(LEAK_MANIFEST), "--format", "json"],
    ["audit", str(LEAK_AUDIT)],
    ["audit", str(LEAK_AUDIT), "--format", "json"],
    ["audit", str(LEAK_AUDIT), "--format", "rbac"],
    ["audit", str(LEAK_AUDIT), "--workload", str(LEAK_MANIFEST)],
    ["harden", str(LEAK_MANIFEST), "--format", "diff"],
    ["harden", str(LEAK_MANIFEST), "--audit", str(LEAK_AUDIT), "--format", "diff"],
    ["inventory", str(LEAK_HARDEN), "--format", "json"],
    ["analyze", str(LEAK_HARDEN), "--format", "json"],
    ["harden", str(LEAK_HARDEN), "--level", "restricted", "--format", "diff"],
    ["harden", str(LEAK_HARDEN), "--goal", "T1611,T1552.001", "--format", "diff"],
    [
        "harden",
        str(LEAK_HARDEN),
        "--goal",
        "T1611,T1552.001",
        "--level",
        "restricted",
        "--format",
        "diff",
    ],
]


@pytest.mark.parametrize(
    "argv", _CLI_RUNS, ids=[" ".join([a[0], Path(a[1]).stem, *a[2:]]) for a in _CLI_RUNS]
)
def test_no_cli_output_or_log_leaks_a_secret(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["-v", *argv]) in (0, 1)
    out, err = capsys.readouterr()
    assert out.strip()
    _assert_clean(out, f"stdout of {argv}")
    _assert_clean(err, f"logs of {argv}")


@pytest.mark.parametrize("manifest", [LEAK_MANIFEST, LEAK_HARDEN], ids=lambda p: p.stem)
def test_harden_report_files_do_not_leak(
    manifest: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``harden --out`` rewrites the user's own manifests (their Secrets stay where the user
    put them, see docs/security.md); the files attackmap itself writes hold no secret."""
    out = tmp_path / "hardened"
    argv = ["harden", str(manifest), "--goal", "T1611,T1552.001", "--level", "restricted"]
    assert main([*argv, "--out", str(out)]) in (0, 1)
    capsys.readouterr()
    written = {p.name for p in out.iterdir()}
    assert "HARDENING.md" in written
    for name in ("HARDENING.md", "attackmap-added.yaml"):
        if (out / name).exists():
            _assert_clean((out / name).read_text(), name)


def test_hardened_yaml_keeps_the_users_values(capsys: pytest.CaptureFixture[str]) -> None:
    """The exception by design: the hardened manifests must still deploy, so the values no
    control removes stay where the user put them (only what attackmap shows is redacted)."""
    assert main(["harden", str(LEAK_HARDEN), "--level", "restricted"]) in (0, 1)
    out = capsys.readouterr().out
    kept = ["LEAK0017", "LEAK0020", "LEAK0021", "LEAK0023", "LEAK0025", "TEVBSzAwMjY="]
    assert [s for s in kept if s not in out] == []
    assert "<redacted>" not in out


# ------------------------------------------------- credential-shaped values (issue 17)

LEAK_SHAPES = HERE / "secret-leak-shapes.yaml"
SHAPE_SECRETS = [f"SHAPELEAK{i:02d}" for i in range(1, 12)]


def _assert_no_shape(text: str, what: str) -> None:
    for secret in SHAPE_SECRETS:
        assert secret not in text, f"{what} contains {secret}"


def test_the_shapes_fixture_holds_the_secrets_under_innocent_names() -> None:
    from attackmap.model import is_credential_name, load

    text = LEAK_SHAPES.read_text()
    assert all(s in text for s in SHAPE_SECRETS)
    (w,) = load(LEAK_SHAPES).workloads
    env = w.pod.containers[0].env
    shaped = [e for e in env if e.credential_kind is not None]
    assert len(shaped) == len(SHAPE_SECRETS)
    assert not any(is_credential_name(e.name) for e in env)


def test_no_output_or_log_leaks_a_credential_shaped_value(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from attackmap.model import load

    with caplog.at_level(logging.DEBUG, logger="attackmap"):
        report = analyze(LEAK_SHAPES)
        outputs = {name: e.export(report) for name, e in EXPORTERS.items()}
        outputs["to_json"] = report.to_json()
        outputs["repr"] = repr(report)
        inventory = load(LEAK_SHAPES)
        outputs["inventory"] = inventory.model_dump_json()
        outputs["inventory repr"] = repr(inventory)
    (w,) = report.workloads
    assert "T1552.001" in w.technique_ids()  # found by the values' shape
    for name, text in outputs.items():
        _assert_no_shape(text, name)
    _assert_no_shape(caplog.text, "the library's logs")


_SHAPE_RUNS = [
    ["inventory", str(LEAK_SHAPES)],
    ["inventory", str(LEAK_SHAPES), "--format", "json"],
    ["pss", str(LEAK_SHAPES)],
    ["pss", str(LEAK_SHAPES), "--format", "json"],
    *(["analyze", str(LEAK_SHAPES), "--format", f] for f in sorted(EXPORTERS)),
    ["harden", str(LEAK_SHAPES), "--format", "diff"],
    [
        "harden",
        str(LEAK_SHAPES),
        "--goal",
        "T1552.001",
        "--level",
        "restricted",
        "--format",
        "diff",
    ],
]


@pytest.mark.parametrize("argv", _SHAPE_RUNS, ids=[" ".join(a[:1] + a[2:]) for a in _SHAPE_RUNS])
def test_no_cli_output_or_log_leaks_a_credential_shaped_value(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["-v", *argv]) in (0, 1)
    out, err = capsys.readouterr()
    assert out.strip()
    _assert_no_shape(out, f"stdout of {argv}")
    _assert_no_shape(err, f"logs of {argv}")


def test_harden_report_files_do_not_leak_a_credential_shaped_value(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "hardened"
    argv = ["harden", str(LEAK_SHAPES), "--goal", "T1552.001", "--level", "restricted"]
    assert main([*argv, "--out", str(out)]) in (0, 1)
    capsys.readouterr()
    assert (out / "HARDENING.md").exists()
    for name in ("HARDENING.md", "attackmap-added.yaml"):
        if (out / name).exists():
            _assert_no_shape((out / name).read_text(), name)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        # an error at the entry itself, after the value
        (
            "{name: CLOUD_ID, value: AKIASHAPELEAK01ABCDE}",
            "{name: CLOUD_ID, value: AKIASHAPELEAK01ABCDE, value: x}",
        ),
        # an error further down the same container
        ("ports: [{containerPort: 8000}]", "ports: [{containerPort: eight}]"),
        # YAML that does not parse, in the middle of the values
        ("- {name: CI_REMOTE, value: glpat-", "- {name: CI_REMOTE, value: [glpat-"),
    ],
    ids=["duplicate-key", "bad-field", "bad-yaml"],
)
def test_no_error_leaks_a_credential_shaped_value(
    old: str, new: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = LEAK_SHAPES.read_text()
    assert old in text
    broken = tmp_path / "broken.yaml"
    broken.write_text(text.replace(old, new))
    assert main(["-v", "analyze", str(broken)]) == 2
    out, err = capsys.readouterr()
    assert "error" in err
    _assert_no_shape(out + err, f"the error for {new}")


# --------------------------------------------------------------------------- unsafe code

_FORBIDDEN = [
    (re.compile(r"(?<![\w.])eval\("), "eval("),
    (re.compile(r"(?<![\w.])exec\("), "exec("),
    (
        re.compile(
            r"\bimport\s+(pickle|cPickle|marshal|shelve|dill)\b|\bfrom\s+(pickle|marshal|shelve)\b"
        ),
        "pickle/marshal/shelve",
    ),
    (
        re.compile(r"\byaml\.(unsafe_load|unsafe_load_all|full_load|full_load_all)\b"),
        "yaml.unsafe_load",
    ),
    (
        re.compile(r"\byaml\.(Loader|FullLoader|UnsafeLoader|CLoader|CFullLoader|CUnsafeLoader)\b"),
        "an unsafe yaml Loader",
    ),
    (re.compile(r"\b(?:Unsafe|Full)Constructor\b"), "an unsafe yaml constructor"),
]
_YAML_LOAD = re.compile(r"\byaml\.(load|load_all)\(([^)]*)\)")


def test_no_unsafe_deserialisation_in_the_source_tree() -> None:
    problems = []
    for path in sorted(SRC.rglob("*.py")):
        text = path.read_text()
        for pattern, what in _FORBIDDEN:
            for m in pattern.finditer(text):
                problems.append(
                    f"{path.relative_to(REPO)}:{text.count(chr(10), 0, m.start()) + 1}: {what}"
                )
        for m in _YAML_LOAD.finditer(text):
            if not re.search(r"\bC?SafeLoader\b", m.group(2)):
                problems.append(f"{path.relative_to(REPO)}: yaml.{m.group(1)} without a SafeLoader")
    assert problems == []


def test_the_source_grep_would_catch_offenders() -> None:
    samples = [
        "eval(x)",
        "import pickle",
        "yaml.unsafe_load(s)",
        "yaml.load(s, Loader=yaml.Loader)",
        "yaml.FullLoader",
    ]
    for sample in samples:
        hit = any(p.search(sample) for p, _ in _FORBIDDEN) or bool(
            (m := _YAML_LOAD.search(sample)) and not re.search(r"SafeLoader", m.group(2))
        )
        assert hit, sample
    ok = _YAML_LOAD.search("yaml.load(s, Loader=yaml.CSafeLoader)")
    assert ok is not None and re.search(r"SafeLoader", ok.group(2))
    assert not any(p.search("x.literal_eval(y)") for p, _ in _FORBIDDEN)


# --------------------------------------------------------------------------- docs


def test_every_test_cited_by_docs_security_exists() -> None:
    doc = (REPO / "docs" / "security.md").read_text()
    cited = set(re.findall(r"`(tests/[\w/]+\.py)(?:::(\w+))?`", doc))
    assert len(cited) >= 10
    missing = []
    for file, name in sorted(cited):
        path = REPO / file
        if not path.exists():
            missing.append(file)
        elif name and not re.search(rf"^(async )?def {name}\(", path.read_text(), re.MULTILINE):
            missing.append(f"{file}::{name}")
    assert missing == []
