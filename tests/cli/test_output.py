"""attackmap.cli._output: widths off a terminal, NO_COLOR, progress only on a TTY; output
files replaced whole or not at all."""

from __future__ import annotations

import contextlib
import errno
import os
import resource
import signal
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from attackmap.cli import _output, main
from attackmap.errors import AttackmapError


def test_console_width() -> None:
    assert _output.console_width(False, {}) == _output.PIPE_WIDTH
    assert _output.console_width(True, {}) is None
    assert _output.console_width(False, {"COLUMNS": "100"}) == 100
    assert _output.console_width(True, {"COLUMNS": "72"}) == 72
    assert _output.console_width(False, {"COLUMNS": "wide"}) == _output.PIPE_WIDTH


def test_table_is_plain_and_wide_when_piped(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    long = "T1611 Escape to Host via escape-sys-admin-mount > node-runtime-cli > node-tokens"
    _output.print_table(["a", "b"], [["x", long]])
    out = capsys.readouterr().out
    assert "\x1b[" not in out
    assert long in out  # not folded at 80 columns


def test_progress_is_silent_off_a_terminal_or_when_quiet(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert list(_output.progress(range(5), "x", quiet=False)) == [0, 1, 2, 3, 4]
    assert list(_output.progress(iter("ab"), "x", quiet=True)) == ["a", "b"]
    with _output.status("working", quiet=False):
        pass
    assert capsys.readouterr().err == ""
    assert not _output.show_progress(quiet=True)


# ------------------------------------------------------------------ output files

NIM = Path(__file__).resolve().parents[2] / "examples" / "nim" / "nim-deploy-default.yaml"
PREVIOUS = b"the previous report, kept byte for byte\n"

# (argv writing to {out}, the files it writes there); {dir} is the directory itself
_WRITERS = [
    *(
        (["analyze", str(NIM), "--format", fmt, "-o", "{out}/report"], ["report"])
        for fmt in ("table", "json", "html", "markdown", "sarif", "dot")
    ),
    (["inventory", str(NIM), "-o", "{out}/inventory"], ["inventory"]),
    (["inventory", str(NIM), "--format", "json", "-o", "{out}/inventory"], ["inventory"]),
    (["harden", str(NIM), "--out-dir", "{out}"], ["HARDENING.md", NIM.name]),
    (["docs", "--out-dir", "{out}"], ["capabilities.md", "controls.md"]),
]
_IDS = [" ".join(a[:1] + a[2:4]) for a, _ in _WRITERS]


@contextlib.contextmanager
def _file_size_limit(limit: int) -> Iterator[None]:
    """The kernel refuses writes past ``limit`` bytes in any file (EFBIG), as a full disk
    refuses them (ENOSPC): a real mid-write failure, not a patched method."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # else the signal kills us
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, handler)


def _argv(argv: list[str], out: Path) -> list[str]:
    return [a.replace("{out}", str(out)) for a in argv]


@pytest.mark.parametrize("existing", [True, False], ids=["existing", "new"])
@pytest.mark.parametrize(("argv", "names"), _WRITERS, ids=_IDS)
def test_a_failed_write_leaves_no_file_and_an_existing_file_untouched(
    argv: list[str],
    names: list[str],
    existing: bool,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / "warm-up").mkdir()
    assert main(_argv(argv, tmp_path / "warm-up")) in (0, 1)  # imports and caches first
    out = tmp_path / "out"
    out.mkdir()
    if existing:
        for name in names:
            (out / name).write_bytes(PREVIOUS)
            (out / name).chmod(0o640)
    before = sorted(p.name for p in out.iterdir())
    capsys.readouterr()
    with _file_size_limit(32):  # every output here is longer
        code = main(_argv(argv, out))
    _out, err = capsys.readouterr()
    assert code == 2
    assert "cannot write output: File too large" in err and "Traceback" not in err
    assert sorted(p.name for p in out.iterdir()) == before  # no temporary file left
    for name in names if existing else ():
        assert (out / name).read_bytes() == PREVIOUS
        assert stat.S_IMODE((out / name).stat().st_mode) == 0o640


def test_a_failure_at_sync_leaves_the_existing_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Some file systems report a full disk only when the data is synced."""
    report = tmp_path / "report.html"
    report.write_bytes(PREVIOUS)

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    assert main(["analyze", str(NIM), "--format", "html", "-o", str(report)]) == 2
    assert "cannot write output: No space left on device" in capsys.readouterr().err
    assert report.read_bytes() == PREVIOUS
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


@pytest.mark.parametrize("fmt", ["json", "html", "table"])
def test_dev_full_is_exit_2_without_a_traceback(
    fmt: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["analyze", str(NIM), "--format", fmt, "-o", "/dev/full"]) == 2
    err = capsys.readouterr().err
    assert err == "error: /dev/full: cannot write output: No space left on device\n"


def test_special_files_are_written_in_place(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    # /dev/stdout is pytest's capture file here: renaming over it would lose the output
    _output.write_text("to stdout", "/dev/stdout")
    assert capfd.readouterr().out == "to stdout\n"
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    _output.write_text("through a pipe", str(fifo))
    reader.join()
    assert received == [b"through a pipe\n"]
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    with pytest.raises(AttackmapError, match="cannot write output: Is a directory"):
        _output.write_text("x", str(tmp_path))


def test_file_modes_and_links(tmp_path: Path) -> None:
    umask = os.umask(0o022)
    try:
        new = tmp_path / "new.txt"
        _output.write_text("new", str(new))
        assert stat.S_IMODE(new.stat().st_mode) == 0o644  # as open() would create it
        new.chmod(0o600)
        _output.write_text("again", str(new))
        assert stat.S_IMODE(new.stat().st_mode) == 0o600  # an existing file keeps its mode
        assert new.read_text() == "again\n"
        link = tmp_path / "link.txt"
        link.symlink_to(new)
        _output.write_text("through the link", str(link))
        assert link.is_symlink() and new.read_text() == "through the link\n"
        assert sorted(p.name for p in tmp_path.iterdir()) == ["link.txt", "new.txt"]
    finally:
        os.umask(umask)


@pytest.mark.parametrize(
    "argv",
    [
        ["analyze", str(NIM)],
        ["analyze", str(NIM), "--format", "json"],
        ["inventory", str(NIM)],
        ["docs", "--list"],
    ],
    ids=["analyze-table", "analyze-json", "inventory-table", "docs-list"],
)
def test_stdout_on_a_full_disk_is_exit_2_without_a_traceback(
    argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # `attackmap analyze x > /dev/full` ended in a traceback (only -o was handled)
    full = open("/dev/full", "w", encoding="utf-8")  # noqa: SIM115 - closed below
    try:
        monkeypatch.setattr("sys.stdout", full)
        assert main(argv) == 2
        monkeypatch.undo()
    finally:
        with contextlib.suppress(OSError):  # what the failed flush left in its buffer
            full.close()
    err = capsys.readouterr().err
    assert err == "error: <stdout>: cannot write output: No space left on device\n"


_SIGNAL_MID_WRITE = """
import os, signal, sys
from attackmap.cli import _output, console_main

SIGNAL = getattr(signal, sys.argv[1])

def write_to(stream, content):
    stream.write("{\\"partial\\": ")
    stream.flush()
    os.kill(os.getpid(), SIGNAL)  # mid-write, as kill or Ctrl-C would

_output._write_to = write_to
sys.argv = ["attackmap", "analyze", sys.argv[2], "--format", "json", "-o", sys.argv[3]]
console_main()
"""


@pytest.mark.parametrize(("signame", "code"), [("SIGTERM", 143), ("SIGINT", 130)])
def test_a_signal_while_writing_leaves_no_file(tmp_path: Path, signame: str, code: int) -> None:
    """``kill``, ``timeout`` and a CI job's cancellation send SIGTERM: like Ctrl-C, the
    console script removes the output's temporary file and exits 128 + the signal, with
    one line and no traceback."""
    import subprocess
    import sys

    manifest = Path(__file__).parents[2] / "examples" / "nim" / "nim-deploy-default.yaml"
    out = tmp_path / "out" / "report.json"
    out.parent.mkdir()
    done = subprocess.run(
        [sys.executable, "-c", _SIGNAL_MID_WRITE, signame, str(manifest), str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == code, done.stderr
    assert list(out.parent.iterdir()) == []  # neither the report nor its temporary file
    assert "Traceback" not in done.stderr
    if signame == "SIGINT":
        assert done.stderr.strip().endswith("attackmap: interrupted")


def test_a_destination_that_cannot_be_written_is_refused_before_the_analysis(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """(Minutes at 10k workloads otherwise.) The analysis is never started."""
    import attackmap

    def no_analysis(*args: object, **kwargs: object) -> None:
        raise AssertionError("analysed before the destination was checked")

    monkeypatch.setattr(attackmap, "analyze", no_analysis)
    monkeypatch.setattr("attackmap.graph._analysis.report_writer", no_analysis)
    manifest = Path(__file__).parents[2] / "examples" / "nim" / "nim-deploy-default.yaml"
    afile = tmp_path / "afile"
    afile.write_text("keep\n", encoding="utf-8")
    cases = [
        (["-o", str(tmp_path)], "Is a directory"),
        (["-o", str(tmp_path / "missing" / "r.json")], "No such file or directory"),
        (["-o", str(afile / "r.json")], "Not a directory"),
        (["--out-dir", str(afile)], "a file of that name exists"),
    ]
    for extra, message in cases:
        assert main(["analyze", str(manifest), "--format", "json", *extra]) == 2, extra
        assert message in capsys.readouterr().err, extra
    assert afile.read_text(encoding="utf-8") == "keep\n"


def test_the_output_never_replaces_an_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = Path(__file__).parents[2] / "examples" / "nim" / "nim-deploy-default.yaml"
    manifest = tmp_path / "v.yaml"
    manifest.write_bytes(source.read_bytes())
    link = tmp_path / "link.yaml"
    link.symlink_to(manifest)
    for output in (manifest, link):
        assert main(["analyze", str(manifest), "--format", "table", "-o", str(output)]) == 2
        assert "the output is one of the inputs" in capsys.readouterr().err
    assert manifest.read_bytes() == source.read_bytes()
