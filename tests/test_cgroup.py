"""``workers="auto"`` and the parse pool count the CPUs a container's quota allows.

Each test builds a fake ``/proc/self`` and cgroup file system under ``tmp_path`` (the
layouts the kernel gives: cgroup v2's unified hierarchy, v1's ``cpu,cpuacct`` hierarchy,
a hybrid of both) and reads it through :func:`attackmap._fork.cgroup_cpus`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from attackmap import _fork

V2_MOUNTS = "29 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate\n"
V1_MOUNTS = (
    "31 23 0:28 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755\n"
    "32 31 0:29 / /sys/fs/cgroup/memory rw,nosuid shared:10 - cgroup cgroup rw,memory\n"
    "33 31 0:30 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:11 - cgroup cgroup rw,cpu,cpuacct\n"
    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n"
)


def _write(root: Path, relative: str, text: str) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _proc(root: Path, cgroup: str, mounts: str) -> None:
    _write(root, "proc/self/cgroup", cgroup)
    _write(root, "proc/self/mountinfo", mounts)


@pytest.mark.parametrize(
    ("group", "cpu_max", "expected"),
    [
        # a quota, rounded up
        ("/kubepods/pod1/ctr", {"kubepods/pod1/ctr": "150000 100000"}, 2),
        # no quota
        ("/user.slice", {"user.slice": "max 100000"}, None),
        # a pod's quota limits its containers that have none (or a larger one) of their own
        (
            "/kubepods/pod1/ctr",
            {
                "kubepods/pod1/ctr": "max 100000",
                "kubepods/pod1": "100000 100000",
                "kubepods": "800000 100000",
            },
            1,
        ),
        # in a container's cgroup namespace its group is "/": the mount's own cpu.max
        ("/", {"": "400000 100000"}, 4),
    ],
    ids=["quota", "no-quota", "smallest-on-the-way-up", "cgroup-namespace"],
)
def test_v2(tmp_path: Path, group: str, cpu_max: dict[str, str], expected: int | None) -> None:
    _proc(tmp_path, f"0::{group}\n", V2_MOUNTS)
    for where, text in cpu_max.items():
        _write(tmp_path, f"sys/fs/cgroup/{where}/cpu.max".replace("//", "/"), text + "\n")
    assert _fork.cgroup_cpus(tmp_path) == expected


def test_a_group_outside_the_namespace_reads_only_the_mount(tmp_path: Path) -> None:
    _proc(tmp_path, "0::/../../elsewhere\n", V2_MOUNTS)
    _write(tmp_path, "sys/fs/cgroup/cpu.max", "300000 100000\n")
    # where a plain join of the path would land: never read, it is outside the mount
    _write(tmp_path, "sys/elsewhere/cpu.max", "100000 100000\n")
    assert _fork.cgroup_cpus(tmp_path) == 3


def test_v1_cfs_quota(tmp_path: Path) -> None:
    _proc(tmp_path, "5:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n0::/\n", V1_MOUNTS)
    _write(tmp_path, "sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_quota_us", "250000\n")
    _write(tmp_path, "sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_period_us", "100000\n")
    assert _fork.cgroup_cpus(tmp_path) == 3


def test_v1_without_a_quota_is_none(tmp_path: Path) -> None:
    """``-1`` is no quota; the hybrid's unified hierarchy has no ``cpu.max`` (the cpu
    controller is on v1)."""
    _proc(tmp_path, "4:cpu,cpuacct:/\n0::/\n", V1_MOUNTS)
    _write(tmp_path, "sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us", "-1\n")
    _write(tmp_path, "sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us", "100000\n")
    assert _fork.cgroup_cpus(tmp_path) is None


def test_v1_mount_of_the_own_group(tmp_path: Path) -> None:
    """Docker without a cgroup namespace mounts the container's own group (mountinfo's
    root field): the group's path is relative to that root."""
    mounts = "33 31 0:30 /docker/abc /sys/fs/cgroup/cpu,cpuacct ro - cgroup cgroup rw,cpu,cpuacct\n"
    _proc(tmp_path, "4:cpu,cpuacct:/docker/abc\n", mounts)
    _write(tmp_path, "sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us", "150000\n")
    _write(tmp_path, "sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us", "100000\n")
    assert _fork.cgroup_cpus(tmp_path) == 2


@pytest.mark.parametrize("group", ["/docker/abcd", "/other/x", "/docker"])
def test_a_group_outside_the_mounted_subtree_is_not_read(tmp_path: Path, group: str) -> None:
    """``/docker/abcd`` is not under ``/docker/abc`` (a path, not a string prefix): the
    quotas mounted there are another group's."""
    mounts = "33 31 0:30 /docker/abc /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n"
    _proc(tmp_path, f"4:cpu:{group}\n", mounts)
    for where in ("", "d/", "x/"):
        _write(tmp_path, f"sys/fs/cgroup/cpu/{where}cpu.cfs_quota_us", "50000\n")
        _write(tmp_path, f"sys/fs/cgroup/cpu/{where}cpu.cfs_period_us", "100000\n")
    assert _fork.cgroup_cpus(tmp_path) is None


