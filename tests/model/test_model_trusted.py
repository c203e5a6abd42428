"""The loader builds its normalised models without re-validating them (``_refs.trusted``,
``_refs.replace``) for speed. These tests check that this shortcut never produces a model
that validation would reject or build differently: every model reachable from the
inventories of the reference corpora is validated again, field by field, and compared.
"""

from __future__ import annotations

import gc
import os
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError
from tests.conftest import shared_path

from attackmap.errors import InputError
from attackmap.model import (
    Container,
    Inventory,
    ObjectRef,
    Port,
    _refs,
    load,
    read_documents,
    relink,
)
from attackmap.model._refs import replace, shared, trusted


def _revalidate(model: BaseModel, seen: set[int]) -> int:
    """Validate ``model`` again from its own field values (nested models first) and
    assert the result equals it and has the same set fields; return the models checked."""
    if id(model) in seen:
        return 0
    seen.add(id(model))
    count = 1
    values = {name: getattr(model, name) for name in type(model).model_fields}
    for value in values.values():
        for item in _models(value):
            count += _revalidate(item, seen)
    again = type(model).model_validate(values)
    assert again == model, type(model).__name__
    assert model.model_fields_set <= set(type(model).model_fields)
    return count


def _models(value: Any) -> list[BaseModel]:
    if isinstance(value, BaseModel):
        return [value]
    if isinstance(value, tuple | list):
        return [m for v in value for m in _models(v)]
    if isinstance(value, dict):
        return [m for v in value.values() for m in _models(v)]
    return []


def _check(inv: Inventory) -> int:
    seen: set[int] = set()
    return sum(_revalidate(w, seen) for w in inv.workloads)


def test_corpora_models_validate_again() -> None:
    root = shared_path("corpus", "nim")
    files = sorted(p for p in root.glob("*.yaml") if p.is_file())
    checked = 0
    for f in files:
        try:
            inv = load(f)
        except InputError:
            continue
        checked += _check(inv)
    for f in sorted(shared_path("corpus", "kubehound").glob("*.yaml")):
        checked += _check(load(f))
    assert checked > 3000


def test_relinked_models_validate_again() -> None:
    manifest = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: app
        image: nginx:1.27
        ports: [{containerPort: 80, name: http}]
        securityContext: {capabilities: {add: [NET_ADMIN], drop: [all]}}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec: {selector: {app: web}, ports: [{port: 80, targetPort: http}]}
