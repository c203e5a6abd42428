"""attackmap.cli._ticker: the CLI's spinner runs no thread (so the analysis may fork its
workers at a terminal), erases itself and lets log records through on their own lines, and
falls back to one line where no timer can drive it."""

from __future__ import annotations

import fcntl
import logging
import os
import pty
import select
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from attackmap._fork import _other_threads
from attackmap.cli import _configure_logging, _ticker

pytestmark = pytest.mark.skipif(
    not hasattr(signal, "setitimer") or sys.platform != "linux", reason="needs setitimer and ptys"
)

CLEAR = "\r\x1b[K"


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A function that puts ``sys.stderr`` on a pseudo-terminal (called in the test: pytest
    sets its own ``sys.stderr`` again after the fixtures) and returns a function that
    reads what reached the terminal."""
    master, slave = pty.openpty()
    stream = os.fdopen(slave, "w", encoding="utf-8", buffering=1)
    os.set_blocking(master, False)

    def read() -> str:
        return _drain(master).decode("utf-8").replace("\r\n", "\n")  # the pty's ONLCR

    def attach() -> Any:
        monkeypatch.setattr(sys, "stderr", stream)
        return read

    yield attach
    stream.close()
    os.close(master)


def _drain(master: int) -> bytes:
    """What a pseudo-terminal's other side wrote and this side has not read yet."""
    data = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # BlockingIOError: nothing more for now; EIO: the other side closed
            return data
        if not chunk:
            return data
        data += chunk


def _frames(text: str) -> list[str]:
    return [part for part in text.split(CLEAR) if part and part[0] in _ticker.FRAMES]


def test_spins_without_a_thread_then_erases_itself(terminal: Any) -> None:
    read = terminal()
    threads = _other_threads()
    with _ticker.ticking("working"):
        assert _other_threads() == threads  # nothing a fork would have to refuse
        assert signal.getitimer(signal.ITIMER_REAL)[1] == pytest.approx(_ticker.INTERVAL)
        time.sleep(0.55)  # interrupted by the timer, and resumed (PEP 475)
    out = read()
    frames = _frames(out)
    assert len(frames) >= 3
    assert all(f.split(" ", 1)[1].startswith("working") for f in frames)
    assert frames[0][0] == _ticker.FRAMES[0] and frames[1][0] == _ticker.FRAMES[1]
    assert out.endswith(CLEAR)  # the line is left empty
    assert signal.getsignal(signal.SIGALRM) is signal.SIG_DFL
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_a_log_record_gets_a_clean_line(terminal: Any) -> None:
    read = terminal()
    _configure_logging(quiet=False, verbose=False)
    with _ticker.ticking("working"):
        time.sleep(0.25)
        logging.getLogger("attackmap.test").warning("something to say")
        time.sleep(0.25)
    out = read()
    before, record, after = out.partition("WARNING: something to say\n")
    assert record
    assert before.endswith(CLEAR)  # the frame erased, nothing drawn in between
    assert _frames(before) and _frames(after)  # it spins before and after


def test_frames_fit_the_terminal(terminal: Any) -> None:
    read = terminal()
    fcntl.ioctl(sys.stderr.fileno(), termios.TIOCSWINSZ, struct.pack("HHHH", 24, 40, 0, 0))
    with _ticker.ticking("x" * 500):
        time.sleep(0.15)
    frames = _frames(read())
    assert frames and all(len(f) == 39 for f in frames)  # a wrapped frame is never erased


def test_one_line_where_the_timer_is_taken(terminal: Any) -> None:
    read = terminal()

    def elsewhere(signum: int, frame: object) -> None:
        pass

    previous = signal.signal(signal.SIGALRM, elsewhere)
    try:
        with _ticker.ticking("working"):
            time.sleep(0.15)
        assert signal.getsignal(signal.SIGALRM) is elsewhere  # left as it was
    finally:
        signal.signal(signal.SIGALRM, previous)
    assert read() == "working ...\n"


