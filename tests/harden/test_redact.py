"""attackmap.harden._redact: secret literals found in the YAML structure and replaced in
place, line for line, whatever their style."""

from __future__ import annotations

import base64
import textwrap
from pathlib import Path

from attackmap.harden import harden
from attackmap.harden._redact import REDACTED, redact, scrub, secret_values

LEAK_HARDEN = Path(__file__).resolve().parents[1] / "guarantees" / "secret-leak-harden.yaml"


def _yaml(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def _same_shape(before: str, after: str) -> None:
    """Line breaks kept: a diff of redacted texts has the hunks of the texts' diff."""
    assert after.count("\n") == before.count("\n")


def test_env_values_in_every_style_are_redacted_in_place() -> None:
    text = _yaml(
        """
        env:
          - {name: NGC_API_KEY, value: nvapi-secret-1}
          - name: HF_TOKEN
            value: "hf-secret-2"
          - name: DB_PASSWORD
            value: |
              secret-3-line-1
              secret-3-line-2
          - name: APP_SECRET
            value: >-
              secret-4
              folded
          - {name: LOG_LEVEL, value: debug}
          - {name: pwd, value: secret-5}
          - name: API_KEY
            valueFrom: {secretKeyRef: {name: keys, key: api}}
        """
    )
    out = redact(text)
    _same_shape(text, out)
    assert "secret" not in out.replace("APP_SECRET", "").replace("secretKeyRef", "")
    assert "- {name: NGC_API_KEY, value: <redacted>}" in out
    assert "    value: <redacted>\n" in out  # the quoted one, quotes and all
    assert "    value: <redacted>\n      <redacted>\n      <redacted>\n" in out  # block scalar
    assert "{name: LOG_LEVEL, value: debug}" in out  # not a credential name
    assert "- {name: pwd, value: <redacted>}" in out  # a password unless a path: hidden
    assert "valueFrom: {secretKeyRef: {name: keys, key: api}}" in out  # a reference, kept


def test_secret_data_string_data_and_annotations_are_redacted() -> None:
    encoded = base64.b64encode(b"the-password").decode()
    text = _yaml(
        f"""
        apiVersion: v1
        kind: Secret
        metadata:
          name: keys
          annotations: {{note: plain-secret-note}}
        data:
          password: {encoded}
        stringData:
          token: plain-secret-token
          config: |
            user: admin
            pass: hunter2
        """
    )
    out = redact(text)
    _same_shape(text, out)
    for secret in (encoded, "plain-secret-note", "plain-secret-token", "admin", "hunter2"):
        assert secret not in out
    assert "name: keys" in out and "password: <redacted>" in out  # keys and names kept


def test_credentials_inside_commands_and_args_are_redacted() -> None:
    text = _yaml(
        """
        command: ["sh", "-c", "export TOKEN=tok-1; login --password=pw-2 --hf-token tok-3 && run"]
        args: ["--api-key", "key-4", "--model", "llama", "--port=8000"]
        lifecycle:
          postStart:
            exec:
              command:
                - |
                  export NGC_API_KEY='key 5'
                  DB_PASSWORD="pw-6" exec serve --token=$TOKEN
        """
    )
    out = redact(text)
    _same_shape(text, out)
    for secret in ("tok-1", "pw-2", "tok-3", "key-4", "key 5", "pw-6"):
        assert secret not in out, secret
    # the rest of each command stays readable; references to variables are no secret
    assert "export TOKEN=<redacted>; login --password=<redacted>" in out
    assert '"--model", "llama", "--port=8000"' in out
    assert "--token=$TOKEN" in out


def test_credential_shaped_values_and_private_keys_are_redacted_anywhere() -> None:
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4eHh4eCJ9.c2lnbmF0dXJlLXh4"
    text = _yaml(
        f"""
        metadata:
          annotations:
            note: "built with nvapi-abcdefgh12345678 and {jwt}"
        env:
          - name: MODEL_CERT
            value: |
              -----BEGIN RSA PRIVATE KEY-----
              MIIEpAIBAAKCAQEA
              -----END RSA PRIVATE KEY-----
          - name: OPENAI_BASE
            value: sk-proj0123456789abcdefghij
        """
    )
    out = redact(text)
    _same_shape(text, out)
    for secret in ("nvapi-abcdefgh12345678", jwt, "MIIEpAIBAAKCAQEA", "sk-proj0123456789"):
        assert secret not in out
    assert 'note: "built with <redacted> and <redacted>"' in out


def test_aliases_merges_and_last_applied_copies_are_redacted() -> None:
    text = _yaml(
        """
        base: &base {name: DB_PASSWORD, value: merged-secret}
        shared: &value anchored-secret
        metadata:
          annotations:
            kubectl.kubernetes.io/last-applied-configuration: '{"env":[{"value":"copy-secret"}]}'
        env:
          - <<: *base
          - {name: REDIS_PASSWORD, value: *value}
        """
    )
    out = redact(text)
    _same_shape(text, out)
    for secret in ("merged-secret", "anchored-secret", "copy-secret"):
        assert secret not in out


def test_kubernetes_fields_that_only_sound_secret_are_kept() -> None:
    text = _yaml(
        """
        automountServiceAccountToken: false
        volumes:
          - name: keys
            secret: {secretName: ngc-api}
        containers:
          - name: nim
            securityContext: {privileged: true}
        """
    )
    assert redact(text) == text


def test_text_that_is_not_yaml_is_redacted_whole() -> None:
    text = "a: [unclosed\n  value: nvapi-but-broken\n"
    out = redact(text)
    _same_shape(text, out)
    assert out == f"{REDACTED}\n  {REDACTED}\n"


def test_escaped_or_folded_secrets_fall_back_to_the_whole_scalar() -> None:
    # written as \x41bc (a YAML escape), the value's secret "Abc" is nowhere in the text
    escaped = 'command: "sh -c \\"export TOKEN=\\x41bc\\" && run"\n'
    assert redact(escaped) == f"command: {REDACTED}\n"
    # a plain scalar folded over two lines: the value's "pass word" is not written as such
    folded = "args:\n  - run --password='pass\n    word' --port=1\n"
    assert redact(folded) == f"args:\n  - {REDACTED}\n    {REDACTED}\n"


def test_known_values_are_scrubbed_from_free_text_but_not_short_words() -> None:
    text = _yaml(
        """
        kind: Secret
        data: {key: bnZhcGktTEVBSzAwMDI=}
        stringData: {flag: "true", word: enabled, password: Tr0ub4dor}
        """
    )
    values = secret_values([text])
    assert {"bnZhcGktTEVBSzAwMDI=", "nvapi-LEAK0002", "Tr0ub4dor"} <= values
    assert not {"true", "enabled"} & values
    message = "need from audit: uses Tr0ub4dor and nvapi-LEAK0002; privileged: true, enabled"
    assert scrub(message, values) == (
        "need from audit: uses <redacted> and <redacted>; privileged: true, enabled"
    )
    # the same values are hidden wherever a diff shows them, beyond their own field
    assert redact("note: copied Tr0ub4dor\n", values) == "note: copied <redacted>\n"


def test_summary_and_diff_scrub_what_the_audit_or_notes_repeat() -> None:
    result = harden(LEAK_HARDEN, goals=["T1611"])
    hostile = result.model_copy(update={"notes": ("the audit log said LEAK0025 and LEAK0024",)})
    for text in (hostile.summary(), hostile.to_diff() + hostile.summary()):
        assert "LEAK" not in text
    assert "LEAK0023" in hostile.to_yaml()  # the manifests keep the user's values


def test_what_the_red_team_review_found_is_redacted() -> None:
    # a SecretList (items without kind) inside a List, a two-level merge, a shell default
    # value and a flag value after a line continuation were shown in harden diffs
    text = _yaml(
        """
        kind: List
        items:
          - kind: SecretList
            items:
              - metadata: {name: s}
                stringData: {API_TOKEN: LEAKA001xyz}
          - spec:
              containers:
                - env: [&b0 {name: NGC_API_KEY, value: other-value}]
                - env: [&b1 {<<: *b0}]
                - env: [{<<: *b1, value: LEAKB002xyz}]
                - command: ["sh", "-c", "export HF_TOKEN=${HF_TOKEN:-LEAKC003xyz}; serve"]
                - args:
                    - |
                      huggingface-cli login --token \\
                        LEAKD005xyz
        """
    )
    out = redact(text)
    _same_shape(text, out)
    for secret in ("LEAKA001xyz", "LEAKB002xyz", "LEAKC003xyz", "LEAKD005xyz", "other-value"):
        assert secret not in out, secret
    assert "${HF_TOKEN:-" in out and "serve" in out
