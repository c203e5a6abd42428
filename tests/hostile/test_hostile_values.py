"""Values read as the API server reads them, and errors that never echo a secret value.

* Error messages name the file, line and field, never the value: a Secret's data with a
  wrong tag (``!!int LEAKME123``) said ``malformed number 'LEAKME123'``.
* Numbers as Kubernetes' YAML reader (go-yaml) reads them: ``1:00`` is a string, not the
  base-60 number 60 of YAML 1.1; ``1e3`` is a number; a JSON text's ``NaN`` and ``1e999``
  are refused as what they are, not as "got a string".
* ``hostPath.path: ""`` is refused (the API server does); names and namespaces the API
  server would refuse are reported as warnings, the object still analysed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from attackmap.cli import main
from attackmap.errors import InputError
from attackmap.model import load
from attackmap.model._kinds import name_problem

SECRET = "apiVersion: v1\nkind: Secret\nmetadata: {{name: s, namespace: nim}}\n{field}: {{NGC_API_KEY: {value}}}\n"
POD_ENV = """\
apiVersion: v1
kind: Pod
metadata: {{name: p, namespace: nim}}
spec:
  containers:
  - name: c
    image: nginx
    env:
    - {{name: NGC_API_KEY, value: {value}}}
    command: ["sh", "-c", {value}]