def test_one_line_off_the_main_thread(terminal: Any) -> None:
    read = terminal()

    def run() -> None:
        with _ticker.ticking("working"):
            time.sleep(0.15)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    assert read() == "working ...\n"
    assert signal.getsignal(signal.SIGALRM) is signal.SIG_DFL


def test_nested_spinners_do_not_fight(terminal: Any) -> None:
    read = terminal()
    with _ticker.ticking("outer"), _ticker.ticking("inner"):
        time.sleep(0.25)
    out = read()
    assert CLEAR + "inner ...\n" in out  # on a line of its own
    assert all("inner" not in f for f in _frames(out))


def test_the_cli_at_a_terminal_parses_with_workers(tmp_path: Path) -> None:
    """At a terminal the CLI spins while it reads and analyses; the parse workers still
    fork (with a Rich spinner's thread running, the loader read every file here)."""
    (tmp_path / "in").mkdir()
    for i in range(12):
        (tmp_path / "in" / f"pod{i}.yaml").write_text(
            f"apiVersion: v1\nkind: Pod\nmetadata: {{name: p{i}, namespace: ns}}\n"
            "spec: {containers: [{name: c, image: nginx}]}\n"
        )
    code = (
        "import sys\n"
        "from attackmap.model import _loader\n"
        "_loader.PARALLEL_MIN_FILES = 1; _loader.PARALLEL_MIN_BYTES = 0\n"
        "import attackmap._fork as f\n"
        "f.available_cpus = lambda: 2\n"
        "from attackmap.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    out = tmp_path / "report.json"
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "analyze", str(tmp_path / "in"), "-o", str(out), "-v"],
        stderr=slave,
        stdout=subprocess.DEVNULL,
    )
    os.close(slave)
    os.set_blocking(master, False)
    text = b""
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:  # read as it writes:
        select.select([master], [], [], 0.2)  # a full terminal buffer would block it
        text += _drain(master)
    if proc.poll() is None:  # past the deadline: the assertion below says why
        proc.kill()
    proc.wait()
    text += _drain(master)
    os.close(master)
    err = text.decode("utf-8")
    assert proc.returncode == 0, err
    assert "analysing 1 input(s)" in err
    assert "in this process" not in err  # the loader forked its parse workers
    assert "read 12 documents" in err
    assert out.stat().st_size > 0


def test_one_line_on_a_dumb_terminal(terminal: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    read = terminal()
    monkeypatch.setenv("TERM", "dumb")  # no cursor movement: "\r" and erasing are not known
    with _ticker.ticking("working"):
        time.sleep(0.15)
    assert read() == "working ...\n"


def test_ascii_frames_where_stderr_is_not_utf8(
    terminal: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    terminal()
    master, slave = pty.openpty()
    monkeypatch.setattr(sys, "stderr", os.fdopen(slave, "w", encoding="latin-1", buffering=1))
    with _ticker.ticking("working"):
        time.sleep(0.25)
    sys.stderr.close()
    os.set_blocking(master, False)
    frames = [f for f in _drain(master).decode("latin-1").split(CLEAR) if f]
    os.close(master)
    assert frames and all(f[0] in _ticker.ASCII_FRAMES and f[1:] == " working" for f in frames)


_STALLED = """
import os, pty, sys, time
from attackmap.cli import _ticker
master, slave = pty.openpty()
sys.stderr = os.fdopen(slave, "w", encoding="utf-8", buffering=1)
full = os.open(os.ttyname(slave), os.O_WRONLY | os.O_NONBLOCK)
try:  # the terminal's buffer filled, nobody reading: as after Ctrl-S
    while True:
        os.write(full, b"x" * 4096)
except BlockingIOError:
    pass
start = time.monotonic()
with _ticker.ticking("working"):
    time.sleep(0.3)
print(round(time.monotonic() - start, 2))
"""


def test_a_stalled_terminal_does_not_stall_the_run() -> None:
    """A frame is drawn only when the terminal takes it: a blocking write would hold the
    analysis while the terminal waits (a thread's write blocked only the thread)."""
    done = subprocess.run(
        [sys.executable, "-c", _STALLED], capture_output=True, text=True, timeout=60, check=True
    )
    assert float(done.stdout) < 2
