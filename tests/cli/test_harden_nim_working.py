"""``harden`` never silently stops a NIM from starting (issue 20, item 5).

Before: ``attackmap harden nim.yaml --goal T1552.001`` to stdout removed ``NGC_API_KEY``
(the key a NIM downloads its model with) and said so only in ``HARDENING.md`` with
``--out``. Now a control that takes away what the workload needs is applied only when
asked for by name, another control that breaks the same paths is preferred, and every
note is a comment atop the YAML and a line on stderr.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from attackmap.cli import main
from attackmap.harden import harden

NIM = str(Path(__file__).resolve().parents[2] / "examples" / "nim" / "nim-deploy-default.yaml")


def test_the_nim_keeps_its_key_unless_its_removal_is_asked_for(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["harden", NIM, "--goal", "T1552.001"])
    out, err = capsys.readouterr()
    assert "name: NGC_API_KEY" in out  # the NIM can still download its model
    assert "kind: NetworkPolicy" in out  # the paths from other pods are broken instead
    # the path from a malicious image reads the key in any case: it stays, and says why
    assert code == 1
    assert "T1552.001 via image > malicious-image > env-credentials: kept by " in err
    assert "remove-credential-env, applied only when asked for by name" in err
    assert "--allow remove-credential-env" in err


def test_asked_for_by_name_the_key_goes_and_the_note_is_never_silent(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["harden", NIM, "--goal", "T1552.001", "--allow", "remove-credential-env"])
    out, err = capsys.readouterr()
    assert code == 0
    assert "name: NGC_API_KEY" not in out
    note = "remove-credential-env: the serving pod no longer gets NGC_API_KEY"
    assert out.startswith(f"# attackmap harden: {note}")  # in the YAML itself
    assert f"note: {note}" in err  # and on stderr
    assert main(["harden", NIM, "--goal", "T1552.001", "--allow", "remove-credential-env",
                 "--format", "diff"]) == 0  # fmt: skip
    assert capsys.readouterr().out.startswith(f"# attackmap harden: {note}")


def test_the_library_asks_the_same() -> None:
    kept = harden(NIM, goals="T1552.001")
    assert not kept.verified
    assert all(not c.control.startswith("remove-credential-env") for c in kept.changes)
    removed = harden(NIM, goals="T1552.001", allow="remove-credential-env")
    assert removed.verified
    assert any(c.control.startswith("remove-credential-env") for c in removed.changes)
    with pytest.raises(Exception, match="not a control that must be asked for by name"):
        harden(NIM, goals="T1552.001", allow=["isolate-ingress"])
