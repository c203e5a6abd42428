"""Helm charts, kustomizations and other YAML that is not a Kubernetes object.

A repository holds more YAML than manifests: a chart's ``Chart.yaml``, ``values.yaml`` and
Go templates, a ``kustomization.yaml`` and its patches, CI workflows. The reader asks this
module what a path is:

* a directory holding ``Chart.yaml`` is a Helm chart, rendered with ``helm template``
  (``--values``/``--set`` passed through); one holding a ``kustomization.yaml`` is rendered
  with ``kubectl kustomize`` (or ``kustomize build``). Each is read as a whole, never file
  by file. Without the binary on ``PATH`` the directory is skipped with a reason that says
  how to render it (and the run is an error when nothing else was given);
* a file that is part of a chart or a kustomization (its metadata, values, templates,
  patches), given on its own (a pre-commit hook passes every changed YAML file), is
  skipped with a reason: analyse the directory to render it.

Rendering runs a program the user installed, on files the user named, with a time limit;
its output is read as any manifest is (the same limits, the same errors).
"""

from __future__ import annotations

import logging
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import yaml

from attackmap.errors import InputError
from attackmap.model._yaml import MAX_FILE_BYTES

log = logging.getLogger(__name__)

CHART_FILE = "Chart.yaml"
KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
#: a renderer that runs longer than this is stopped (a chart that loops on a lookup)
RENDER_TIMEOUT = 300.0
#: fields of a kustomization naming files that are patches, not whole objects
_PATCH_FIELDS = ("patchesStrategicMerge", "patches", "patchesJson6902")
#: a Go template action (``{{ .Values.x }}``, ``{{- if ... }}``, ``{{ include ... }}``)
_GO_ACTION = re.compile(r"\{\{-?\s*(?:[.$(]|/\*|[a-z]+\b)")


@dataclass(frozen=True)
class Render:
    """How to render the charts among the inputs: ``values`` files and ``set`` overrides
    (``key=value``), passed to ``helm template`` as ``--values``/``--set``, in order."""

    values: tuple[str, ...] = ()
    set: tuple[str, ...] = ()


def kustomization_of(directory: Path) -> Path | None:
    """The kustomization file of ``directory``, if it has one."""
    for name in KUSTOMIZATION_FILES:
        candidate = directory / name
        if candidate.is_file():
            return candidate
    return None


def is_chart(directory: Path) -> bool:
    return (directory / CHART_FILE).is_file()


def chart_of(path: Path) -> Path | None:
    """The chart ``path`` (a file) belongs to: the nearest directory above it with a
    ``Chart.yaml``, up to the filesystem root (named as ``path`` names it, when it does)."""
    for parent in path.parents:
        if is_chart(parent):
            return parent
    for parent in path.resolve().parents:
        if is_chart(parent):
            return parent
    return None


class PatchFiles:
    """The patch files of each kustomization met while reading one load's sources, each
    kustomization read once: a pre-commit hook passes every changed file of a directory,
    and each asks whether it is a patch. One lives for one load (a kustomization edited
    between two loads is read again)."""

    def __init__(self) -> None:
        self._names: dict[Path, set[str]] = {}

    def of(self, kustomization: Path) -> set[str]:
        """The local file names ``kustomization`` uses as patches."""
        found = self._names.get(kustomization)
        if found is None:
            found = self._names[kustomization] = _patch_files(kustomization)
        return found


def part_of_a_chart_or_kustomization(path: Path, patches: PatchFiles | None = None) -> str | None:
    """Why the file ``path`` is not read as a manifest, or ``None`` when it is one: the
    metadata, values or a template of a Helm chart, a kustomization or one of its patches
    (``patches``: the kustomizations read so far in this load)."""
    name = path.name
    chart = chart_of(path)
    if chart is not None:
        if path.parent.resolve() == chart.resolve() and (
            name in (CHART_FILE, "Chart.lock", "values.schema.json")
            or (name.startswith("values") and name.endswith((".yaml", ".yml")))
        ):
            what = "metadata" if name.startswith("Chart") else "values"
            return f"Helm chart {what}, not a Kubernetes object ({_render_hint(chart)})"
        return f"a template of the Helm chart {chart} ({_render_hint(chart)})"
    if name in KUSTOMIZATION_FILES:
        return f"a kustomization, not a Kubernetes object ({_render_hint(path.parent)})"
    kustomization = kustomization_of(path.parent)
    if kustomization is not None and name in (patches or PatchFiles()).of(kustomization):
        return f"a kustomize patch, not a whole object ({_render_hint(path.parent)})"
    return None


