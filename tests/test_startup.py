"""Start-up: a command imports only what it uses (docs/performance.md, "Cold CLI").

Each check runs a fresh interpreter and reads ``sys.modules`` once the work is done: what
was imported, never how long it took (timings are measured in ``benchmarks/``).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

NIM = Path(__file__).resolve().parents[1] / "examples" / "nim" / "nim-deploy-default.yaml"

# heavy third-party packages no analysis needs (rich draws tables and spinners only)
HEAVY = ("rich", "pandas", "stix2", "mitreattack", "numpy")

# run ``main(argv)`` and print the imported modules; the exit code is main's
CLI = (
    "import json, sys; from attackmap.cli import main; code = main(sys.argv[1:]); "
    "print(json.dumps(sorted(sys.modules))); sys.exit(code)"
)


def _modules(code: str, *args: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    modules: list[str] = json.loads(done.stdout.splitlines()[-1])
    return set(modules)


def _heavy(modules: set[str]) -> set[str]:
    return {m for m in modules if m.split(".")[0] in HEAVY}


def test_import_attackmap_imports_no_stage() -> None:
    modules = _modules("import json, sys, attackmap; print(json.dumps(sorted(sys.modules)))")
    assert "attackmap" in modules
    # the errors and the version string (which the engines check without the facade)
    assert {m for m in modules if m.startswith("attackmap.")} == {
        "attackmap.errors",
        "attackmap._version",
    }
    assert _heavy(modules) == set()
    assert "pydantic" not in modules and "yaml" not in modules


def test_analyze_json_imports_no_exporter_and_no_view(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    modules = _modules(CLI, "analyze", str(NIM), "--format", "json", "-o", str(report))
    assert json.loads(report.read_text())["workloads"]  # the analysis ran
    assert _heavy(modules) == set()
    # the registry's names and suffixes, not one exporter (the report writes its own JSON)
    assert {m for m in modules if m.startswith("attackmap.exporters")} == {
        "attackmap.exporters",
        "attackmap.exporters.interface",
    }
    unused = ("attackmap.harden", "attackmap.audit", "attackmap._docsgen", "attackmap.graph._docs")
    assert {m for m in modules if m.startswith(unused)} == set()
    assert "attackmap.graph._compare" not in modules  # no accepted findings, no baseline
    assert "concurrent.futures.process" not in modules  # one small file: no parse workers
    assert "subprocess" not in modules  # only to render a Helm chart or a kustomization


def test_the_default_table_imports_no_rich() -> None:
    # ``attackmap analyze M`` (the table, to a pipe): Rich is imported on a terminal or for
    # cells it measures (wide or combining characters), not for the NIM manifest's table
    modules = _modules(CLI, "analyze", str(NIM))
    assert _heavy(modules) == set()
    assert "attackmap.cli._table" in modules  # the table was drawn
    # the rows' tactic labels come from the ATT&CK models, not from the exporters' helpers
    assert {m for m in modules if m.startswith("attackmap.exporters")} == {
        "attackmap.exporters",
        "attackmap.exporters.interface",
    }
    # difflib only words the suggestions of an error message
    assert "difflib" not in modules


def test_a_format_imports_its_own_exporter(tmp_path: Path) -> None:
    report = tmp_path / "report.sarif"
    modules = _modules(CLI, "analyze", str(NIM), "-o", str(report))
    assert json.loads(report.read_text())["runs"]
    exporters = {m for m in modules if m.startswith("attackmap.exporters._")}
    assert "attackmap.exporters._sarif" in exporters
    assert not exporters & {"attackmap.exporters._html", "attackmap.exporters._stix"}
    assert _heavy(modules) == set()


# the modules of every pydantic model a plain analysis defines, and whether any of them
# postpones its annotations (``from __future__ import annotations`` binds ``annotations``)
MODEL_MODULES = (
    "import __future__, io, json, sys, contextlib; from pydantic import BaseModel; "
    "from attackmap.cli import main\n"
    "with contextlib.redirect_stdout(io.StringIO()): code = main(sys.argv[1:])\n"
    "seen, todo = set(), [BaseModel]\n"
    "while todo:\n"
    "    for sub in todo.pop().__subclasses__():\n"
    "        seen.add(sub.__module__); todo.append(sub)\n"
    "postponed = [m for m in sorted(seen) if m.startswith('attackmap') and "
    "isinstance(getattr(sys.modules[m], 'annotations', None), __future__._Feature)]\n"
    "print(json.dumps(postponed)); sys.exit(code)"
)


def test_model_modules_do_not_postpone_annotations() -> None:
    # Start-up, 2026-12-06: pydantic evaluates a postponed (string) annotation by compiling
    # it, which made creating a model class ~5x slower; the ~250 classes a run defines are
    # written with evaluated annotations (forward references quoted).
    postponed = _modules(MODEL_MODULES, "analyze", str(NIM), "--format", "json", "-o", "/dev/null")
    assert postponed == set()


# the modules that read one family of context kinds (their parse models): imported by the
# loader with the first object of such a kind (model/_loader.py, ``_context_object``)
READERS = {
    "attackmap.model._read_exposure": ("networking.k8s.io/v1", "Ingress"),
    "attackmap.model._read_netpol": ("networking.k8s.io/v1", "NetworkPolicy"),
    "attackmap.model._read_rbac": ("v1", "ServiceAccount"),
    "attackmap.model._read_cluster": ("v1", "PersistentVolumeClaim"),
    "attackmap.model._read_cilium": ("cilium.io/v2", "CiliumNetworkPolicy"),
    "attackmap.model._read_calico": ("crd.projectcalico.org/v1", "GlobalNetworkPolicy"),
}

LOAD = (
    "import json, sys, attackmap; attackmap.analyze(attackmap.load(sys.argv[1])); "
    "print(json.dumps(sorted(sys.modules)))"
)


def test_a_kind_reader_is_imported_with_the_first_object_of_its_kind(tmp_path: Path) -> None:
    # the NIM manifest (a StatefulSet, Services, a ConfigMap) needs none of the readers
    modules = _modules(CLI, "analyze", str(NIM), "--format", "json", "-o", str(tmp_path / "r"))
    assert {m for m in modules if m.startswith("attackmap.model._read_")} == set()
    # a Cilium policy beside it: the Cilium reader, and only it
    cilium = tmp_path / "cilium.yaml"
    cilium.write_text(
        NIM.read_text()
        + "\n---\napiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\n"
        + "metadata: {name: deny-all, namespace: default}\nspec: {endpointSelector: {}}\n"
    )
    modules = _modules(LOAD, str(cilium))
    assert {m for m in modules if m.startswith("attackmap.model._read_")} == {
        "attackmap.model._read_cilium"
    }
    # and every reader reads its kind (the registry in the loader names real modules)
    for module, (api, kind) in READERS.items():
        doc = tmp_path / f"{kind}.yaml"
        doc.write_text(f"apiVersion: {api}\nkind: {kind}\nmetadata: {{name: x, namespace: ns}}\n")
        loaded = _modules(LOAD, str(doc))
        assert module in loaded, kind


# count the cyclic collector's runs while ``main(argv)`` runs in a fresh interpreter
COLLECTIONS = (
    "import gc, io, json, sys, contextlib; runs = []\n"
    "gc.callbacks.append(lambda phase, info: runs.append(1) if phase == 'stop' else None)\n"
    "from attackmap.cli import main\n"
    "before = len(runs)\n"
    "with contextlib.redirect_stdout(io.StringIO()): code = main(sys.argv[1:])\n"
    "print(json.dumps([len(runs) - before, gc.isenabled()])); sys.exit(code)"
)


def test_a_command_runs_with_the_collector_paused() -> None:
    # importing the command's stage (~50,000 objects) triggered some fifty collections
    done = subprocess.run(
        [sys.executable, "-c", COLLECTIONS, "analyze", str(NIM)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == [0, True]  # none, and enabled again


def test_the_console_script_freezes_the_heap_before_exiting() -> None:
    # the interpreter's collections at shutdown (after the atexit handlers) then walk nothing
    code = (
        "import atexit, gc, sys; atexit.register(lambda: print(gc.get_freeze_count()))\n"
        "from attackmap.cli import console_main\n"
        "sys.argv = ['attackmap', 'analyze', sys.argv[1], '--format', 'json', '-o', sys.argv[2]]\n"
        "console_main()"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(NIM), "/dev/null"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert int(done.stdout.splitlines()[-1]) > 10_000


# which of the report's model classes are built (complete) once ``main(argv)`` is done
REPORT_BUILT = (
    "import io, json, sys, contextlib; from attackmap.cli import main\n"
    "with contextlib.redirect_stdout(io.StringIO()): code = main(sys.argv[1:])\n"
    "from attackmap.graph import _report\n"
    "names = ('FactUse', 'PathStep', 'Path', 'TechniqueFinding', 'MinimalControls',\n"
    "         'WorkloadAnalysis', 'Report')\n"
    "print(json.dumps([n for n in names if getattr(_report, n).__pydantic_complete__]))\n"
    "sys.exit(code)"
)


def test_an_analysis_builds_none_of_the_report_s_model_classes(tmp_path: Path) -> None:
    # the analysis makes the report's objects from its own values (trusted,
    # model_construct): their validators are built when a report is read back
    report = tmp_path / "report.json"
    built = _modules(REPORT_BUILT, "analyze", str(NIM), "--format", "json", "-o", str(report))
    assert built == set()
    assert json.loads(report.read_text())["workloads"]
    # read back, the report validates (and builds) them
    code = (
        "import json, sys; from attackmap.graph import load_report, _report\n"
        "report = load_report(sys.argv[1]); assert report.workloads[0].techniques\n"
        "print(json.dumps([n for n in ('Report', 'WorkloadAnalysis')\n"
        "                  if getattr(_report, n).__pydantic_complete__]))"
    )
    assert _modules(code, str(report)) == {"Report", "WorkloadAnalysis"}
