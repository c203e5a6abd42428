"""Which environment variable names carry a credential (``is_credential_name``: the
``credential_like`` flag, the fact ``env:credential``) and whose literal values are redacted
from the kept pod template (``is_redacted_name``: those and the names of their paths)."""

from __future__ import annotations

import json

import pytest

from attackmap.model import is_credential_name, load
from attackmap.model._workload import is_redacted_name

CREDENTIALS = (
    "NGC_API_KEY",
    "HF_TOKEN",
    "HUGGING_FACE_HUB_TOKEN",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "OPENAI_API_KEY",
    "DB_PASSWORD",
    "POSTGRES_PASSWD",
    "REDIS_PASS",
    "GITHUB_TOKEN",
    "SLACK_WEBHOOK_SECRET",
    "PRIVATE_KEY",
    "TOKEN",
    "ngc_api_key",
    "AZURE_CLIENT_SECRET",
    "GOOGLE_APPLICATION_CREDENTIALS",  # a path by convention, but the name does not say so
    "REGISTRY_AUTH",
    "TLS_KEY",
)
PATHS = (
    "NGC_API_KEY_FILE",
    "NGC_API_KEY_PATH",
    "HF_TOKEN_PATH",
    "HF_TOKEN_FILE",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "POSTGRES_PASSWORD_FILE",
    "SSH_PRIVATE_KEY_PATH",
    "TLS_KEY_FILE",
    "SECRET_DIR",
    "SECRETS_DIRECTORY",
    "TOKEN_FILENAME",
    "API_KEY_FILE_PATH",
    "VAULT_TOKEN_LOCATION",
    "password_file",
)
NEITHER = ("NIM_CACHE_PATH", "MODE", "PATH", "NIM_MODEL_NAME", "AWS_ACCESS_KEY_ID")


@pytest.mark.parametrize("name", CREDENTIALS)
def test_credential_names(name: str) -> None:
    assert is_credential_name(name)


@pytest.mark.parametrize("name", PATHS + NEITHER)
def test_names_holding_a_path_or_nothing_secret(name: str) -> None:
    assert not is_credential_name(name)


POD = """
apiVersion: v1
kind: Pod
metadata: {name: p, namespace: nim}
spec:
  containers:
    - name: c
      image: x
      env:
        - {name: NGC_API_KEY, value: nvapi-SECRET-VALUE}
        - {name: NGC_API_KEY_FILE, value: /secrets/ngc/key}
        - {name: HF_TOKEN_PATH, value: /secrets/hf/token}
"""


def test_path_names_are_no_credentials_but_their_values_stay_redacted() -> None:
    (w,) = load(POD).workloads
    (c,) = w.pod.containers
    assert {e.name for e in c.env if e.credential_like} == {"NGC_API_KEY"}
    # redaction errs the other way: a key written under a path name must not leak
    template = json.dumps(w.pod_template)
    for value in ("nvapi-SECRET-VALUE", "/secrets/ngc/key", "/secrets/hf/token"):
        assert value not in template
    assert template.count("<redacted>") == 3


# names of a path without a credential word (TOKEN, KEY, SECRET...) were never redacted
UNMARKED_PATHS = ("AWS_SHARED_CREDENTIALS_FILE", "TLS_KEY_FILE")


@pytest.mark.parametrize("name", CREDENTIALS + tuple(n for n in PATHS if n not in UNMARKED_PATHS))
def test_redacted_names_cover_credentials_and_their_paths(name: str) -> None:
    assert is_redacted_name(name)


@pytest.mark.parametrize("name", NEITHER + UNMARKED_PATHS)
def test_other_values_are_not_redacted(name: str) -> None:
    assert not is_redacted_name(name)


@pytest.mark.parametrize(
    ("name", "value", "credential"),
    [
        ("pwd", "Hpwd", True),  # a password under the short name
        ("PWD", "s3cr3t", True),
        ("PWD", "/workspace", False),  # the shell's working directory: always a path
        ("pwd", "/home/app", False),
        ("PWD", "", False),
        ("DB_PWD", "/not/a/path/but/a/credential/name", True),
    ],
)
def test_pwd_is_a_password_unless_it_is_a_path(name: str, value: str, credential: bool) -> None:
    doc = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "namespace": "nim"},
        "spec": {
            "containers": [{"name": "c", "image": "x", "env": [{"name": name, "value": value}]}]
        },
    }
    (w,) = load(doc).workloads
    (env,) = w.pod.containers[0].env
    assert env.credential_like is credential
    # kept or not, the value never reaches the kept template
    assert value == "" or value not in json.dumps(w.pod_template)
