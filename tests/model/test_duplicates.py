"""One rule for objects defined twice, whatever the order of the input.

* A manifest wins over what an operator would render from a custom resource (a
  NIMService's Service); a warning names both. Before, the verdict depended on the order:
  ``inventory a.yaml b.yaml`` exited 0, ``inventory b.yaml a.yaml`` 2 ("duplicate object").
* Of two custom resources that render the same object, the one whose resource sorts
  first (kind, namespace, name) wins; a warning names the other.
* Two manifests that define one workload differently: both copies are analysed, as
  workloads of their own whose refs name their files (``Deployment/ns/app (prod.yaml)``),
  and a warning names both places. Before, that was an error ("duplicate object"), even
  with ``--keep-going``, in a repository holding a dev and a prod variant.
* Two manifests of the same object that is not a workload (a Service, a Role: other
  objects name it, the cluster has one) stay an error, with both places named in an
  order that does not depend on the input's.
"""

from __future__ import annotations

import itertools
import json
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


DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {{name: app, namespace: ns}}
spec:
  selector: {{matchLabels: {{app: app}}}}
  template:
    metadata: {{labels: {{app: app}}}}
    spec:
      containers:
        - name: main
          image: nginx
          securityContext: {{privileged: {privileged}}}
"""


def _report_json(capsys: pytest.CaptureFixture[str], paths: list[Path]) -> tuple[str, str]:
    assert main(["analyze", "--entry", "image", "--format", "json", *map(str, paths)]) == 0
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return out, err


def test_two_manifests_of_one_workload_are_both_analysed_in_every_order(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dev, prod, staging = _files(
        tmp_path,
        {
            "dev.yaml": DEPLOYMENT.format(privileged="false"),
            "prod.yaml": DEPLOYMENT.format(privileged="true"),
            "staging.yaml": DEPLOYMENT.format(privileged="true"),  # identical to prod
        },
    )
    runs = [
        _report_json(capsys, list(order)) for order in itertools.permutations([dev, prod, staging])
    ]
    assert len({out for out, _ in runs}) == 1  # byte-identical whatever the order
    report = json.loads(runs[0][0])
    by_origin = {w["ref"]["origin"]: w for w in report["workloads"]}
    assert sorted(by_origin) == [str(dev), str(prod)]  # staging is prod: one object
    for origin, w in by_origin.items():
        assert w["ref"] == {
            "kind": "Deployment",
            "namespace": "ns",
            "name": "app",
            "origin": origin,
        }
        assert w["source"]["path"] == origin  # each finding names its file
    escapes = {o: any(t["id"] == "T1611" for t in w["techniques"]) for o, w in by_origin.items()}
    assert escapes == {str(dev): False, str(prod): True}  # each copy its own verdict
    warning = (
        f"{dev}:1: Deployment/ns/app: defined differently at {dev}:1 and {prod}:1: each copy "
        f"is analysed as a workload of its own (Deployment/ns/app ({dev}), Deployment/ns/app "
        f"({prod})); keep the one the cluster runs"
    )
    assert warning in report["warnings"]
    assert (
        f"{prod}:1: Deployment/ns/app: an identical copy at {staging}:1 is the same object"
        in (report["warnings"])
    )
    for _, err in runs:  # and on stderr, naming both files and lines
        assert f"defined differently at {dev}:1 and {prod}:1" in err


def test_two_copies_in_one_file_are_named_by_their_documents(tmp_path: Path) -> None:
    (path,) = _files(
        tmp_path,
        {
            "all.yaml": DEPLOYMENT.format(privileged="true")
            + "---\n"
            + DEPLOYMENT.format(privileged="false")
        },
    )
    inv = load(path)
    assert [str(w.ref) for w in inv.workloads] == [
        f"Deployment/ns/app ({path}, document 1)",
        f"Deployment/ns/app ({path}, document 2)",
    ]
    assert [w.pod.containers[0].privileged for w in inv.workloads] == [True, False]


def test_two_nimservices_render_their_objects_once_whatever_the_order(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = _files(
        tmp_path,
        {
            "a.yaml": NIM_SERVICE.format(name="llm", size="10Gi"),
            "b.yaml": NIM_SERVICE.format(name="llm", size="20Gi"),
        },
    )
    outputs = {_inventory_json(capsys, list(order)) for order in itertools.permutations(files)}
    assert len(outputs) == 1
    inv = load(*files)
    assert sorted(w.ref.origin or "" for w in inv.workloads) == [str(f) for f in files]
    (pvc,) = inv.pvcs
    assert pvc.storage == "10Gi"  # rendered by the copy that sorts first, a warning says so
    assert any("also rendered by NIMService/nim/llm (" in w.message for w in inv.warnings)


def test_a_broken_copy_is_skipped_the_same_way_in_every_order(tmp_path: Path) -> None:
    files = _files(
        tmp_path,
        {
            "good.yaml": DEPLOYMENT.format(privileged="false"),
            "bad.yaml": DEPLOYMENT.format(privileged="[oops]"),
        },
    )
    results = set()
    for order in itertools.permutations(files):
        inv = load(*order, keep_going=True)
        results.add(
            (
                tuple(str(w.ref) for w in inv.workloads),
                tuple(f"{s.source}: {s.reason}" for s in inv.skipped),
            )
        )
        with pytest.raises(InputError, match="privileged"):
            load(*order)
    ((workloads, skipped),) = results
    assert workloads == (f"Deployment/ns/app ({files[0]})",)
    assert len(skipped) == 1 and skipped[0].startswith(f"{files[1]}:12: input error")


def test_a_file_name_the_attack_graph_cannot_hold_is_spelled_safely(tmp_path: Path) -> None:
    # the graph names a state `state@Kind/ns/name[container]:...`: an origin holding `@`,
    # `[`, `]` or `:` would be cut there and two copies would share their states
    import attackmap

    files = _files(
        tmp_path,
        {
            "v@1.yaml": DEPLOYMENT.format(privileged="false"),
            "v[2]:x.yaml": DEPLOYMENT.format(privileged="true"),
        },
    )
    report = attackmap.analyze(files, entries=["image"])
    escapes = {
        str(w.ref): "T1611" in {t.technique.id for t in w.techniques} for w in report.workloads
    }
    assert escapes == {
        f"Deployment/ns/app ({str(files[0]).replace('@', '_')})": False,
        f"Deployment/ns/app ({str(files[1]).replace('[', '_').replace(']', '_').replace(':', '_')})": True,
    }


def test_harden_refuses_two_variants_of_one_workload(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # a patch needs one definition; before this check harden wrote both unchanged, exit 0
    dev, prod = _files(
        tmp_path,
        {
            "dev.yaml": DEPLOYMENT.format(privileged="false"),
            "prod.yaml": DEPLOYMENT.format(privileged="true"),
        },
    )
    assert main(["harden", str(dev), str(prod), "--goal", "T1611"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "Traceback" not in err
    assert (
        f"error: Deployment/ns/app is defined differently in several files ({dev}, {prod}): "
        "harden cannot tell which one to patch"
    ) in err


def test_a_what_if_on_one_variant_is_refused_rather_than_applied_to_the_other(
    tmp_path: Path,
) -> None:
    # a patch finds its document by kind, namespace and name: it would patch the first copy
    import attackmap
    from attackmap.errors import AttackmapError

    dev, prod = _files(
        tmp_path,
        {
            "dev.yaml": DEPLOYMENT.format(privileged="false"),
            "prod.yaml": DEPLOYMENT.format(privileged="true"),
        },
    )
    report = attackmap.analyze([dev, prod], entries=["image"])
    with pytest.raises(AttackmapError, match="defined differently in several files"):
        report.apply([f"unprivileged@Deployment/ns/app ({prod})"])


def test_a_report_with_variants_reads_back_byte_identical(tmp_path: Path) -> None:
    import attackmap

    files = _files(
        tmp_path,
        {
            "dev.yaml": DEPLOYMENT.format(privileged="false"),
            "prod.yaml": DEPLOYMENT.format(privileged="true"),
        },
    )
    text = attackmap.analyze(files, entries=["image"]).to_json()
    again = attackmap.Report.from_json(text)
    assert [w.ref.origin for w in again.workloads] == [str(f) for f in files]
    assert again.to_json() == text
