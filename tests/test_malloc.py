"""The console script's process maps large blocks on their own (glibc's mmap threshold
fixed: :func:`attackmap._malloc.return_large_blocks`), so that freed ones leave it.

Each check runs in a child process: the setting is process-wide, and the test process
keeps glibc's own."""

from __future__ import annotations

import ctypes
import json
import subprocess
import sys
from pathlib import Path

import pytest

NIM = Path(__file__).resolve().parents[1] / "examples" / "nim" / "nim-deploy-default.yaml"


def _glibc_mallinfo2() -> bool:
    if not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(None)
    return hasattr(libc, "gnu_get_libc_version") and hasattr(libc, "mallinfo2")


needs_glibc = pytest.mark.skipif(
    not _glibc_mallinfo2(), reason="glibc with mallinfo2 (2.33+) reports mapped blocks"
)

# How many blocks glibc maps for a 1 MiB bytearray made after one of the same size was
# freed (mallinfo2's hblks: blocks mapped on their own), before and after the call.
MAPPED = """
import ctypes, json, sys
libc = ctypes.CDLL(None)
class Info(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in
                "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost".split()]
libc.mallinfo2.restype = Info
def mapped():
    freed = bytearray(1 << 20)
    del freed
    before = libc.mallinfo2().hblks
    kept = bytearray(1 << 20)
    return libc.mallinfo2().hblks - before
first = mapped()
if sys.argv[1] == "console":  # as the command starts (after it, holes in the heap serve)
    import attackmap.cli
    attackmap.cli.main = lambda: print(json.dumps([first, None, mapped()])) or 0
    attackmap.cli.console_main()
elif sys.argv[1] == "main":
    from attackmap.cli import main
    code = main(["analyze", sys.argv[2], "--format", "json", "-o", sys.argv[3]])
    print(json.dumps([first, code, mapped()]))
else:
    from attackmap._malloc import return_large_blocks
    print(json.dumps([first, return_large_blocks(), mapped()]))
"""


def _run(*args: str) -> list[object]:
    done = subprocess.run(
        [sys.executable, "-c", MAPPED, *args], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    return list(json.loads(done.stdout.splitlines()[-1]))


@needs_glibc
def test_a_freed_large_block_no_longer_raises_the_threshold() -> None:
    # glibc's own: the freed block raised the threshold, the next one comes from the heap
    # (and, freed, would stay resident); fixed, it is mapped and unmapped again
    assert _run("call") == [0, True, 1]


@needs_glibc
def test_the_console_script_sets_it_and_main_does_not(tmp_path: Path) -> None:
    assert _run("console") == [0, None, 1]
    # a program that calls main() keeps its allocator as it was
    assert _run("main", str(NIM), str(tmp_path / "b.json")) == [0, 0, 0]


def test_elsewhere_nothing_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    from attackmap import _malloc

    monkeypatch.setattr(_malloc.sys, "platform", "darwin")
    assert _malloc.return_large_blocks() is False
