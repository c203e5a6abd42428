"""One rule for objects defined twice, whatever the order of the input.

* A manifest wins over what an operator would render from a custom resource (a
  NIMService's Service); a warning names both. Before, the verdict depended on the order:
  ``inventory a.yaml b.yaml`` exited 0, ``inventory b.yaml a.yaml`` 2 ("duplicate object").
* Of two custom resources that render the same object, the one whose resource sorts
  first (kind, namespace, name) wins; a warning names the other.
* Two manifests of the same object stay an error, with both places named in an order
  that does not depend on the input's.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from attackmap.cli import main
from attackmap.errors import InputError
from attackmap.model import load

NIM_SERVICE = """\
apiVersion: apps.nvidia.com/v1alpha1
kind: NIMService
metadata: {{name: {name}, namespace: nim}}
spec:
  image: {{repository: nvcr.io/nim/meta/llama3-8b-instruct, tag: "1.0.0"}}
  authSecret: ngc-api
  storage: {{pvc: {{name: shared, create: true, size: {size}}}}}
  expose: {{service: {{type: ClusterIP, port: 8000}}}}
"""
SERVICE = """\
apiVersion: v1
kind: Service
metadata: {name: llm, namespace: nim}
spec:
  type: LoadBalancer
  selector: {app: llm}
  ports: [{port: 8000}]
"""


def _files(tmp_path: Path, texts: dict[str, str]) -> list[Path]:
    paths = []
    for name, text in texts.items():
        path = tmp_path / name
        path.write_text(text)
        paths.append(path)
    return paths


def _inventory_json(capsys: pytest.CaptureFixture[str], paths: list[Path]) -> str:
    assert main(["inventory", "--format", "json", *map(str, paths)]) == 0
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return out


def test_a_manifest_wins_over_a_rendered_object_in_every_order(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = _files(
        tmp_path, {"a.yaml": NIM_SERVICE.format(name="llm", size="10Gi"), "b.yaml": SERVICE}
    )
    outputs = {_inventory_json(capsys, list(order)) for order in itertools.permutations(files)}
    assert len(outputs) == 1
    for order in itertools.permutations(files):
        inv = load(*order)
        (service,) = (s for s in inv.services if s.ref.name == "llm")
        assert service.type == "LoadBalancer"  # the manifest's, not the rendered ClusterIP
        assert service.source is not None and service.source.path.endswith("b.yaml")
        (warning,) = (w for w in inv.warnings if "also rendered by" in w.message)
        assert warning.message.startswith("also rendered by NIMService/nim/llm; the manifest at ")
        assert warning.message.endswith("b.yaml:1 is used")


def test_two_renderings_of_one_object_resolve_by_the_custom_resource_not_the_order(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = _files(
        tmp_path,
        {
            "a.yaml": NIM_SERVICE.format(name="zeta", size="10Gi"),
            "b.yaml": NIM_SERVICE.format(name="alpha", size="20Gi"),
        },
    )
    outputs = {_inventory_json(capsys, list(order)) for order in itertools.permutations(files)}
    assert len(outputs) == 1
    inv = load(*files)
    (pvc,) = inv.pvcs
    assert pvc.ref.name == "shared" and pvc.storage == "20Gi"  # rendered by NIMService alpha
    (warning,) = (w for w in inv.warnings if "also rendered by" in w.message)
    assert warning.message == (
        "also rendered by NIMService/nim/zeta; the one rendered by NIMService/nim/alpha is used"
    )


def test_two_manifests_of_one_object_are_refused_the_same_way_in_every_order(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = _files(
        tmp_path, {"a.yaml": SERVICE, "b.yaml": SERVICE.replace("LoadBalancer", "NodePort")}
    )
    messages = set()
    for order in itertools.permutations(files):
        with pytest.raises(InputError) as info:
            load(*order)
        assert "duplicate object Service/nim/llm" in info.value.message
        assert main(["inventory", *map(str, order)]) == 2
        messages.add(info.value.message)
        capsys.readouterr()
    (message,) = messages
    assert f"defined at {files[0]}:1 and at {files[1]}:1" in message


PSA = (
    "apiVersion: pod-security.admission.config.k8s.io/v1\nkind: PodSecurityConfiguration\n"
    "defaults: {{enforce: {level}}}\n"
)
CONTEXT = "apiVersion: attackmap/v1\nkind: ClusterContext\nmetadata: {{name: {name}}}\n"


@pytest.mark.parametrize(
    ("first", "second", "what"),
    [
        (PSA.format(level="privileged"), PSA.format(level="restricted"), "Pod Security admission"),
        (CONTEXT.format(name="a"), CONTEXT.format(name="b"), "ClusterContext document"),
    ],
    ids=["admission", "context"],
)
def test_a_second_cluster_wide_document_is_refused_the_same_way_in_every_order(
    first: str, second: str, what: str, tmp_path: Path
) -> None:
    # the first admission configuration in input order was used: exit 1 with
    # --fail-on T1611 one way, 0 the other; the ClusterContext error named whichever came second
    files = _files(tmp_path, {"a.yaml": first, "b.yaml": second, "pod.yaml": SERVICE})
    messages = set()
    for order in itertools.permutations(files):
        with pytest.raises(InputError, match=f"more than one {what}") as info:
            load(*order)
        messages.add((info.value.message, info.value.path))
    assert len(messages) == 1, messages
    (message, path) = messages.pop()
    assert f"at {files[0]}:1 and at {files[1]}:1" in message and path == str(files[1])
    (tmp_path / "same").mkdir()
    same = _files(tmp_path / "same", {"a.yaml": first, "b.yaml": first, "pod.yaml": SERVICE})
    load(*same)  # identical copies are one


def test_load_warnings_do_not_depend_on_the_input_order(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = _files(
        tmp_path,
        {
            "a.yaml": SERVICE.replace("namespace: nim", 'namespace: "FILLED BY THE OPERATOR"'),
            "b.yaml": SERVICE.replace("name: llm", "name: My_Service"),
        },
    )
    outputs = {_inventory_json(capsys, list(order)) for order in itertools.permutations(files)}
    assert len(outputs) == 1


def test_an_object_named_by_generate_name_is_read() -> None:
    # `metadata: {generateName: debug-}` (kubectl create, Jobs from CronJobs) was refused
    # with an internal "malformed Pod: 'name'"; the API server appends a random suffix
    inv = load(
        "apiVersion: v1\nkind: Pod\nmetadata: {generateName: debug-, namespace: nim}\n"
        "spec: {containers: [{name: c, image: busybox, securityContext: {privileged: true}}]}\n"
    )
    (w,) = inv.workloads
    assert str(w.ref) == "Pod/nim/debug-"
    assert not inv.warnings  # the prefix is not checked as a full name
