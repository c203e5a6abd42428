"""Where a container runs code from besides its image, as its manifest shows it.

A model server that *executes* what it loads turns write access to its model store into
code execution in the server; one that only reads weights does not. The manifest shows
some of this: the server binary and its flags (``tritonserver --model-repository``,
``--trust-remote-code``), switches in the environment (``NIM_TRUST_CUSTOM_CODE``,
``PYTHONPATH``, ``LD_PRELOAD``), scripts and pickle files named on the command line.
:func:`code_sources` reads exactly these and keeps, for each, the directory or file code
comes from and why (the values of these few variables and command words are paths or
switches, never credentials; nothing else of the command or the environment is kept).
What a manifest does not show (an image's own entrypoint, a server's defaults) is not
guessed: no evidence, no code source.

:func:`kubeconfig_paths` reads, the same way, where a container keeps a kubeconfig: the
``KUBECONFIG`` variable's paths and ``--kubeconfig`` on the command line (paths too, never
the kubeconfig itself).
"""

import re
from collections.abc import Iterable, Sequence
from typing import Literal

from attackmap.model._refs import Frozen

__all__ = ["CodeSource", "code_sources", "kubeconfig_paths", "serves_ssh"]


class CodeSource(Frozen):
    """Code the container executes from outside its image.

    ``path``: the directory or file it comes from; ``None`` when the loader takes it from
    wherever the container's models are (``--trust-remote-code``: the model's own Python
    modules). ``kind``: ``model`` when the code comes with the models (a model repository,
    a pickled model, the model's own modules), ``program`` otherwise (a script, an import
    or library path). ``why``: what the manifest shows; ``field``: where (relative to the
    container, e.g. ``args``, ``env[PYTHONPATH]``)."""

    path: str | None
    kind: Literal["model", "program"]
    why: str
    field: str


_WORD = re.compile(r"[^\s;&|'\"`()]+")
_TRUTHY = frozenset({"1", "true", "yes", "on", "y"})
# Flags that name a model repository whose models carry code: Triton's (a model with the
# Python backend runs its model.py in the server) and TorchServe's (a model archive's
# handler is Python).
_REPOSITORY_FLAGS = {
    "--model-repository": "Triton model repository: a Python-backend model runs its model.py in the server",
    "--model-store": "TorchServe model store: a model archive's handler is Python code",
}
# Variables that switch on trust_remote_code (the model's Python modules are imported).
_TRUST_VARIABLES = ("NIM_TRUST_CUSTOM_CODE", "TRUST_REMOTE_CODE", "VLLM_TRUST_REMOTE_CODE")
_TRUST_FLAGS = ("--trust-remote-code", "--trust_remote_code")
# Variables whose value lists directories or files the loader executes code from.
_CODE_PATH_VARIABLES = {
    "PYTHONPATH": "Python imports modules from it",
    "LD_PRELOAD": "the dynamic linker loads it into every process",
    "LD_LIBRARY_PATH": "the dynamic linker loads shared libraries from it",
}
# Files whose loading runs code: unpickling (joblib/pickle models), TorchServe archives
# (their handler is Python), scripts the command runs.
_PICKLE_SUFFIXES = (".pkl", ".pickle", ".joblib")
_SCRIPT_SUFFIXES = (".py", ".sh")


def _words(parts: Sequence[str] | None) -> list[str]:
    """The words of a command or args list, shell strings (``bash -c "..."``) split too;
    ``--flag=value`` gives ``--flag`` and ``value``."""
    out: list[str] = []
    for part in parts or ():
        for word in _WORD.findall(part):
            flag, eq, value = word.partition("=")
            out.extend((flag, value) if eq and flag.startswith("-") else (word,))
    return out


def _program(word: str) -> str:
    return word.rsplit("/", 1)[-1]


def serves_ssh(command: Sequence[str] | None, args: Sequence[str] | None) -> bool:
    """Whether the container's command starts sshd (multi-node NIM's workers run
    ``/usr/sbin/sshd -De`` on 2222 without declaring the port)."""
    return any(_program(w) == "sshd" for w in _words([*(command or ()), *(args or ())]))


def kubeconfig_paths(
    command: Sequence[str] | None,
    args: Sequence[str] | None,
    env: Iterable[tuple[str, str | None]],
) -> tuple[str, ...]:
    """The absolute paths a container's manifest names as its kubeconfig: the literal
    ``KUBECONFIG`` variable (a ``:``-separated list, as kubectl and client-go read it) and
    ``--kubeconfig PATH`` / ``--kubeconfig=PATH`` in command or args, in that order."""
    found: dict[str, None] = {}
    for name, value in env:
        if name == "KUBECONFIG" and value:
            found.update((p, None) for p in value.split(":") if p.startswith("/"))
    words = _words([*(command or ()), *(args or ())])
    for i, word in enumerate(words[:-1]):
        if word == "--kubeconfig" and words[i + 1].startswith("/"):
            found[words[i + 1]] = None
    return tuple(found)


def code_sources(
    command: Sequence[str] | None,
    args: Sequence[str] | None,
    env: Iterable[tuple[str, str | None]],
) -> tuple[CodeSource, ...]:
    """The :class:`CodeSource` entries a container's manifest shows (``env``: each literal
    variable's name and value), in a stable order."""
    found: dict[tuple[str | None, str], CodeSource] = {}

    def add(path: str | None, why: str, field: str, kind: str = "model") -> None:
        found.setdefault(
            (path, why),
            CodeSource(
                path=path, kind="program" if kind == "program" else "model", why=why, field=field
            ),
        )

    for field, parts in (("command", command), ("args", args)):
        words = _words(parts)
        for i, word in enumerate(words):
            nxt = words[i + 1] if i + 1 < len(words) else ""
            if word in _REPOSITORY_FLAGS and nxt.startswith("/"):
                add(nxt, f"{word}: {_REPOSITORY_FLAGS[word]}", field)
            elif word in _TRUST_FLAGS:
                add(None, f"{word}: the model's own Python modules are imported", field)
            elif word.startswith("/") and word.endswith(_PICKLE_SUFFIXES):
                add(word, "a pickled model file: unpickling runs code", field)
            elif word.startswith("/") and word.endswith(".mar"):
                add(word, "a TorchServe model archive: its handler is Python code", field)
            elif word.startswith("/") and word.endswith(_SCRIPT_SUFFIXES):
                add(word, "a script the command runs", field, "program")
    for name, value in env:
        if value is None:
            continue
        if name in _TRUST_VARIABLES and value.strip().lower() in _TRUTHY:
            add(
                None,
                f"{name}={value.strip()}: the model's own Python modules are imported",
                f"env[{name}]",
            )
        why = _CODE_PATH_VARIABLES.get(name)
        if why is not None:
            for path in re.split(r"[:\s]+", value):
                if path.startswith("/"):
                    add(path, f"{name}: {why}", f"env[{name}]", "program")
    return tuple(found[k] for k in sorted(found, key=lambda k: (k[0] or "", k[1])))
