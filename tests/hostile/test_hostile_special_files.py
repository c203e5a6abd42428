"""Special files in a directory: skipped, never opened, and said (report and stderr).

A directory walk reads regular ``*.yaml``/``*.yml``/``*.json`` files. An entry of such a
name that is a FIFO, a device, a dangling or looping symbolic link, or a symbolic link to
a directory is skipped with a warning in ``Inventory.warnings`` / ``Report.warnings`` and
logged on stderr once. Nothing is opened: the FIFO here has a writer waiting for a
reader, so a walk that opened it would read its privileged pod (and the test would see
it), and the writer is still waiting when the walk is done. Everything is generated in
``tmp_path``.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

from attackmap.cli import main
from attackmap.errors import InputError
from attackmap.graph import analyze
from attackmap.model import load, read_documents

POD = """\
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: nim}
spec:
  containers: [{name: c, image: nginx}]
"""
PRIVILEGED = """\
apiVersion: v1
kind: Pod
metadata: {name: from-the-fifo, namespace: nim}
spec:
  containers: [{name: c, image: busybox, securityContext: {privileged: true}}]
"""
REASONS = {
    "fifo.yaml": "skipped: a FIFO (named pipe), not a regular file: never opened",
    "zero.yaml": "skipped: a character device, not a regular file: never opened",
    "dangling.yml": "skipped: a dangling symbolic link (its target does not exist)",
    "loop.json": "skipped: a symbolic link in a loop",
    "linked-dir": "skipped: a symbolic link to a directory: not followed",
}


class _WaitingWriter:
    """A FIFO with a writer thread blocked until someone opens it for reading."""

    def __init__(self, path: Path) -> None:
        os.mkfifo(path)
        self.path = path
        self.thread = threading.Thread(target=self._write, daemon=True)
        self.thread.start()

    def _write(self) -> None:
        with self.path.open("w") as f:  # blocks until a reader opens the FIFO
            f.write(PRIVILEGED)

    def release(self) -> None:
        """Open the FIFO for reading without blocking, so the writer finishes."""
        fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK)
        try:
            self.thread.join()
        finally:
            os.close(fd)


@pytest.fixture
def manifests(tmp_path: Path) -> Iterator[tuple[Path, _WaitingWriter]]:
    root = tmp_path / "manifests"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "web.yaml").write_text(POD)
    (root / "README.md").write_text("not a manifest")
    writer = _WaitingWriter(root / "fifo.yaml")
    (root / "zero.yaml").symlink_to("/dev/zero")
    (root / "dangling.yml").symlink_to(root / "missing.yaml")
    (root / "loop.json").symlink_to(root / "loop.json")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "other.yaml").write_text(POD.replace("web", "other"))
    (root / "linked-dir").symlink_to(elsewhere, target_is_directory=True)
    try:
        yield root, writer
    finally:
        writer.release()


def _skipped(warnings: Iterable[object]) -> dict[str, str]:
    """File name → warning, for the skipped-file warnings among ``warnings`` (LoadWarnings
    or the report's strings, both ``path: message``)."""
    out = {}
    for w in warnings:
        text = str(w)
        if ": skipped: " in text:
            path, _, message = text.partition(": ")
            out[Path(path).name] = message
    return out


def test_special_files_are_skipped_with_a_warning_and_never_opened(
    manifests: tuple[Path, _WaitingWriter], caplog: pytest.LogCaptureFixture
) -> None:
    root, writer = manifests
    with caplog.at_level(logging.WARNING, logger="attackmap"):
        inventory = load(root)
        via_documents = load(*read_documents(root))
    assert writer.thread.is_alive()  # the FIFO was never opened for reading
    for inv in (inventory, via_documents):
        assert [str(w.ref) for w in inv.workloads] == ["Pod/nim/web"]
        skipped = _skipped(inv.warnings)
        assert sorted(skipped) == sorted(REASONS)
        for name, reason in REASONS.items():
            assert skipped[name].startswith(reason), skipped[name]
        assert inv.sources == (str(root / "sub" / "web.yaml"),)  # skipped files were not read
    logged = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    for name, reason in REASONS.items():  # logged once per walk, when the file is skipped
        assert sum(m.startswith(f"{root / name}: {reason}") for m in logged) == 2


@pytest.mark.parametrize(
    ("command", "fmt"),
    [
        ("inventory", "table"),
        ("inventory", "json"),
        ("analyze", "table"),
        ("analyze", "json"),
        ("analyze", "markdown"),
        ("analyze", "html"),
    ],
)
def test_the_cli_says_what_it_skipped_in_every_format(
    manifests: tuple[Path, _WaitingWriter],
    command: str,
    fmt: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root, writer = manifests
    assert main([command, str(root), "--format", fmt]) == 0
    out, err = capsys.readouterr()
    assert writer.thread.is_alive()
    if fmt == "json":  # the inventory's LoadWarnings, the report's strings
        listed = [
            w if isinstance(w, str) else f"{w['source']['path']}: {w['message']}"
            for w in json.loads(out)["warnings"]
        ]
    for name, reason in REASONS.items():
        said = f"{root / name}: {reason}"
        assert err.count(said) == 1, err  # on stderr, once
        if fmt == "json":
            assert any(w.startswith(said) for w in listed), listed
        elif fmt in ("markdown", "html"):
            assert said in out


def test_the_report_lists_the_skipped_files(manifests: tuple[Path, _WaitingWriter]) -> None:
    root, _ = manifests
    report = analyze(root)
    assert sorted(_skipped(report.warnings)) == sorted(REASONS)


@pytest.mark.parametrize("command", ["inventory", "analyze", "pss"])
@pytest.mark.parametrize("content", ["empty", "not-a-manifest", "only-a-fifo", "only-comments"])
def test_inventory_and_analyze_refuse_a_directory_with_nothing_to_analyse_alike(
    tmp_path: Path, command: str, content: str, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "manifests"
    root.mkdir()
    writer = None
    if content == "not-a-manifest":
        (root / "notes.txt").write_text("apiVersion: v1\nkind: Pod\n")
    elif content == "only-a-fifo":
        writer = _WaitingWriter(root / "pod.yaml")
    elif content == "only-comments":
        (root / "empty.yaml").write_text("# nothing yet\n---\n")
    try:
        assert main([command, str(root), "-o", str(tmp_path / "out")]) == 2
    finally:
        if writer is not None:
            assert writer.thread.is_alive()
            writer.release()
    out, err = capsys.readouterr()
    assert out == "" and not (tmp_path / "out").exists()
    assert f"error: {root}: no Kubernetes documents found" in err
    assert "Traceback" not in err
    if writer is not None:
        assert f"{root / 'pod.yaml'}: skipped: a FIFO" in err


def test_a_directory_that_cannot_be_listed_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "manifests"
    (root / "locked").mkdir(parents=True)
    (root / "web.yaml").write_text(POD)
    scandir = os.scandir

    def denied(path: str | os.PathLike[str]) -> object:
        if Path(path) == root / "locked":  # as chmod 000 does for anyone but root
            raise PermissionError(13, "Permission denied", str(path))
        return scandir(path)

    monkeypatch.setattr(os, "scandir", denied)
    with pytest.raises(InputError, match="cannot read directory: Permission denied") as info:
        load(root)
    assert info.value.path == str(root / "locked")
    assert main(["analyze", str(root)]) == 2
    assert f"error: {root / 'locked'}: cannot read directory" in capsys.readouterr().err


def test_a_fifo_named_on_the_command_line_is_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Named explicitly, a FIFO is read (bounded, as stdin is): ``<(helm template ...)``
    gives the CLI one. Only a directory walk skips it."""
    writer = _WaitingWriter(tmp_path / "rendered")
    assert main(["inventory", str(writer.path), "--format", "json"]) == 0
    writer.thread.join()
    workloads = json.loads(capsys.readouterr().out)["workloads"]
    assert [w["ref"]["name"] for w in workloads] == ["from-the-fifo"]


def test_harden_walks_a_directory_as_analyze_does(
    manifests: tuple[Path, _WaitingWriter], capsys: pytest.CaptureFixture[str]
) -> None:
    # harden had its own walk (rglob + is_file): the special files went unsaid
    root, writer = manifests
    assert main(["harden", str(root), "--goal", "T1611"]) == 0
    _, err = capsys.readouterr()
    assert writer.thread.is_alive()  # the FIFO was never opened
    for name, reason in REASONS.items():
        assert err.count(f"{root / name}: {reason}") == 1, err


def test_audit_says_which_directory_entries_it_skips(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # `audit DIR` dropped a FIFO, a link to /dev/zero and a dangling link named like
    # rotated logs without a word
    from attackmap.audit import read

    log_dir = tmp_path / "logs"
    log_dir.mkdir()
    (log_dir / "audit.log").write_text("")
    writer = _WaitingWriter(log_dir / "audit.log.1")
    (log_dir / "audit.log.2").symlink_to("/dev/zero")
    (log_dir / "audit.log.3").symlink_to(log_dir / "missing")
    try:
        with caplog.at_level(logging.WARNING, logger="attackmap"):
            reader = read(log_dir)
            list(reader)
        assert writer.thread.is_alive()  # never opened
    finally:
        writer.release()
    for n in (1, 2, 3):
        assert f"audit.log.{n}: skipped: not a regular file" in caplog.text