"""
    inv = load(manifest)
    w = inv.workloads[0]
    template = {"metadata": w.pod_template["metadata"], "spec": dict(w.pod_template["spec"])}
    template["spec"]["hostPID"] = True
    again = relink(inv, {w.ref: template})
    assert again.workloads[0].pod.host_pid is True
    assert again.workloads[0].exposure.level == "cluster"
    assert _check(again) > 10


def test_trusted_refuses_unknown_and_missing_fields() -> None:
    with pytest.raises(TypeError, match="unknown"):
        trusted(Port, container_port=80, colour="red")
    with pytest.raises(TypeError, match="missing"):
        trusted(Port, name="http")
    port = trusted(Port, container_port=80)
    assert port == Port(container_port=80)
    assert port.model_fields_set == {"container_port"}
    with pytest.raises(TypeError, match="unknown"):
        replace(port, colour="red")
    assert replace(port, name="x") == Port(container_port=80, name="x")


def test_trusted_models_stay_frozen_and_user_models_validate() -> None:
    c = trusted(Container, name="a", kind="regular")
    with pytest.raises(ValidationError):
        c.name = "b"  # type: ignore[misc]  # frozen: the assignment is what is tested
    # mutable defaults are not shared between instances
    assert (
        c.resources.gpu_resources
        is not trusted(Container, name="b", kind="init").resources.gpu_resources
    )
    with pytest.raises(ValidationError):
        Container(name="a", kind="regular", colour="red")  # type: ignore[call-arg]  # extra
    with pytest.raises(ValidationError):
        ObjectRef(kind="Pod", namespace=None, name=1)  # type: ignore[arg-type]  # bad type


def test_load_restores_the_garbage_collector() -> None:
    assert gc.isenabled()
    with pytest.raises(InputError):
        load("apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec: {containers: 3}\n")
    assert gc.isenabled()
    gc.disable()
    try:
        load("apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n")
        assert not gc.isenabled()
    finally:
        gc.enable()


def _many_files(root: Path, bad: int | None = None) -> None:
    for f in range(12):
        docs = []
        for i in range(5):
            name = f"app-{f}-{i}"
            docs.append(
                f"apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {name}, namespace: ns-{f % 3}}}\n"
                f"spec:\n  template:\n    metadata: {{labels: {{app: {name}}}}}\n    spec:\n"
                f"      containers: [{{name: c, image: 'nvcr.io/nim/x:{i}', ports: [{{containerPort: 8000, name: http}}]}}]\n"
            )
            docs.append(
                f"apiVersion: v1\nkind: Service\nmetadata: {{name: {name}, namespace: ns-{f % 3}}}\n"
                f"spec: {{selector: {{app: {name}}}, ports: [{{port: 80, targetPort: http}}]}}\n"
            )
        if f == 5:  # a custom resource and the NIMCache it consults, in a later file
            docs.append(
                "apiVersion: apps.nvidia.com/v1alpha1\nkind: NIMService\nmetadata: {name: llm, namespace: ns-0}\n"
                "spec: {image: {repository: nvcr.io/nim/meta/llama, tag: '1.0'}, authSecret: ngc,\n"
                "  storage: {nimCache: {name: cache}}, expose: {service: {port: 8000}}}\n"
            )
        if f == 9:
            docs.append(
                "apiVersion: apps.nvidia.com/v1alpha1\nkind: NIMCache\nmetadata: {name: cache, namespace: ns-0}\n"
                "spec: {source: {ngc: {modelPuller: nvcr.io/nim/meta/llama:1.0, authSecret: ngc}},\n"
                "  storage: {pvc: {name: cache-pvc, create: true}}}\n"
            )
        text = "---\n".join(docs)
        if f == bad:
            text += (
                "---\napiVersion: v1\nkind: Pod\nmetadata: {name: broken}\nspec: {containers: 3}\n"
            )
        (root / f"part-{f:02d}.yaml").write_text(text, encoding="utf-8")


@pytest.fixture
def parallel(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Force the worker-process reader for small inputs; record the worker counts used."""
    from attackmap import _fork
    from attackmap.model import _loader

    monkeypatch.setattr(_loader, "PARALLEL_MIN_BYTES", 0)
    # threads earlier tests of this pytest-xdist worker left running (Dask's IO loop)
    monkeypatch.setattr(_fork, "_other_threads", list)
    used: list[int] = []
    real = _loader._workers

    def spy(files: list[Path], sizes: list[int]) -> int:
        used.append(real(files, sizes))
        return used[-1]

    monkeypatch.setattr(_loader, "_workers", spy)
    return used