def go_template_reason(text: str) -> str | None:
    """For a file that does not parse as YAML: why it is skipped when it is a Go template
    (``{{ ... }}`` actions: a chart template outside its chart), else ``None``."""
    if _GO_ACTION.search(text):
        return "a Go template ({{ ... }} actions), not a Kubernetes object: render it first"
    return None


def _render_hint(directory: Path) -> str:
    return f"analyse the directory {directory} to render it"


def _patch_files(kustomization: Path) -> set[str]:
    """The local file names a kustomization uses as patches (best effort: a kustomization
    that does not parse names none)."""
    try:
        data = yaml.safe_load(kustomization.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return set()
    names: set[str] = set()
    if not isinstance(data, dict):
        return names
    for field in _PATCH_FIELDS:
        entries = data.get(field)
        for entry in entries if isinstance(entries, list) else ():
            target = entry.get("path") if isinstance(entry, dict) else entry
            if isinstance(target, str) and "/" not in target and "\n" not in target:
                names.add(target)
    return names


def included_kustomizations(directories: list[Path]) -> set[Path]:
    """Of ``directories`` (each holding a kustomization), those another one includes as a
    resource or component (``../../base``): rendered as part of it, not on their own."""
    found = {d.resolve() for d in directories}
    included: set[Path] = set()
    for directory in directories:
        kustomization = kustomization_of(directory)
        try:
            data = (
                yaml.safe_load(kustomization.read_text(encoding="utf-8")) if kustomization else None
            )
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            continue
        if not isinstance(data, dict):
            continue
        for field in ("resources", "bases", "components"):
            entries = data.get(field)
            for entry in entries if isinstance(entries, list) else ():
                if isinstance(entry, str) and "://" not in entry:
                    target = (directory / entry).resolve()
                    if target in found and target != directory.resolve():
                        included.add(target)
    return included


def _which(*names: str) -> list[str] | None:
    for name in names:
        found = shutil.which(name.split()[0], path=os.environ.get("PATH", os.defpath))
        if found is not None:
            return [found, *name.split()[1:]]
    return None


def renderer(directory: Path, options: Render) -> tuple[list[str] | None, str]:
    """The command that renders ``directory`` (a chart or a kustomization), or ``None``
    when no program for it is on ``PATH``; and what it is, for messages."""
    if is_chart(directory):
        helm = _which("helm")
        argv = None
        if helm is not None:
            argv = [*helm, "template", str(directory)]
            for values in options.values:
                argv += ["--values", values]
            for override in options.set:
                argv += ["--set", override]
        return argv, "Helm chart"
    tool = _which("kubectl kustomize", "kustomize build")
    return ([*tool, str(directory)] if tool is not None else None), "kustomization"


def not_rendered_reason(directory: Path, what: str) -> str:
    if what == "Helm chart":
        how = f"install helm, or render it: helm template {directory} | attackmap analyze -"
        return f"a Helm chart, not rendered: helm is not on PATH ({how})"
    how = f"install kubectl, or render it: kubectl kustomize {directory} | attackmap analyze -"
    return f"a kustomization, not rendered: neither kubectl nor kustomize is on PATH ({how})"


def render(directory: Path, argv: list[str], what: str) -> str:
    """Run ``argv`` (from :func:`renderer`) and return what it printed, the rendered
    manifests. A failure, a time-out or an output over the file size limit is an
    :class:`InputError` naming the directory, with the program's own message."""
    import subprocess  # only to render: an analysis of manifests never imports it

    log.info("%s: rendering the %s: %s", directory, what, " ".join(argv))
    try:
        done = subprocess.run(  # the user's own helm/kubectl on their own files
            argv,
            capture_output=True,
            timeout=RENDER_TIMEOUT,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as e:
        raise InputError(
            f"cannot render the {what}: {argv[0]} ran longer than {RENDER_TIMEOUT:.0f} s",
            path=directory,
        ) from e
    except OSError as e:
        raise InputError(f"cannot render the {what}: {e.strerror or e}", path=directory) from e
    if done.returncode != 0:
        said = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise InputError(
            f"cannot render the {what}: {' '.join(argv[:2])} exited {done.returncode}"
            + (f": {said[-1][:500]}" if said else ""),
            path=directory,
            hint="run the command yourself to see its whole message",
        )
    if len(done.stdout) > MAX_FILE_BYTES:
        raise InputError(
            f"the rendered {what} is more than the limit of {MAX_FILE_BYTES} bytes",
            path=directory,
        )
    try:
        return done.stdout.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InputError(f"the rendered {what} is not UTF-8 text", path=directory) from e
