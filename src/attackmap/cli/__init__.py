"""The ``attackmap`` command line: a thin layer over the library.

Only this package prints or decides exit codes. Its whole error policy: catch
:class:`~attackmap.errors.AttackmapError`, print its diagnostics to stderr, exit 2.

Exit codes: 0 success / clean, 1 findings where a command is asked to fail on them
(``pss``, ``analyze --fail-on``), 2 bad input or usage.

Each subcommand lives in its own module ``attackmap.cli._<name>`` exposing
``add_parser(subparsers)``, which registers the parser and sets ``run=`` as a default:
``run(args) -> int``. The registry below is explicit; a test checks it.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import logging
import signal
import sys
from collections.abc import Sequence

from attackmap import __version__
from attackmap._gc import paused
from attackmap.cli._ticker import write_line
from attackmap.errors import AttackmapError

# subcommand name -> module implementing it (see module docstring)
COMMANDS: dict[str, str] = {
    "analyze": "attackmap.cli._analyze",
    "attack": "attackmap.cli._attack",
    "pss": "attackmap.cli._pss",
    "audit": "attackmap.cli._audit",
    "seccomp": "attackmap.cli._seccomp",
    "inventory": "attackmap.cli._inventory",
    "harden": "attackmap.cli._harden",
    "docs": "attackmap.cli._docs",
    "explain": "attackmap.cli._explain",
    "diff": "attackmap.cli._diff",
    "completion": "attackmap.cli._completion",
}

EPILOG = """\
examples:
  attackmap analyze deploy/nim.yaml                       reachable techniques per workload
  attackmap analyze chart.yaml --entry external --format json
  attackmap inventory manifests/                          security facts per workload
  attackmap pss manifests/ --level baseline               Pod Security, as the API server
  attackmap attack info                                   the ATT&CK release in use

exit codes: 0 ok, 1 findings (when asked to fail on them), 2 bad input or usage
"""


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The argument parser; with ``only``, just that subcommand's module is imported
    (startup time: each subcommand imports its own stage of the library)."""
    parser = argparse.ArgumentParser(
        prog="attackmap",
        description=(
            "Map how a Kubernetes (GPU inference) workload is deployed to the MITRE ATT&CK "
            "Containers techniques an attacker can reach, the paths, and the controls that "
            "break them."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"attackmap {__version__}")
    parser.add_argument("-q", "--quiet", action="store_true", help="print only results and errors")
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="log what attackmap does (to stderr)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS if only is None else (only,):
        importlib.import_module(COMMANDS[name]).add_parser(sub)
    for subparser in sub.choices.values():
        _accept_global_options(subparser)
    return parser


def _accept_global_options(subparser: argparse.ArgumentParser) -> None:
    """Let ``-q``/``-v`` also follow the subcommand (``attackmap analyze x.yaml -q``)."""
    for flags, dest, text in (
        (("-q", "--quiet"), "quiet", "print only results and errors"),
        (("-v", "--verbose"), "verbose", "log what attackmap does (to stderr)"),
    ):
        if any(f in subparser._option_string_actions for f in flags):
            continue  # the subcommand uses the flag itself
        subparser.add_argument(
            *flags, dest=dest, action="store_true", default=argparse.SUPPRESS, help=text
        )


def _command_of(argv: Sequence[str]) -> str | None:
    """The subcommand named in ``argv`` when it is unambiguous, else ``None``."""
    for arg in argv:
        if arg in ("-h", "--help", "--version"):
            return None
        if not arg.startswith("-"):
            return arg if arg in COMMANDS else None
    return None


class _StderrHandler(logging.Handler):
    """Writes to whatever ``sys.stderr`` is when a record is emitted, not when the CLI ran:
    ``main()`` called from a notebook or a test harness that swaps stderr later still logs."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            write_line(self.format(record) + "\n")  # erasing a spinner's line
        except Exception:  # logging must never raise; report as the stdlib does
            self.handleError(record)


def _configure_logging(quiet: bool, verbose: bool) -> None:
    level = logging.ERROR if quiet else logging.DEBUG if verbose else logging.WARNING
    handler = _StderrHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    logger = logging.getLogger("attackmap")
    logger.handlers[:] = [handler]
    logger.setLevel(level)
    logger.propagate = False


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI with ``argv`` (default ``sys.argv[1:]``); return the exit code.

    The cyclic collector is paused throughout (:func:`attackmap._gc.paused`): a command
    imports its stage of the library (~50,000 objects: modules, classes, pydantic's
    validators), which would otherwise trigger some fifty collections walking them (~3% of
    a cold ``analyze`` of one manifest); loading and analysing pause it anyway. A command
    is one process's run: reference cycles it makes wait for the collector until it
    returns. Measured, few: a few hundred objects after an analysis and its report; a
    fleet on Dask, whose client runs here, ~30 per task. Forked workers (parse, analysis,
    a fleet's pool) start with the collector as it is here.
    """
    with paused():
        return _main(list(sys.argv[1:] if argv is None else argv))


def _main(argv: list[str]) -> int:
    parser = build_parser(_command_of(argv))
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # argparse: --help/--version (0) or usage errors (2)
        return int(e.code) if isinstance(e.code, int) else 2
    _configure_logging(args.quiet, args.verbose)
    from attackmap.cli._output import stdout_errors

    try:
        code: int = args.run(args)
        with stdout_errors():  # what a command printed last (`> /dev/full`: exit 2)
            sys.stdout.flush()
    except AttackmapError as e:
        print(e.diagnostics(), file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. `attackmap ... | head`
        return 0
    return code


#: Whether this process runs the console script (:func:`console_main`), not a program
#: that calls :func:`main`.
_owns_process = False


def console_main() -> None:
    """Entry point of the ``attackmap`` console script.

    Once the command is done the process only exits: every object left is frozen
    (:func:`gc.freeze`), so that the interpreter's collections at shutdown do not walk the
    whole heap once more (~5% of a cold ``analyze`` of one manifest); module teardown
    still closes what is open. The process is the command's own (:data:`_owns_process`): a
    command may set process-wide options (:func:`attackmap.cli._inputs.own_allocator`)."""
    global _owns_process
    _owns_process = True
    # ``kill``, a CI job's cancellation, a pod's termination and ``timeout`` send SIGTERM:
    # stop as on an interrupt (the output's temporary file removed, forked workers
    # stopped), and exit 128 + 15 as the signal would
    signal.signal(signal.SIGTERM, _terminated)
    try:
        code = main()
    except KeyboardInterrupt:
        print("attackmap: interrupted", file=sys.stderr)
        sys.exit(130)
    gc.freeze()
    sys.exit(code)


def _terminated(signum: int, frame: object) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second one ends the process at once
    raise SystemExit(128 + signum)
