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
