"""``attackmap seccomp``: summary (default form) and generate, through ``main([...])``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from attackmap.cli import COMMANDS, main
from attackmap.seccomp import ESCAPE_SYSCALLS, load_profile

DATA = Path(__file__).resolve().parents[1] / "seccomp" / "data"


def test_registered() -> None:
    assert COMMANDS["seccomp"] == "attackmap.cli._seccomp"


def test_runtime_default_json_with_sys_admin(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "seccomp",
            "RuntimeDefault",
            "--caps",
            "CAP_SYS_ADMIN",
            "--kernel",
            "6.8",
            "--format",
            "json",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    data = json.loads(out)
    assert data["profile"] == "RuntimeDefault"
    assert "mount" in data["usable"]
    assert "keyctl" not in data["usable"]
    assert [v["name"] for v in data["syscalls"]] == list(ESCAPE_SYSCALLS)


def test_summary_word_is_optional(capsys: pytest.CaptureFixture[str]) -> None:
    main(["seccomp", "unconfined", "--format", "json"])
    short = capsys.readouterr().out
    main(["seccomp", "summary", "Unconfined", "--format", "json"])
    assert capsys.readouterr().out == short


def test_profile_file_table(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["seccomp", str(DATA / "ig-advise.json"), "--caps", "SYS_ADMIN"])
    out = capsys.readouterr().out
    assert code == 0
    # the title names the file, so Rich wraps it where the checkout's path is long
    assert "1 of 36 escape-relevant" in " ".join(out.split())
    assert "mount" in out


def test_privileged(capsys: pytest.CaptureFixture[str]) -> None:
    main(["seccomp", "RuntimeDefault", "--privileged", "--format", "json"])
    assert json.loads(capsys.readouterr().out)["usable"] == sorted(ESCAPE_SYSCALLS)


def test_unknown_kernel_warns_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    main(["seccomp", "RuntimeDefault"])
    assert "warning: kernel version unknown" in capsys.readouterr().err


def test_bad_profile_exits_2_with_location(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["seccomp", str(DATA / "bad-action.json")])
    err = capsys.readouterr().err
    assert code == 2
    assert f"{DATA / 'bad-action.json'}:5: syscalls[1].action" in err


def test_generate_writes_a_loadable_profile(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "nim.json"
    code = main(["seccomp", "generate", str(DATA / "ig-advise.json"), "--out", str(out)])
    assert code == 0
    assert "ESCAPE-RELEVANT syscall mount" in capsys.readouterr().err
    profile = load_profile(out)
    assert "mount" in profile.names()


def test_generate_to_stdout_is_deterministic(capsys: pytest.CaptureFixture[str]) -> None:
    main(["seccomp", "generate", str(DATA / "observed.txt")])
    first = capsys.readouterr().out
    main(["seccomp", "generate", str(DATA / "observed.txt")])
    assert capsys.readouterr().out == first
    assert json.loads(first)["defaultAction"] == "SCMP_ACT_ERRNO"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["seccomp", "generate"], "generate needs OBSERVED"),
        (["seccomp", "generate", "x.txt", "--caps", "SYS_ADMIN"], "generate takes only"),
        (["seccomp", "summary"], "summary needs PROFILE"),
        (["seccomp", "a.json", "b.json"], "unexpected argument"),
    ],
)
def test_usage_errors(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_output_file_for_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "summary.tsv"
    assert main(["seccomp", "RuntimeDefault", "--kernel", "6.8", "--output", str(out)]) == 0
    lines = out.read_text().splitlines()
    assert lines[1].split("\t")[0] == "syscall"
    assert len(lines) == 2 + len(ESCAPE_SYSCALLS)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--caps", "FOO"], "unknown capability FOO"),
        (["--kernel", "abc"], "cannot read kernel version"),
    ],
)
def test_nonsense_options_are_refused(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["seccomp", "RuntimeDefault", *args]) == 2
    assert message in capsys.readouterr().err
