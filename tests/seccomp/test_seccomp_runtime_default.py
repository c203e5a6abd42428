"""The packaged RuntimeDefault table against the reference profile it is derived from."""

from __future__ import annotations

import importlib.util
import itertools
import json
from pathlib import Path
from types import ModuleType

import pytest

from attackmap._resources import data_dir
from attackmap.seccomp import load_profile, runtime_default_profile, seccomp_status


def _build_script() -> ModuleType:
    path = REPO_ROOT / "scripts" / "build_seccomp_data.py"
    spec = importlib.util.spec_from_file_location("build_seccomp_data", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def reference(shared_dir: Path) -> Path:
    path = shared_dir / "reference" / "seccomp-runtime-default.json"
    if not path.exists():
        pytest.skip(f"reference data not available: {path}")
    return path


def test_packaged_table_is_what_the_build_script_derives(reference: Path) -> None:
    derived = _build_script().derive(reference.read_bytes(), reference.name)
    packaged = data_dir().joinpath("seccomp/runtime-default.json").read_bytes()
    assert derived.encode("utf-8") == packaged


def test_build_script_check_mode(reference: Path, tmp_path: Path) -> None:
    script = _build_script()
    out = tmp_path / "table.json"
    assert script.main([str(reference), "--out", str(out)]) == 0
    assert script.main([str(reference), "--out", str(out), "--check"]) == 0
    out.write_text(out.read_text().replace("SCMP_ACT_ALLOW", "SCMP_ACT_LOG", 1))
    assert script.main([str(reference), "--out", str(out), "--check"]) == 1


CAP_SETS = [
    frozenset(),
    frozenset({"SYS_ADMIN"}),
    frozenset({"SYS_PTRACE"}),
    frozenset({"BPF", "PERFMON"}),
    frozenset({"SYS_MODULE", "DAC_READ_SEARCH", "SYS_BOOT", "SYS_CHROOT"}),
    frozenset({"ALL"}),
]


@pytest.mark.parametrize(
    ("arch", "kernel"), [("x86_64", "6.8"), ("x86_64", "4.4"), ("aarch64", None), ("s390x", "5.4")]
)
def test_derived_profile_decides_like_the_reference(
    reference: Path, arch: str, kernel: str | None
) -> None:
    """Every syscall the reference names, under several capability sets, arches, kernels."""
    original = load_profile(reference)
    derived = runtime_default_profile()
    names = sorted(original.names())
    assert names == sorted(derived.names())
    for name, caps in itertools.product(names, CAP_SETS):
        expected = seccomp_status(original, name, capabilities=caps, arch=arch, kernel=kernel)
        got = seccomp_status(derived, name, capabilities=caps, arch=arch, kernel=kernel)
        assert got == expected, (name, sorted(caps))


def test_runtime_default_facts_from_the_domain_sheet() -> None:
    profile = runtime_default_profile()

    def status(name: str, *caps: str, kernel: str | None = "6.8", arch: str = "x86_64") -> str:
        return seccomp_status(
            profile, name, capabilities=frozenset(caps), kernel=kernel, arch=arch
        )[0]

    for name in (
        "mount",
        "umount2",
        "unshare",
        "setns",
        "fsopen",
        "fsmount",
        "open_tree",
        "move_mount",
    ):
        assert status(name) == "denied"
        assert status(name, "SYS_ADMIN") == "allowed"
    assert status("bpf", "BPF") == status("bpf", "SYS_ADMIN") == "allowed"
    assert status("perf_event_open", "PERFMON") == "allowed"
    assert status("init_module") == "denied"
    assert status("finit_module", "SYS_MODULE") == "allowed"
    assert status("open_by_handle_at", "DAC_READ_SEARCH") == "allowed"
    assert status("ptrace") == "allowed"
    assert status("ptrace", kernel="4.4") == "denied"
    assert status("ptrace", "SYS_PTRACE", kernel="4.4") == "allowed"
    for never in (
        "keyctl",
        "add_key",
        "request_key",
        "kexec_load",
        "pivot_root",
        "userfaultfd",
        "io_uring_setup",
        "swapon",
    ):
        assert status(never, "ALL") == "denied"
    assert status("arch_prctl") == "allowed"
    assert status("arch_prctl", arch="aarch64") == "denied"
    # clone: only without namespace flags unless SYS_ADMIN; clone3 ENOSYS without it
    assert status("clone") == "denied"
    assert status("clone", "SYS_ADMIN") == "allowed"
    assert status("clone", arch="s390x") == "denied"
    assert seccomp_status(profile, "clone3", capabilities=frozenset())[1].value == "SCMP_ACT_ERRNO"
    assert status("socket") == "conditional"


def test_the_profile_holds_each_condition_of_the_table_as_written() -> None:
    # the profile is validated in one call from the table's fields: every condition is one
    # rule, each key of the table in its field (read here independently of the loader)
    table = json.loads(data_dir().joinpath("seccomp/runtime-default.json").read_text())
    expected = [
        (
            name,
            cond["action"],
            cond.get("errnoRet"),
            tuple((a["index"], a["op"], a["value"], a["valueTwo"]) for a in cond.get("args", [])),
            (tuple(cond.get("caps", [])), tuple(cond.get("arches", [])), cond.get("minKernel")),
            (
                tuple(cond.get("withoutCaps", [])),
                tuple(cond.get("notArches", [])),
                cond.get("belowKernel"),
            ),
        )
        for name, conds in table["syscalls"].items()
        for cond in conds
    ]
    profile = runtime_default_profile()
    got = [
        (
            *rule.names,
            rule.action.value,
            rule.errno_ret,
            tuple((a.index, a.op, a.value, a.value_two) for a in rule.args),
            (rule.includes.caps, rule.includes.arches, rule.includes.min_kernel),
            (rule.excludes.caps, rule.excludes.arches, rule.excludes.min_kernel),
        )
        for rule in profile.syscalls
    ]
    assert got == expected
    # every kind of key is present in the table (else the comparison proves less)
    for position in (2, 3):
        assert any(row[position] for row in expected)
    assert any(row[4][0] for row in expected) and any(row[4][2] for row in expected)
    assert any(row[5][0] for row in expected) and any(row[5][1] for row in expected)
    default = table["default"]
    assert (profile.default_action.value, profile.default_errno_ret) == (
        default["action"],
        default.get("errnoRet"),
    )
    assert (profile.format, profile.name) == ("runtime-default", "RuntimeDefault")
