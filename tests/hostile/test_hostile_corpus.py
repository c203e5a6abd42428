"""The hostile corpus: every file under ``corpus/`` is refused with file:line:field.

Each corpus file states what attackmap must say about it in its header::

    # expect-line: 12
    # expect-field: spec.containers[0].securityContext.privileged   (empty: no field)
    # expect-message: duplicate key 'privileged'                     (a regular expression)

For each file: ``attackmap.load`` raises :class:`~attackmap.errors.InputError` with exactly
that path, line and field; ``attackmap inventory`` and ``attackmap analyze`` exit 2 with
the same ``file:line: field: message`` on stderr, print no traceback and nothing on stdout
(no partial report), and ``--output`` files are not written. A hostile file next to a valid
one refuses the whole input.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from attackmap.cli import main
from attackmap.errors import InputError
from attackmap.model import load

CORPUS = Path(__file__).parent / "corpus"
FILES = sorted(CORPUS.glob("*.yaml"))
VALID = """\
apiVersion: v1
kind: Pod
metadata: {name: ok, namespace: nim}
spec:
  containers: [{name: c, image: nginx, securityContext: {privileged: true}}]
"""


def _expectation(path: Path) -> tuple[int, str | None, str]:
    header = {}
    for line in path.read_text().splitlines():
        m = re.match(r"# expect-(line|field|message):\s*(.*?)\s*$", line)
        if m:
            header[m[1]] = m[2]
    return int(header["line"]), header["field"] or None, header["message"]


def test_the_corpus_is_there() -> None:
    assert len(FILES) >= 20
    for path in FILES:
        _expectation(path)  # every file states its expectation


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_load_refuses_with_location(path: Path) -> None:
    line, field, message = _expectation(path)
    with pytest.raises(InputError) as info:
        load(path)
    err = info.value
    assert (err.path, err.line, err.field) == (str(path), line, field)
    assert re.search(message, err.message), err.message


@pytest.mark.parametrize("command", ["inventory", "analyze"])
@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_cli_exits_2_without_traceback_or_partial_output(
    path: Path, command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    line, field, _ = _expectation(path)
    good = tmp_path / "a-valid.yaml"
    good.write_text(VALID)
    out_file = tmp_path / "report.txt"
    # the valid file comes first: its result must not be printed as if complete
    assert main([command, str(good), str(path), "-o", str(out_file)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert not out_file.exists()
    assert "Traceback" not in err
    where = f"{path}:{line}: " + (f"{field}: " if field else "")
    assert err.startswith(f"error: {where}"), err