def test_parallel_read_equals_sequential(
    tmp_path: Path, parallel: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    from attackmap.model import _loader

    _many_files(tmp_path)
    inv = load(tmp_path)
    assert parallel and (parallel[0] >= 1 or (os.cpu_count() or 1) < 2)
    monkeypatch.setattr(_loader, "PARALLEL_MIN_FILES", 10**9)
    sequential = load(tmp_path)
    assert parallel[-1] == 0
    assert inv == sequential
    # 60 Deployments, the NIMService and its NIMCache's caching Job
    assert len(inv.workloads) == 62 and len(inv.services) == 61
    nim = inv.workload(ObjectRef(kind="NIMService", namespace="ns-0", name="llm"))
    assert nim is not None
    assert any(v.claim_name == "cache-pvc" for v in nim.pod.volumes)  # found the later NIMCache


def test_parallel_read_reports_the_sequential_error(tmp_path: Path, parallel: list[int]) -> None:
    _many_files(tmp_path, bad=7)
    (tmp_path / "part-10.yaml").write_text("a: [unclosed\n", encoding="utf-8")
    with pytest.raises(InputError) as parallel_error:
        load(tmp_path)
    assert "part-10.yaml" in str(parallel_error.value)  # reading errors come first
    (tmp_path / "part-10.yaml").unlink()
    with pytest.raises(InputError) as collect_error:
        load(tmp_path)
    assert "part-07.yaml" in str(collect_error.value)
    assert "spec.containers" in str(collect_error.value)
    assert gc.isenabled()


def test_documents_cross_from_workers_unchanged(tmp_path: Path) -> None:
    """Workers send documents as JSON: every value the YAML builder can produce comes
    back equal and of the same type (ints stay ints, floats keep every bit, odd strings)."""
    from attackmap.model import _loader

    tricky = tmp_path / "tricky.yaml"
    tricky.write_text(
        "# Source: chart/t.yaml\n"
        "a: [1, -0.0, 0.1, 1e300, 18446744073709551615, -9223372036854775808, true, null]\n"
        'b: {"\\U0001F600\\u00e9": "\\0\\u2028\\x85", "": "", "1": 1.5, "k": "2024-01-02"}\n'
        "c: [[[[]]], {}, [{}], 'yes', yes, 0o17, 0x1F, .5]\n"
        "---\n---\n- [a, b]\n",
        encoding="utf-8",
    )
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [\n", encoding="utf-8")
    paths = [tricky, bad, tricky]
    direct = _loader._parse_task(paths)
    sent = _loader._from_worker(paths, _loader._parse_in_worker(paths))
    assert direct[1] is None and sent[1] is None
    assert direct[0] is not None and "\U0001f600\u00e9" in direct[0][0].data["b"]
    assert sent == direct
    for docs_sent, docs_direct in zip(sent, direct, strict=True):
        for d1, d2 in zip(docs_sent or [], docs_direct or [], strict=True):
            assert repr(d1.data) == repr(d2.data)  # same types: 1 vs 1.0 vs True differ


def test_documents_json_cannot_hold_are_read_again_by_the_collector(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A file whose documents orjson refuses (a lone surrogate: no YAML text yields one,
    but nothing may rely on that) crosses as ``None`` -- text included -- and is read
    again in the collecting process, like a bad file: never a half-sent result."""
    from attackmap.model import _loader
    from attackmap.model._yaml import RawDocument

    good = [RawDocument({"a": 1}, "g.yaml", 0, 1, None, "a: 1\n")]
    odd = [RawDocument({"a": "\ud800"}, "o.yaml", 0, 1, None, "a: x\n")]
    monkeypatch.setattr(_loader, "_parse_task", lambda paths: [good, odd, []])
    texts, files = _loader._parse_in_worker([Path("g.yaml"), Path("o.yaml"), Path("e.yaml")])
    assert texts == ["a: 1\n", None, None]
    assert files[1] is None and files[0] is not None and files[2] == b"[]"
    got = _loader._from_worker([Path("g.yaml"), Path("o.yaml"), Path("e.yaml")], (texts, files))
    assert got == [good, None, []]


def test_validators_are_built_while_the_first_results_are_parsed(
    tmp_path: Path, parallel: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A parallel load builds the deferred pod template validator after submitting the
    tasks and before it waits for the first result (the collecting process is idle then);
    it is complete afterwards."""
    from attackmap.model import _loader

    _many_files(tmp_path)
    events: list[str] = []
    build = _loader._build_validator
    from_worker = _loader._from_worker
    monkeypatch.setattr(_loader, "_build_validator", lambda: (events.append("build"), build()))
    monkeypatch.setattr(
        _loader,
        "_from_worker",
        lambda paths, sent: (events.append("result"), from_worker(paths, sent))[1],
    )
    files = sorted(tmp_path.iterdir())
    batches = list(_loader._file_batches(files, _loader._Reading()))
    if parallel[0] == 0:
        pytest.skip("one CPU: files are parsed in this process")
    assert events[0] == "build" and events.count("build") == 1 and "result" in events
    assert _loader.K8sPodTemplate.__pydantic_complete__
    assert len(batches) == len(files)


def test_tasks_are_runs_of_files_in_order() -> None:
    """Runs of about the target size, in order; the first run of each parser and the
    runs of the last parsers x target bytes a quarter of it (sooner first results, a
    shorter tail after the parsers finish)."""
    from attackmap.model import _loader

    files = [Path(f"f{i}") for i in range(400)]
    sizes = [25_000] * 200 + [1_000] * 200
    tasks = _loader._tasks(files, sizes, 2)
    assert [f for task in tasks for f in task] == files
    target = min(_loader.TASK_BYTES, sum(sizes) // 16)
    size = dict(zip(files, sizes, strict=True))
    totals = [sum(size[f] for f in task) for task in tasks]
    assert all(sum(size[f] for f in task[:-1]) < target for task in tasks)
    assert totals[0] < target and totals[1] < target and totals[2] >= target  # first runs
    tail = sum(sizes) - 2 * target  # the last 2 x target bytes are cut small
    done, small = 0, 0
    for total in totals[:-1]:
        done += total
        assert total >= (target // 4 if done > tail or small < 2 else target)
        small += total < target
    assert totals[-2] < target  # the tail is cut small too
    assert len(tasks) >= 16  # at least 8 per parser
    assert _loader._tasks(files[:3], [10, 10, 10], 4) == [[files[0]], [files[1]], [files[2]]]


def test_trusted_models_share_their_fields_set_safely() -> None:
    """Equal field-name sets are one shared set (memory), and nothing can change it through
    one instance: the models are frozen and ``model_copy`` copies the set first."""
    a = trusted(Port, container_port=80, name="http")
    b = trusted(Port, container_port=81, name="grpc")
    assert a.model_fields_set is b.model_fields_set
    assert a.model_fields_set == Port(container_port=80, name="http").model_fields_set
    c = a.model_copy(update={"protocol": "UDP"})
    assert c.model_fields_set == {"container_port", "name", "protocol"}
    assert a.model_fields_set == b.model_fields_set == {"container_port", "name"}
    d = replace(a, protocol="UDP")
    assert d.model_fields_set == {"container_port", "name", "protocol"}
    assert a.model_fields_set == {"container_port", "name"}
    assert replace(a, name="x").model_fields_set is a.model_fields_set
    with pytest.raises(ValidationError):
        a.name = "y"  # type: ignore[misc]  # frozen: the shared set is never added to
    assert b.model_fields_set == {"container_port", "name"}


class _Mutable(BaseModel):
    a: int = 0
    b: int = 0


def test_trusted_mutable_models_never_share_their_fields_set() -> None:
    """Assigning to a mutable model adds to its own fields set: no other instance built
    with the same names may see that (the first instance once shared the cached set)."""
    first = trusted(_Mutable, a=1)
    second = trusted(_Mutable, a=2)
    first.b = 5
    assert first.model_fields_set == {"a", "b"}
    assert second.model_fields_set == {"a"}
    assert trusted(_Mutable, a=3).model_fields_set == {"a"}


def test_shared_gives_one_instance_per_field_values(monkeypatch: pytest.MonkeyPatch) -> None:
    """Equal leaves are one (frozen) object, equal to what trusted() builds; other values
    or another class give another; the cache is emptied when full, never grows past it."""
    monkeypatch.setattr(_refs, "_SHARED", {})
    monkeypatch.setattr(_refs, "SHARED_MAX", 3)
    a = shared(Port, container_port=8000, name="http", protocol="TCP")
    b = shared(Port, container_port=8000, name="http", protocol="TCP")
    assert a is b and a == trusted(Port, container_port=8000, name="http", protocol="TCP")
    assert a == Port(container_port=8000, name="http", protocol="TCP")
    c = shared(Port, container_port=8000, name="grpc", protocol="TCP")
    assert c is not a and c.name == "grpc"
    with pytest.raises(ValidationError):  # frozen: sharing cannot leak a change
        a.name = "other"  # type: ignore[misc]
    shared(Port, container_port=1, protocol="TCP")
    assert len(_refs._SHARED) == 3
    d = shared(Port, container_port=2, protocol="TCP")  # full: emptied, then stored
    assert len(_refs._SHARED) == 1 and d.container_port == 2
    assert shared(Port, container_port=8000, name="http", protocol="TCP") is not a  # rebuilt


def test_workloads_share_equal_leaves() -> None:
    """Two workloads with the same mounts, env and ports hold the same leaf objects (one
    object in memory, not one per workload); their own fields stay their own."""
    doc = """
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}}}
spec:
  template:
    spec:
      containers:
      - name: main
        image: nvcr.io/nim/x:{tag}
        ports: [{{containerPort: 8000}}]
        env: [{{name: NGC_API_KEY, valueFrom: {{secretKeyRef: {{name: ngc, key: k}}}}}}]
        volumeMounts: [{{name: dshm, mountPath: /dev/shm}}]
      volumes: [{{name: dshm, emptyDir: {{medium: Memory}}}}]
"""
    inv = load(doc.format(name="a", tag="1") + "---\n" + doc.format(name="b", tag="2"))
    (ca,), (cb,) = (w.pod.containers for w in inv.workloads)
    assert ca.ports[0] is cb.ports[0] and ca.env[0] is cb.env[0]
    assert ca.volume_mounts[0] is cb.volume_mounts[0]
    assert inv.workloads[0].pod.volumes[0] is inv.workloads[1].pod.volumes[0]
    assert ca.image is not None and cb.image is not None and ca.image.tag != cb.image.tag


def test_object_refs_of_strings_are_trusted_others_validated() -> None:
    """Extractors build refs without re-validation only from strings; anything else still
    meets ObjectRef's validation (an extractor's malformed object, never a wrong ref)."""
    from attackmap.model._kinds import object_ref as _ref

    assert _ref("LeaderWorkerSet", "ns", "a", "leader") == ObjectRef(
        kind="LeaderWorkerSet", namespace="ns", name="a", component="leader"
    )
    assert str(_ref("Namespace", None, "n")) == "Namespace/n"
    for bad in ((5, "ns", "a", None), ("Pod", 5, "a", None), ("Pod", "ns", ["a"], None)):
        with pytest.raises(ValidationError):
            _ref(*bad)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        _ref("Pod", "ns", "a", 3)  # type: ignore[arg-type]


def test_load_refuses_arguments_of_the_wrong_type() -> None:
    """A namespace that is not a string, a source that is none of the accepted kinds: a
    TypeError saying what is accepted -- never a ref with a bytes namespace (which made a
    ServiceAccount of that namespace look missing and its token mounted)."""
    sa = "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: sa}\n"
    with pytest.raises(TypeError, match="namespace must be a string or None, got bytes"):
        load(sa, namespace=b"team")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="namespace must be a string or None, got int"):
        load(sa, namespace=5)  # type: ignore[arg-type]
    for bad in (3.5, b"apiVersion: v1", None):
        with pytest.raises(TypeError, match=r"a source is a path, '-' .*; got"):
            load(bad)  # type: ignore[arg-type]


def test_string_subclasses_become_strings_in_refs() -> None:
    """Values of str subclasses (numpy.str_, enums) in mappings or the namespace argument
    end up as plain strings in refs, as pydantic's validation makes them."""

    class S(str):
        pass

    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": S("p")},
        "spec": {"serviceAccountName": "sa", "containers": [{"name": "c", "image": "x"}]},
    }
    sa = {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": S("sa")},
        "automountServiceAccountToken": False,
    }
    inv = load(pod, sa, namespace=S("team"))
    (w,) = inv.workloads
    assert type(w.ref.name) is str and type(w.ref.namespace) is str
    ref = inv.service_accounts[0].ref
    assert type(ref.name) is str and type(ref.namespace) is str and ref.namespace == "team"
    assert w.service_account.exists and w.service_account.automount is False


def test_read_and_load_is_read_documents_then_load(tmp_path: Path, parallel: list[int]) -> None:
    """One pass (objects built while the workers parse) gives the documents and the
    inventory of the two passes ``analyze`` made before."""
    from attackmap.model._loader import read_and_load

    _many_files(tmp_path)
    documents, inventory = read_and_load(tmp_path, namespace="other")
    assert parallel and (parallel[0] >= 1 or (os.cpu_count() or 1) < 2)
    two_passes = read_documents(tmp_path)
    assert documents == two_passes
    assert inventory == load(*two_passes, namespace="other")
    assert gc.isenabled()


def test_an_empty_string_is_no_source_and_text_is_not_named_as_a_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Path("") is the working directory: an empty variable passed as the source read it all
    from attackmap.model._loader import read_and_load

    monkeypatch.chdir(tmp_path)
    (tmp_path / "pod.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c}]}\n",
        encoding="utf-8",
    )
    for source in ("", "  "):
        with pytest.raises(
            InputError, match="an empty or blank string is neither a path nor YAML text"
        ):
            read_and_load(source)
    _documents, inventory = read_and_load("pod.yaml")  # (a relative path still reads)
    assert [w.ref.name for w in inventory.workloads] == ["p"]
    with pytest.raises(InputError) as text:
        read_and_load("---\n# nothing\n")
    assert text.value.summary() == "<text>: no Kubernetes documents found"


def test_read_and_load_refuses_an_empty_input_after_the_reading_errors(tmp_path: Path) -> None:
    from attackmap.model._loader import read_and_load

    (tmp_path / "empty.yaml").write_text("# nothing\n---\n", encoding="utf-8")
    with pytest.raises(InputError, match="no Kubernetes documents found"):
        read_and_load(tmp_path)
    (tmp_path / "zz-bad.yaml").write_text("a: [unclosed\n", encoding="utf-8")
    with pytest.raises(InputError) as reading:
        read_and_load(tmp_path)
    assert reading.value.path is not None and reading.value.path.endswith("zz-bad.yaml")
    (tmp_path / "zz-bad.yaml").write_text(  # a collecting error comes after the check
        "apiVersion: v1\nkind: Pod\nmetadata: {name: broken}\nspec: {containers: 3}\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError, match="containers"):
        read_and_load(tmp_path)
    # a document that is no object, then a later file's YAML error: the reading error first
    (tmp_path / "aa-list.yaml").write_text("- a\n", encoding="utf-8")
    (tmp_path / "zz-bad.yaml").write_text("kind: [unclosed\n", encoding="utf-8")
    with pytest.raises(InputError) as first:
        read_and_load(tmp_path)
    assert first.value.path is not None and first.value.path.endswith("zz-bad.yaml")
    assert str(first.value) == _two_passes_error(tmp_path)
    (tmp_path / "zz-bad.yaml").write_text(  # then the document before the collecting error
        "apiVersion: v1\nkind: Pod\nmetadata: {name: broken}\nspec: {containers: 3}\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError) as shape:
        read_and_load(tmp_path)
    assert shape.value.path is not None and shape.value.path.endswith("aa-list.yaml")
    assert str(shape.value) == _two_passes_error(tmp_path)


def _two_passes_error(path: Path) -> str:
    """The error ``analyze`` raised before ``read_and_load``: read, check, then load."""
    from attackmap.model._loader import require_documents

    with pytest.raises(InputError) as raised:
        documents = read_documents(path)
        require_documents(documents, [path])
        load(*documents)
    return str(raised.value)


def test_read_and_load_warns_of_an_unrendered_chart_only_beside_documents(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A chart that cannot be rendered is skipped with a warning when something else is
    analysed; alone, the input is refused with its reason, and not also warned about."""
    from attackmap.model._loader import read_and_load

    chart = tmp_path / "chart"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: demo\nversion: 0.1.0\n")
    (chart / "templates" / "pod.yaml").write_text("apiVersion: v1\nkind: Pod\n")
    monkeypatch.setenv("PATH", str(tmp_path / "no-bin"))
    with caplog.at_level("WARNING", logger="attackmap"), pytest.raises(InputError) as alone:
        read_and_load(tmp_path)
    assert "helm is not on PATH" in str(alone.value)
    assert not [r for r in caplog.records if "skipped" in r.getMessage()]
    (tmp_path / "app.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: app}\nspec: {containers: [{name: c, image: i}]}\n"
    )
    with caplog.at_level("WARNING", logger="attackmap"):
        documents, inventory = read_and_load(tmp_path)
    assert [str(w.ref) for w in inventory.workloads] == ["Pod/default/app"]
    assert [r.getMessage() for r in caplog.records if "skipped" in r.getMessage()] == [
        f"{chart}: skipped: {inventory.skipped[0].reason}"
    ]
    assert len(documents) == 2
