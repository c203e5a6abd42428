"""A spinner on a terminal's stderr that runs no thread.

The analysis forks worker processes (the loader's parse workers, ``--workers``), and it
forks none while another thread runs: a child would inherit the locks that thread may hold
(:func:`attackmap._fork.fork_refusal`). A Rich spinner is such a thread, so a run at a
terminal used to read its files in one process. This spinner is drawn by a ``SIGALRM``
handler instead: an interval timer (``setitimer``) interrupts the main thread ten times a
second, and the handler writes the next frame straight to a non-blocking descriptor of
the terminal it opens for itself (never through ``sys.stderr``'s buffer, which the
interrupted code may be in the middle of writing; never waiting for the terminal). A
forked child inherits the handler but not the timer (``fork(2)``), so it never
draws. System calls the signal interrupts are retried by Python (PEP 475).

Log records written while it spins erase its line in the same write (:func:`write_line`),
so a warning never lands after a half-drawn frame; a frame is skipped while the terminal
takes no output (Ctrl-S), so a stalled terminal never stalls the analysis. Where the timer
cannot be used (not the main thread, no ``setitimer``, ``TERM=dumb``, or another
``SIGALRM`` handler or timer already installed) the message is written once instead.
Writes to stderr that bypass the CLI's log handler (``warnings``, third-party handlers)
may land after a frame on its line.
"""

from __future__ import annotations

import os
import select
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["ASCII_FRAMES", "FRAMES", "INTERVAL", "ticking", "write_line"]

FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
"""The spinner's frames (Rich's ``dots``)."""
ASCII_FRAMES = "-\\|/"
"""The frames where stderr's encoding is not UTF-8."""
INTERVAL = 0.1
"""Seconds between frames."""

_CLEAR = "\r\x1b[K"  # to the line's start, then erase to its end


class _Ticker:
    def __init__(self, fd: int, stderr: int, message: str, encoding: str) -> None:
        self.fd = fd  # the spinner's own non-blocking descriptor of the terminal
        self.stderr = stderr  # stderr's, for what must wait for the terminal
        self.encoding = encoding
        utf8 = encoding.lower().replace("-", "").replace("_", "") == "utf8"
        self.frames = FRAMES if utf8 else ASCII_FRAMES
        try:  # a frame wider than the terminal would wrap, and "\r" goes back one line only
            width = os.get_terminal_size(fd).columns or 80  # 0: the terminal does not say
        except OSError:
            width = 80
        self.width = max(width - 1, 10)
        self.message = message
        self.start = time.monotonic()
        self.frame = 0
        self.stopped = False  # stderr went away: no more frames

    def draw(self, _signum: int = 0, _frame: object = None) -> None:
        if self.stopped:
            return
        elapsed = int(time.monotonic() - self.start)
        text = f"{self.frames[self.frame % len(self.frames)]} {self.message}"
        if elapsed:
            text += f" ({elapsed} s)"
        self.frame += 1
        # never waits: a stalled terminal (Ctrl-S) skips frames, it does not stall the run
        try:
            os.write(self.fd, (_CLEAR + text[: self.width]).encode(self.encoding, "replace"))
        except BlockingIOError:
            pass
        except OSError:  # the terminal went away: stop drawing, never fail the run
            self.stopped = True


_active: _Ticker | None = None


@contextmanager
def ticking(message: str) -> Iterator[None]:
    """Draw a spinner with ``message`` on stderr (a terminal) until the block ends, then
    erase it; write ``message`` once where no timer can drive it."""
    global _active
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # a stream without a descriptor
        fd = -1
    if (
        fd < 0
        or os.environ.get("TERM") == "dumb"  # no cursor movement
        or _active is not None
        or not hasattr(signal, "setitimer")
        or threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGALRM) is not signal.SIG_DFL
        or signal.getitimer(signal.ITIMER_REAL) != (0.0, 0.0)
    ):
        write_line(f"{message} ...\n")
        yield
        return
    try:  # frames go through a non-blocking descriptor of its own for the terminal
        out = os.open(os.ttyname(fd), os.O_WRONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError:  # not a terminal, or its device cannot be opened: no frames
        write_line(f"{message} ...\n")
        yield
        return
    ticker = _Ticker(out, fd, message, getattr(sys.stderr, "encoding", None) or "utf-8")
    sys.stderr.flush()
    signal.signal(signal.SIGALRM, ticker.draw)
    _active = ticker
    try:
        ticker.draw()
        signal.setitimer(signal.ITIMER_REAL, INTERVAL, INTERVAL)
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, signal.SIG_DFL)
        _active = None
        _write(out, _CLEAR.encode())
        os.close(out)


def write_line(text: str) -> None:
    """Write ``text`` (whole lines) to stderr; while a spinner runs, erase its line in the
    same write (a frame drawn in between, by this process or a forked worker's log record,
    would leave the text after it on the same line)."""
    ticker = _active
    if ticker is None:
        sys.stderr.write(text)
        sys.stderr.flush()
        return
    sys.stderr.flush()
    data = (_CLEAR + text).encode(ticker.encoding, "replace")
    done = _write(ticker.fd, data)
    if done < len(data):  # the terminal takes no more now: the record waits for it
        _write(ticker.stderr, data[done:], wait=True)


def _write(fd: int, data: bytes, *, wait: bool = False) -> int:
    """Write ``data`` to ``fd``; how much was written. Without ``wait`` (the spinner's own
    non-blocking descriptor), what the terminal does not take now is not written."""
    done = 0
    while done < len(data):
        try:
            done += os.write(fd, data[done:])
        except BlockingIOError:
            if not wait:
                break
            select.select([], [fd], [])
        except OSError:  # stderr closed or gone: the run goes on
            break
    return done