def test_a_mount_point_with_an_escaped_space(tmp_path: Path) -> None:
    mounts = "29 23 0:26 / /sys/fs/my\\040cgroup rw - cgroup2 cgroup2 rw\n"
    _proc(tmp_path, "0::/\n", mounts)
    _write(tmp_path, "sys/fs/my cgroup/cpu.max", "200000 100000\n")
    assert _fork.cgroup_cpus(tmp_path) == 2


@pytest.mark.parametrize(
    ("cgroup", "mounts", "cpu_max"),
    [
        (None, None, None),  # no /proc (not Linux)
        ("0::/\n", "", "200000 100000\n"),  # no cgroup mount
        ("0::/\n", V2_MOUNTS, "lots 100000\n"),  # garbage
        ("0::/\n", V2_MOUNTS, "0 100000\n"),  # a zero quota is no quota
        ("0::/\n", V2_MOUNTS, None),  # no cpu.max (the cpu controller not enabled)
        ("not a cgroup line\n", V2_MOUNTS, "200000 100000\n"),
        ("0::/\n", "a b c\nbroken - line\n", "200000 100000\n"),  # malformed mountinfo
    ],
)
def test_no_usable_quota_is_none(
    tmp_path: Path, cgroup: str | None, mounts: str | None, cpu_max: str | None
) -> None:
    if cgroup is not None and mounts is not None:
        _proc(tmp_path, cgroup, mounts)
    if cpu_max is not None:
        _write(tmp_path, "sys/fs/cgroup/cpu.max", cpu_max)
    assert _fork.cgroup_cpus(tmp_path) is None


def test_available_cpus_is_capped_by_the_quota(monkeypatch: pytest.MonkeyPatch) -> None:
    affinity = len(_fork.os.sched_getaffinity(0))
    monkeypatch.setattr(_fork, "cgroup_cpus", lambda: 1)
    assert _fork.available_cpus() == 1
    monkeypatch.setattr(_fork, "cgroup_cpus", lambda: affinity + 5)
    assert _fork.available_cpus() == affinity  # a quota above the affinity does not add CPUs
    monkeypatch.setattr(_fork, "cgroup_cpus", lambda: None)
    assert _fork.available_cpus() == affinity


def test_auto_workers_count_the_quota(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_fork.os, "sched_getaffinity", lambda pid: set(range(64)))
    monkeypatch.setattr(_fork, "cgroup_cpus", lambda: 3)
    assert _fork.auto_workers() == 3
    monkeypatch.setattr(_fork, "cgroup_cpus", lambda: None)
    assert _fork.auto_workers() == _fork.MAX_WORKERS


