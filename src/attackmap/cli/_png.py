"""``analyze --format png``: the ``dot`` exporter's text drawn by Graphviz, when its ``dot``
program is on ``PATH``. PNG is the one format that needs a program besides attackmap; the
pictures that need none are ``svg`` and ``mermaid``, and the HTML report's."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from typing import TextIO

from attackmap.cli._output import write_stream
from attackmap.errors import AttackmapError

INSTALL = (
    "install Graphviz (apt-get install graphviz, brew install graphviz, "
    "https://graphviz.org/download/) so that `dot` is on PATH; or write a picture that "
    "needs no program: --format svg (-o paths.svg), --format mermaid (-o paths.mmd), "
    "--format html"
)


def require_dot() -> str:
    """Graphviz's ``dot`` on ``PATH``, or an :class:`AttackmapError` saying how to get it
    (the CLI asks before analysing, so a missing program costs no analysis)."""
    dot = shutil.which("dot")
    if dot is None:
        raise AttackmapError(
            "--format png needs Graphviz's `dot` program, which is not on PATH",
            field="--format",
            hint=INSTALL,
        )
    return dot


def render_png(dot_text: str) -> bytes:
    """``dot_text`` drawn as PNG by Graphviz's ``dot``; an :class:`AttackmapError` saying
    how to get it when it is not on ``PATH`` or fails."""
    dot = require_dot()
    try:
        done = subprocess.run(  # a fixed program found on PATH; our own DOT text on stdin
            [dot, "-Tpng"], input=dot_text.encode(), capture_output=True, timeout=300, check=False
        )
    except (OSError, subprocess.SubprocessError) as e:
        raise AttackmapError(f"Graphviz's dot could not run: {e}", hint=INSTALL) from e
    if done.returncode != 0 or not done.stdout:
        detail = done.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
        raise AttackmapError(
            f"Graphviz's dot failed (exit {done.returncode}): {detail[0]}", hint=INSTALL
        )
    return done.stdout


def png_content(dot_text: str) -> Callable[[TextIO], None]:
    """``dot_text`` drawn (:func:`render_png`), as a writer of its bytes to a text stream's
    buffer (what :func:`attackmap.cli._output.write_files` takes)."""
    data = render_png(dot_text)

    def write(stream: TextIO) -> None:
        stream.flush()
        stream.buffer.write(data)
        stream.buffer.flush()

    return write


def write_png(dot_text: str, output: str | None) -> None:
    """Draw ``dot_text`` and write the PNG to ``output`` (never to a terminal)."""
    if (output is None or output == "-") and sys.stdout.isatty():
        raise AttackmapError(
            "a PNG is not written to a terminal", field="--format", hint="pass -o FILE.png"
        )
    write_stream(png_content(dot_text), output)
