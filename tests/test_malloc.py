"""The console script's process maps large blocks on their own (glibc's mmap threshold
fixed: :func:`attackmap._malloc.return_large_blocks`), so that freed ones leave it.

Each check runs in a child process: the setting is process-wide, and the test process
keeps glibc's own."""

from __future__ import annotations

import ctypes
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from attackmap.cli._inputs import LARGE_INPUT

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
if sys.argv[1] in ("console", "main"):  # which analyses set it (called: recorded)
    import attackmap._malloc
    called = []
    attackmap._malloc.return_large_blocks = lambda: called.append(True) or True
    import attackmap.cli
    argv = sys.argv[2:]
    if sys.argv[1] == "console":
        sys.argv = ["attackmap", *argv]
        import atexit
        atexit.register(lambda: print(json.dumps([first, None, len(called)])))
        attackmap.cli.console_main()
    print(json.dumps([first, attackmap.cli.main(argv), len(called)]))
else:
    from attackmap._malloc import return_large_blocks
    print(json.dumps([first, return_large_blocks(), mapped()]))
"""


def _run(*args: str, codes: tuple[int, ...] = (0,)) -> list[object]:
    # glibc's own behaviour: no threshold set by the environment running the tests
    env = {
        k: v for k, v in os.environ.items() if k not in ("MALLOC_MMAP_THRESHOLD_", "GLIBC_TUNABLES")
    }
    done = subprocess.run(
        [sys.executable, "-c", MAPPED, *args], capture_output=True, text=True, check=False, env=env
    )
    assert done.returncode in codes, done.stderr
    return list(json.loads(done.stdout.splitlines()[-1]))


@needs_glibc
def test_a_freed_large_block_no_longer_raises_the_threshold() -> None:
    # glibc's own: the freed block raised the threshold, the next one comes from the heap
    # (and, freed, would stay resident); fixed, it is mapped and unmapped again
    assert _run("call") == [0, True, 1]


@needs_glibc
def test_the_console_script_sets_it_before_a_large_input(tmp_path: Path) -> None:
    out = ["--format", "json", "-o", str(tmp_path / "r.json")]
    # one manifest: ctypes is not imported for it
    assert _run("console", "analyze", str(NIM), *out) == [0, None, 0]
    # a directory (or a file of a megabyte or more): set before it is read
    assert _run("console", "analyze", str(NIM.parent), *out) == [0, None, 1]
    big = tmp_path / "big.yaml"
    big.write_text(NIM.read_text() + "\n" + "# padding\n" * (LARGE_INPUT // 10 + 1))
    assert _run("console", "analyze", str(big), *out) == [0, None, 1]
    # a program that calls main() keeps its allocator as it was
    assert _run("main", "analyze", str(NIM.parent), *out) == [0, 0, 0]


@needs_glibc
@pytest.mark.parametrize(
    "command",
    [["pss"], ["inventory"], ["harden", "--goal", "T1611", "-o", "{tmp}/hardened.yaml"]],
)
def test_the_other_commands_that_read_a_cluster_set_it_too(
    command: list[str], tmp_path: Path
) -> None:
    argv = [a.format(tmp=tmp_path) for a in command]
    codes = (0, 1)  # (pss: 1 where a workload fails the level)
    assert _run("console", *argv, str(NIM.parent), codes=codes) == [0, None, 1]
    assert _run("console", *argv, str(NIM), codes=codes) == [0, None, 0]


def test_elsewhere_nothing_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    from attackmap import _malloc

    monkeypatch.setattr(_malloc.sys, "platform", "darwin")
    assert _malloc.return_large_blocks() is False


def test_without_ctypes_nothing_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    # a Python built without _ctypes: the analysis goes on with glibc's own behaviour
    from attackmap import _malloc

    monkeypatch.setitem(sys.modules, "ctypes", None)  # import ctypes raises ImportError
    monkeypatch.setattr(_malloc.sys, "platform", "linux")
    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_", raising=False)
    monkeypatch.delenv("GLIBC_TUNABLES", raising=False)
    assert _malloc.return_large_blocks() is False


@pytest.mark.parametrize(
    ("environ", "tuned"),
    [
        ({}, False),
        ({"MALLOC_MMAP_THRESHOLD_": "131072"}, True),
        ({"GLIBC_TUNABLES": "glibc.malloc.hugetlb=1:glibc.malloc.mmap_threshold=65536"}, True),
        ({"GLIBC_TUNABLES": "glibc.malloc.hugetlb=1"}, False),
    ],
)
def test_a_threshold_the_user_set_is_kept(
    environ: dict[str, str], tuned: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    from attackmap import _malloc

    assert _malloc._tuned(environ) is tuned
    if tuned:  # (never reaches mallopt, in this process too)
        for key, value in environ.items():
            monkeypatch.setenv(key, value)
        assert _malloc.return_large_blocks() is False