def test_the_parse_pool_counts_the_quota(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """One CPU by quota: no parse workers, however many CPUs the affinity mask lists."""
    from attackmap.model import _loader

    files = [tmp_path / f"f{i}.yaml" for i in range(_loader.PARALLEL_MIN_FILES)]
    sizes = [_loader.PARALLEL_MIN_BYTES] * len(files)
    monkeypatch.setattr(_fork.os, "sched_getaffinity", lambda pid: set(range(16)))
    monkeypatch.setattr(_fork, "cgroup_cpus", lambda: None)
    monkeypatch.setattr(_loader, "fork_refusal", lambda: None)
    assert _loader._workers(files, sizes) == min(16, len(files), _fork.MAX_WORKERS)
    monkeypatch.setattr(_fork, "cgroup_cpus", lambda: 1)
    assert _loader._workers(files, sizes) == 0


# -- memory: what ``workers="auto"`` may take ------------------------------------------------

GiB = 2**30


def _memory_group(root: Path, where: str, files: dict[str, str]) -> None:
    for name, text in files.items():
        _write(root, f"sys/fs/cgroup/{where}/{name}".replace("//", "/"), text + "\n")


@pytest.mark.parametrize(
    ("groups", "expected"),
    [
        # a limit: what it leaves
        ({"kubepods/pod1/ctr": {"memory.max": str(4 * GiB), "memory.current": str(GiB)}}, 3 * GiB),
        # no limit
        ({"kubepods/pod1/ctr": {"memory.max": "max", "memory.current": str(GiB)}}, None),
        # the pod's limit leaves less than the container's: the least on the way up
        (
            {
                "kubepods/pod1/ctr": {"memory.max": str(8 * GiB), "memory.current": str(GiB)},
                "kubepods/pod1": {"memory.max": str(3 * GiB), "memory.current": str(2 * GiB)},
                "kubepods": {"memory.max": "max", "memory.current": str(40 * GiB)},
            },
            GiB,
        ),
        # the page cache the group could drop is not counted as used
        (
            {
                "kubepods/pod1/ctr": {
                    "memory.max": str(4 * GiB),
                    "memory.current": str(3 * GiB),
                    "memory.stat": f"anon {GiB}\nfile {2 * GiB}\ninactive_file {2 * GiB}",
                }
            },
            3 * GiB,
        ),
        # over its limit (reclaim pending): nothing left, never a negative size
        ({"kubepods/pod1/ctr": {"memory.max": str(GiB), "memory.current": str(2 * GiB)}}, 0),
        # unreadable usage: no limit known
        ({"kubepods/pod1/ctr": {"memory.max": str(GiB), "memory.current": "lots"}}, None),
    ],
    ids=["limit", "no-limit", "least-on-the-way-up", "page-cache", "over", "garbage"],
)
def test_memory_v2(tmp_path: Path, groups: dict[str, dict[str, str]], expected: int | None) -> None:
    _proc(tmp_path, "0::/kubepods/pod1/ctr\n", V2_MOUNTS)
    for where, files in groups.items():
        _memory_group(tmp_path, where, files)
    assert _fork.cgroup_memory(tmp_path) == expected


def test_memory_v1(tmp_path: Path) -> None:
    """v1's "no limit" is the largest page multiple below 2**63; the hierarchy is the
    memory controller's, not the CPU's."""
    _proc(tmp_path, "5:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n0::/\n", V1_MOUNTS)
    _memory_group(
        tmp_path,
        "memory/docker/abc",
        {
            "memory.limit_in_bytes": str(2 * GiB),
            "memory.usage_in_bytes": str(GiB // 2),
            "memory.stat": f"cache {GiB}\ntotal_inactive_file {GiB // 4}",
        },
    )
    _memory_group(
        tmp_path,
        "memory",
        {"memory.limit_in_bytes": "9223372036854771712", "memory.usage_in_bytes": str(GiB)},
    )
    # a limit under the CPU hierarchy is never read for memory
    _memory_group(
        tmp_path,
        "cpu,cpuacct/docker/abc",
        {"memory.limit_in_bytes": "1", "memory.usage_in_bytes": "0"},
    )
    assert _fork.cgroup_memory(tmp_path) == 2 * GiB - GiB // 2 + GiB // 4


def test_no_memory_limit_without_cgroup_files(tmp_path: Path) -> None:
    assert _fork.cgroup_memory(tmp_path) is None  # no /proc: not Linux
    _proc(tmp_path, "0::/\n", V2_MOUNTS)  # the root group has no memory.max
    assert _fork.cgroup_memory(tmp_path) is None


def test_available_memory_is_the_least_of_the_machine_and_the_group(tmp_path: Path) -> None:
    assert _fork.available_memory(tmp_path) is None
    _write(
        tmp_path,
        "proc/meminfo",
        "MemTotal: 16384000 kB\nMemFree: 100 kB\nMemAvailable: 8388608 kB\n",
    )
    assert _fork.available_memory(tmp_path) == 8 * GiB
    _proc(tmp_path, "0::/ci\n", V2_MOUNTS)
    _memory_group(tmp_path, "ci", {"memory.max": str(6 * GiB), "memory.current": str(GiB)})
    assert _fork.available_memory(tmp_path) == 5 * GiB  # the container's limit
    _memory_group(tmp_path, "ci", {"memory.max": str(64 * GiB), "memory.current": str(GiB)})
    assert _fork.available_memory(tmp_path) == 8 * GiB  # the machine's memory
    _write(tmp_path, "proc/meminfo", "MemTotal: 16384000 kB\nMemAvailable: many kB\n")
    assert _fork.available_memory(tmp_path) == 63 * GiB  # unreadable: the group's alone


def test_resident_memory(tmp_path: Path) -> None:
    here = _fork.resident_memory()
    assert here is not None and 10 * 2**20 < here < 64 * GiB  # this Python process
    assert _fork.resident_memory(tmp_path) is None
    _write(tmp_path, "proc/self/statm", "1000 250 100 1 0 200 0\n")
    assert _fork.resident_memory(tmp_path) == 250 * _fork.os.sysconf("SC_PAGE_SIZE")


@pytest.mark.parametrize(
    ("available", "resident", "expected"),
    [
        (None, 10 * GiB, 4),  # the memory unknown: the CPUs
        (64 * GiB, 10 * GiB, 4),  # room for all
        (64 * GiB, None, 4),  # no footprint given (a fleet's pool): the CPUs
        # 5 GiB for this one's growth, 9 GiB per worker: room for two
        (23 * GiB, 10 * GiB, 3),
        (23 * GiB - 1, 10 * GiB, 2),
        (10 * GiB, 10 * GiB, 1),  # not even one worker
        (0, 10 * GiB, 1),
    ],
)
def test_auto_workers_fit_the_memory(
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    available: int | None,
    resident: int | None,
    expected: int,
) -> None:
    monkeypatch.setattr(_fork, "available_cpus", lambda: 4)
    monkeypatch.setattr(_fork, "available_memory", lambda: available)
    with caplog.at_level("WARNING", logger="attackmap._fork"):
        assert _fork.auto_workers(resident) == expected
    said = [r.getMessage() for r in caplog.records]
    if expected < 4:  # the user asked for every CPU: say why not
        assert len(said) == 1 and f"{expected} process" in said[0] and "instead of 4" in said[0]
    else:
        assert said == []
