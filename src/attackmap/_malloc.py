"""Large blocks go back to the system when freed (glibc), in the console script's process.

CPython takes objects up to 512 bytes from its own arenas and everything larger from the C
library's ``malloc``: lists and dicts of a whole cluster's nodes (an analysis' path tables
hold a distance per node: ~2.6 MB each at 10k workloads), the report's text. glibc serves a
block of 128 KiB or more with its own ``mmap`` and unmaps it when freed, but each such free
raises that threshold to the block's size (up to 32 MiB): after the first table is freed,
the next ones come from the heap, and freed they leave holes that stay resident while
smaller blocks sit above them. At the 10k synthetic cluster's path search glibc held
~58 MB free that way, part of the peak. With the threshold fixed (``M_MMAP_THRESHOLD``,
which also stops it moving), a block from :data:`THRESHOLD` up that neither a free hole
nor the top of the heap holds is mapped on its own, and unmapped when freed: measured, the
CLI's peak 618 → 588 MB at 10k within the noise of its time (``docs/performance.md``).

A process-wide setting: only the console script sets it (the process is the command's
own), before it reads a large input (:func:`attackmap.cli._inputs.own_allocator`); a
program that calls :func:`attackmap.cli.main` or the library keeps its own, and so does a
user who tuned it (``MALLOC_MMAP_THRESHOLD_``, ``glibc.malloc.mmap_threshold`` in
``GLIBC_TUNABLES``). Processes forked later inherit it; Dask's workers, started apart,
do not.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

__all__ = ["THRESHOLD", "return_large_blocks"]

#: Blocks from this size up are mapped on their own (glibc's default starts at 128 KiB and
#: moves). 256 KiB: larger than any block of CPython's small-object arenas' own requests
#: (their 1 MiB arenas are mapped already), small enough for every per-node table.
THRESHOLD = 256 * 1024

#: ``mallopt``'s parameter number (``<malloc.h>``).
_M_MMAP_THRESHOLD = -3


def return_large_blocks(threshold: int = THRESHOLD) -> bool:
    """Fix glibc's mmap threshold at ``threshold`` bytes; whether it was set (``False``
    elsewhere than Linux with glibc, without ``ctypes``, or where the environment sets the
    threshold already: nothing changes)."""
    if not sys.platform.startswith("linux") or _tuned(os.environ):
        return False
    try:
        import ctypes  # (~5 ms: only where it is used)

        libc = ctypes.CDLL(None)
        libc.gnu_get_libc_version  # noqa: B018 - glibc's own: musl's mallopt does nothing
        mallopt = libc.mallopt
    except (ImportError, OSError, AttributeError):  # (a Python built without _ctypes)
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, threshold))


def _tuned(environ: Mapping[str, str]) -> bool:
    """Whether the user set glibc's mmap threshold in ``environ``."""
    tunables = environ.get("GLIBC_TUNABLES", "")
    return "MALLOC_MMAP_THRESHOLD_" in environ or "glibc.malloc.mmap_threshold" in tunables
