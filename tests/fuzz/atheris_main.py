"""Coverage-guided fuzzing of one target with atheris (libFuzzer).

    .venv/bin/python tests/fuzz/atheris_main.py TARGET [libFuzzer flags...]

``TARGET`` is ``loader``, ``audit`` or ``seccomp`` (see ``fuzz_targets.py``); e.g.
``-max_total_time=300`` or ``-runs=1000``. A crash (an exception other than
``AttackmapError``) is written by libFuzzer as ``crash-<sha1>`` in the working directory
and the process exits non-zero. ``test_atheris.py`` runs this briefly in ``make test``
and for ``ATTACKMAP_FUZZ_SECONDS`` per target in ``make fuzz``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parent))

with atheris.instrument_imports(include=["attackmap"]):
    import fuzz_targets


def main() -> None:
    name = sys.argv[1]
    target = fuzz_targets.TARGETS[name]

    def one_input(data: bytes) -> None:
        if name == "loader":  # analysis is covered by the hypothesis tests; keep it fast
            fuzz_targets.fuzz_loader(data, run_analysis=False)
        else:
            target(data)

    atheris.Setup([sys.argv[0], *sys.argv[2:]], one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
