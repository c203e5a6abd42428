"""A spinner on a terminal's stderr that runs no thread.

The analysis forks worker processes (the loader's parse workers, ``--workers``), and it
forks none while another thread runs: a child would inherit the locks that thread may hold
(:func:`attackmap._fork.fork_refusal`). A Rich spinner is such a thread, so a run at a
terminal used to read its files in one process. This spinner is drawn by a ``SIGALRM``
handler instead: an interval timer (``setitimer``) interrupts the main thread ten times a
second, and the handler writes the next frame straight to stderr's file descriptor (never
through ``sys.stderr``'s buffer, which the interrupted code may be in the middle of
writing). A forked child inherits the handler but not the timer (``fork(2)``), so it never
draws. System calls the signal interrupts are retried by Python (PEP 475).

Log records written while it spins clear the line first (:func:`clear_line`), so a
warning never lands after a half-drawn frame. Where the timer cannot be used (not the main
thread, no ``setitimer``, or another ``SIGALRM`` handler or timer already installed) the
message is written once instead.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress

__all__ = ["FRAMES", "INTERVAL", "clear_line", "ticking"]

FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
"""The spinner's frames (Rich's ``dots``)."""
INTERVAL = 0.1
"""Seconds between frames."""

_CLEAR = "\r\x1b[K"  # to the line's start, then erase to its end


class _Ticker:
    def __init__(self, fd: int, message: str) -> None:
        self.fd = fd
        try:  # a frame wider than the terminal would wrap, and "\r" goes back one line only
            width = os.get_terminal_size(fd).columns or 80  # 0: the terminal does not say
        except OSError:
            width = 80
        self.width = max(width - 1, 10)
        self.message = message
        self.start = time.monotonic()
        self.frame = 0
        self.held = False  # True while a log record is written: no frame in between

    def draw(self, _signum: int = 0, _frame: object = None) -> None:
        if self.held:
            return
        elapsed = int(time.monotonic() - self.start)
        text = f"{FRAMES[self.frame % len(FRAMES)]} {self.message}"
        if elapsed:
            text += f" ({elapsed} s)"
        self.frame += 1
        try:
            os.write(self.fd, (_CLEAR + text[: self.width]).encode("utf-8", "replace"))
        except OSError:  # stderr closed or gone: stop drawing, never fail the run
            self.held = True


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
        or _active is not None
        or not hasattr(signal, "setitimer")
        or threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGALRM) is not signal.SIG_DFL
        or signal.getitimer(signal.ITIMER_REAL) != (0.0, 0.0)
    ):
        with clear_line():  # another spinner's line, if one runs
            print(f"{message} ...", file=sys.stderr, flush=True)
        yield
        return
    ticker = _Ticker(fd, message)
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
        _write(fd, _CLEAR)


@contextmanager
def clear_line() -> Iterator[None]:
    """Around a write to stderr: erase the spinner's line first and draw no frame until
    the write is done (the next tick draws it again below)."""
    ticker = _active
    if ticker is None:
        yield
        return
    held, ticker.held = ticker.held, True
    try:
        _write(ticker.fd, _CLEAR)
        yield
    finally:
        ticker.held = held


def _write(fd: int, text: str) -> None:
    with suppress(OSError):  # stderr closed or gone: the run goes on
        os.write(fd, text.encode())