"""


@pytest.mark.parametrize(
    "value",
    [
        "!!int LEAKME123",
        "!!bool LEAKME123",
        "!!float LEAKME123",
        "!LEAKME123 x",
        "!<tag:LEAKME123> x",
        "!!int 1234567890123456789012345678901234567890",  # (the digits stand for the key)
    ],
)
@pytest.mark.parametrize("field", ["data", "stringData"])
def test_secret_data_errors_name_the_field_never_the_value(
    value: str, field: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = tmp_path / "secret.yaml"
    f.write_text(SECRET.format(field=field, value=value))
    with pytest.raises(InputError) as info:
        load(f)
    assert (info.value.line, info.value.field) == (4, f"{field}.NGC_API_KEY")
    assert main(["inventory", str(f)]) == 2
    _, err = capsys.readouterr()
    assert f"{f}:4: {field}.NGC_API_KEY: " in err
    for leak in ("LEAKME", "1234567890"):
        assert leak not in err
        assert leak not in str(info.value)


@pytest.mark.parametrize("value", ["!!int LEAKME123", "!!float LEAKME123", "!LEAKME123 x"])
def test_env_value_and_command_errors_never_echo_the_value(
    value: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = tmp_path / "pod.yaml"
    f.write_text(POD_ENV.format(value=value))
    assert main(["analyze", str(f)]) == 2
    _, err = capsys.readouterr()
    assert "spec.containers[0].env[0].value" in err
    assert "LEAKME" not in err


def test_standard_tags_are_named_local_tags_never(tmp_path: Path) -> None:
    # a standard tag tells the user what to fix; a local tag is free text that may be a
    # secret written where the value belongs (`password: !S3cret`), in any field
    f = tmp_path / "pod.yaml"
    f.write_text(POD_ENV.format(value='"x"').replace("image: nginx", "image: !!set nginx"))
    with pytest.raises(InputError, match=r"unsupported YAML tag 'tag:yaml\.org,2002:set'"):
        load(f)
    f.write_text(POD_ENV.format(value='"x"').replace("image: nginx", "image: !LEAKME nginx"))
    with pytest.raises(InputError, match=r"unsupported YAML tag \(a local tag\)") as info:
        load(f)
    assert "LEAKME" not in str(info.value)


def test_secret_data_inside_lists_is_never_echoed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # a Secret inside a List (or a typed SecretList) was checked only at the top level
    f = tmp_path / "list.yaml"
    f.write_text(
        "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: SecretList\n"
        "  items:\n  - metadata: {name: s, namespace: nim}\n"
        "    stringData: {password: !!int LEAKME123}\n"
    )
    assert main(["inventory", str(f)]) == 2
    err = capsys.readouterr().err
    assert "items[0].items[0].stringData.password" in err and "LEAKME" not in err


def _pod_with(field: str) -> str:
    return (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: nim}\nspec:\n"
        f"  securityContext: {{{field}}}\n  containers: [{{name: c, image: nginx}}]\n"
    )


def test_base_60_numbers_are_strings_as_the_api_server_reads_them() -> None:
    # YAML 1.1 reads 1:00 as 60; Kubernetes' reader keeps the string, and refuses it
    with pytest.raises(InputError, match="expected an integer, got a string") as info:
        load(_pod_with("runAsUser: 1:00"))
    assert (info.value.line, info.value.field) == (5, "spec.securityContext.runAsUser")
    inv = load(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {time: 1:30, t2: 1:30.5}\n"
    )
    assert inv.configmaps[0].keys == ("t2", "time")


def test_exponent_numbers_are_numbers_as_the_api_server_reads_them() -> None:
    # go-yaml reads 1e3 as a number (YAML 1.1 needs a dot and a sign): read as 1000.0 is
    with pytest.raises(InputError, match="expected an integer, got a number"):
        load(_pod_with("runAsUser: 1e3"))
    with pytest.raises(InputError, match="expected an integer, got a number"):
        load(_pod_with("runAsUser: 1000.0"))
    with pytest.raises(InputError, match="expected a string, got a number"):
        load(_pod_with("seLinuxOptions: {level: 1.5E+3}"))
    # one too large for a double stays a string, as go-yaml leaves it
    with pytest.raises(InputError, match="expected an integer, got a string"):
        load(_pod_with("runAsUser: 1e999"))


@pytest.mark.parametrize(
    ("text", "value"),
    [("_1e5", 100000.0), ("1_0e2", 1000.0), ("1e_5", 100000.0), ("+.5e1", 5.0), ("-_1", -1)],
)
def test_underscores_in_numbers_read_as_go_yaml_reads_them(text: str, value: object) -> None:
    # go-yaml drops "_" before it parses a number; `_1e5` made float() raise (a traceback)
    (cm,) = load(
        f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c}}\ndata: {{a: {text}}}\n"
    ).configmaps
    assert cm.keys == ("a",)
    from attackmap.model._yaml import parse_text

    (doc,) = parse_text(f"a: {text}\n", "x.yaml")
    assert doc.data["a"] == value and type(doc.data["a"]) is type(value)


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity", "1e999", "-1e999"])
def test_json_non_finite_numbers_are_refused_as_numbers(
    token: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p"},
        "spec": {"securityContext": {"runAsUser": 0}, "containers": [{"name": "c"}]},
    }
    text = json.dumps(pod, indent=2).replace('"runAsUser": 0', f'"runAsUser": {token}')
    f = tmp_path / "pod.json"
    f.write_text(text)
    with pytest.raises(InputError, match="not a finite number") as info:
        load(f)
    assert info.value.field == "spec.securityContext.runAsUser"
    assert info.value.line == text.splitlines().index(f'      "runAsUser": {token}') + 1
    assert main(["inventory", str(f)]) == 2
    assert "got a string" not in capsys.readouterr().err


def test_json_numbers_and_strings_keep_their_types() -> None:
    text = json.dumps(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "c", "labels": {"a": "NaN"}},
            "data": {"x": "1e999", "y": "Infinity"},
        }
    )
    (cm,) = load(text).configmaps
    assert cm.labels == {"a": "NaN"}  # quoted: strings


def test_an_empty_host_path_is_refused_at_the_field() -> None:
    text = (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n"
        "  containers: [{name: c, image: nginx}]\n"
        '  volumes:\n  - name: host\n    hostPath: {path: ""}\n'
    )
    with pytest.raises(InputError, match="must not be empty") as info:
        load(text)
    assert (info.value.line, info.value.field) == (8, "spec.volumes[0].hostPath.path")


@pytest.mark.parametrize(
    ("kind", "name", "valid"),
    [
        (None, "nim", True),
        (None, "FILLED BY THE OPERATOR", False),
        (None, "a" * 64, False),
        (None, "team.a", False),  # a namespace is a label: no dots
        ("Deployment", "llm.v1", True),
        ("Deployment", "LLM", False),
        ("Deployment", "-llm", False),
        ("Service", "1llm", False),  # DNS-1035: starts with a letter
        ("Service", "llm-1", True),
        ("Namespace", "gpu-operator", True),
        ("Namespace", "gpu_operator", False),
        ("ClusterRole", "system:controller:job-controller", True),
        ("ClusterRoleBinding", "a/b", False),
        ("Role", "..", False),
    ],
)
def test_name_rules_follow_the_api_server(kind: str | None, name: str, valid: bool) -> None:
    assert (name_problem(kind, name) is None) is valid


def test_invalid_names_and_namespaces_are_warnings_and_the_object_is_still_analysed() -> None:
    text = (
        "apiVersion: apps/v1\nkind: DaemonSet\n"
        "metadata: {name: nvidia-driver-daemonset, namespace: FILLED BY THE OPERATOR}\n"
        "spec:\n  selector: {matchLabels: {app: d}}\n  template:\n"
        "    metadata: {labels: {app: d}}\n"
        "    spec: {containers: [{name: c, image: x, securityContext: {privileged: true}}]}\n"
        "---\napiVersion: v1\nkind: Service\nmetadata: {name: My_Service, namespace: nim}\n"
        "spec: {selector: {app: d}, ports: [{port: 80}]}\n"
    )
    inv = load(text)
    assert len(inv.workloads) == 1
    messages = [str(w) for w in inv.warnings]
    assert any(
        "<text>:1: metadata.namespace 'FILLED BY THE OPERATOR' is not a DNS-1123 label" in m
        and "the API server would refuse this object" in m
        for m in messages
    ), messages
    assert any("metadata.name 'My_Service' is not a DNS-1035 label" in m for m in messages)
    assert not any("nvidia-driver-daemonset'" in m for m in messages)


SEEDS = sorted((Path(__file__).parent / "seeds").glob("*.*[ln]"))  # .yaml and .json


def test_every_seed_is_accepted_or_refused_without_echoing_a_value(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert len(SEEDS) >= 6
    refused = 0
    for seed in SEEDS:
        try:
            load(seed)
        except InputError as e:
            refused += 1
            assert e.path == str(seed) and e.line is not None, e
            assert "LEAKME" not in str(e)
        code = main(["analyze", str(seed)])
        out, err = capsys.readouterr()
        assert code in (0, 2) and "Traceback" not in err and "LEAKME" not in out + err
    assert refused >= 3  # the secret, JSON and number seeds


def test_y_and_n_are_booleans_as_the_api_server_reads_them() -> None:
    # go-yaml (YAML 1.1 as Kubernetes reads it) takes y/Y/n/N as booleans: `privileged: y`
    # is a privileged container to the API server; attackmap refused it as a string
    text = (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  hostPID: Y\n"
        "  containers: [{name: c, image: x, securityContext: {privileged: y}}]\n"
    )
    (w,) = load(text).workloads
    assert w.pod.host_pid is True and w.pod.containers[0].privileged is True
    from attackmap.model._yaml import parse_text

    (doc,) = parse_text("a: n\nb: 'y'\nc: yes\n", "x.yaml")
    assert doc.data == {"a": False, "b": "y", "c": True}
