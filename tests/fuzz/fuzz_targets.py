"""The fuzz targets: one function per parser, each taking raw bytes.

A target passes when the input is either accepted or refused with an
:class:`~attackmap.errors.AttackmapError`; any other exception is a bug. The same
functions are driven by hypothesis (``test_fuzz_inputs.py``) and by atheris
(``atheris_main.py``).
"""

from __future__ import annotations

import io
import logging
import os
import tempfile

from attackmap.audit import analyze_audit, read
from attackmap.errors import AttackmapError
from attackmap.graph import analyze
from attackmap.model import load
from attackmap.seccomp import load_profile

logging.getLogger("attackmap").setLevel(logging.CRITICAL)  # the reader warns per bad file


def fuzz_loader(data: bytes, *, run_analysis: bool = True) -> None:
    """Bytes as a manifest file: load (and analyse what loads)."""
    fd, name = tempfile.mkstemp(suffix=".yaml")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        try:
            inventory = load(name)
        except AttackmapError:
            return
        if run_analysis:
            try:
                analyze(inventory)
            except AttackmapError:
                return
    finally:
        os.unlink(name)


def fuzz_audit(data: bytes) -> None:
    """Bytes as an audit log stream: read every event and summarise them."""
    try:
        reader = read(io.BytesIO(data))
        analyze_audit(reader)
    except AttackmapError:
        return


def fuzz_seccomp(data: bytes) -> None:
    """Bytes as a seccomp profile file (invalid UTF-8 included)."""
    fd, name = tempfile.mkstemp(suffix=".json")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        try:
            load_profile(name)
        except AttackmapError:
            return
    finally:
        os.unlink(name)


TARGETS = {"loader": fuzz_loader, "audit": fuzz_audit, "seccomp": fuzz_seccomp}
