"""The streaming reader: inputs (files, gz, rotated directories, stdin, streams), stage
de-duplication, bad lines, and that no Secret data is ever kept."""

from __future__ import annotations

import gzip
import io
import json
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from attackmap.audit import AuditEvent, AuditReader, read, rotation_order
from attackmap.errors import AuditError

DATA = Path(__file__).parent / "data"
CLUSTER = DATA / "cluster.jsonl"


def cluster_lines() -> list[bytes]:
    return CLUSTER.read_bytes().splitlines(keepends=True)


def test_sample_events_keep_the_fields_used(shared_dir: Path) -> None:
    reader = read(shared_dir / "reference" / "audit-sample.jsonl")
    events = list(reader)
    assert [e.source.line for e in events] == [1, 2, 3]
    first, second, third = events
    assert first.verb == "create" and first.object_ref is not None
    assert (first.object_ref.api_group, first.object_ref.resource) == ("apps", "deployments")
    assert first.principal == "system:serviceaccount:nim-operator:nim-operator"
    assert second.pod is not None and second.pod.owner is not None
    assert second.pod.owner.kind == "ReplicaSet"
    assert third.code == 403 and third.response_status is not None
    assert "violates PodSecurity" in third.response_status.message
    assert third.pod is not None and third.pod.privileged_containers == ("debug",)
    assert reader.stats.events == 3 and reader.stats.bad_lines == 0


def test_stages_are_deduplicated_to_one_event_per_request() -> None:
    reader = read(CLUSTER)
    events = list(reader)
    ids = [e.audit_id for e in events]
    assert len(ids) == len(set(ids))
    by_id = {e.audit_id: e for e in events}
    # lines 1-2: RequestReceived then ResponseComplete; lines 3-4: ResponseStarted then Complete
    assert by_id["11111111-2222-4333-8444-555555555555"].source.line == 2
    assert by_id["21111111-2222-4333-8444-555555555555"].source.line == 4
    assert reader.stats.skipped_stages == {"RequestReceived": 1, "ResponseStarted": 1}
    assert reader.stats.lines == len(cluster_lines())
    assert reader.stats.events == len(cluster_lines()) - 2


def test_orphan_stage_is_kept_when_nothing_better_arrives() -> None:
    line = json.loads(cluster_lines()[0])  # a RequestReceived whose Complete we drop
    stream = io.BytesIO(json.dumps(line).encode() + b"\n")
    events = list(read(stream))
    assert [e.stage for e in events] == ["RequestReceived"]


def test_orphan_window_bounds_waiting_and_never_duplicates() -> None:
    started, complete = cluster_lines()[2:4]
    filler = [
        json.dumps(dict(json.loads(complete), auditID=f"f-{i}")).encode() + b"\n" for i in range(5)
    ]
    reader = read(io.BytesIO(started + b"".join(filler) + complete), stage_window=3)
    events = list(reader)
    watch = [e for e in events if e.audit_id == "21111111-2222-4333-8444-555555555555"]
    assert [e.stage for e in watch] == ["ResponseStarted"]  # emitted when the window passed
    assert reader.stats.skipped_stages == {"ResponseComplete": 1}


def test_secret_data_is_never_kept() -> None:
    text = CLUSTER.read_text()
    assert "bnZhcGktVEhJUy1NVVNULU5FVkVSLUxFQUs=" in text and "nvapi-THIS-MUST-NEVER-LEAK" in text
    dumped = json.dumps([e.model_dump(mode="json") for e in read(CLUSTER)])
    assert "bnZhcGktVEhJUy1NVVNULU5FVkVSLUxFQUs=" not in dumped
    assert "nvapi-THIS-MUST-NEVER-LEAK" not in dumped
    assert "NGC_API_KEY" not in dumped


def test_bad_lines_are_counted_with_locations(tmp_path: Path) -> None:
    good = cluster_lines()
    log = tmp_path / "audit.log"
    log.write_bytes(
        good[4]
        + b"\n"  # blank: not bad
        + good[5][:50]
        + b"\n"  # truncated JSON
        + b"garbage here\n"
        + b"\xff\xfe\x00binary\x80\n"
        + b"[1, 2, 3]\n"
        + b'{"apiVersion": "v1", "kind": "Pod"}\n'
        + b'{"kind": "Event", "verb": "get", "user": {"username": 5}}\n'
        + b"[" * 100_000
        + b"\n"
        + good[6].rstrip(b"\n")  # last line without a newline is fine
    )
    reader = read(log)
    events = list(reader)
    assert [e.source.line for e in events] == [1, 10]
    stats = reader.stats
    assert stats.lines == 10 and stats.events == 2 and stats.bad_lines == 7
    assert [b.line for b in stats.bad_locations] == [3, 4, 5, 6, 7, 8, 9]
    reasons = [b.reason for b in stats.bad_locations]
    assert reasons[0].startswith("not JSON") and reasons[1].startswith("not JSON")
    assert reasons[2].startswith(("not UTF-8", "not JSON"))
    assert reasons[3] == "not an audit event: a JSON list"
    assert "apiVersion 'v1'" in reasons[4]
    assert "user.username" in reasons[5]
    assert reasons[6] == "JSON nested too deeply"
    assert all(b.file == str(log) for b in stats.bad_locations)


def test_bad_locations_are_capped_but_counted(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    log.write_bytes(b"nope\n" * 50)
    reader = read(log, max_bad_locations=5)
    assert list(reader) == []
    assert reader.stats.bad_lines == 50 and len(reader.stats.bad_locations) == 5


def test_overlong_line_is_skipped_whole(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    log.write_bytes(b'{"x": "' + b"a" * 5000 + b'"}\n' + cluster_lines()[4])
    reader = read(log, max_line_bytes=1024)
    events = list(reader)
    assert [e.source.line for e in events] == [2]
    assert reader.stats.bad_locations[0].reason == "line longer than 1024 bytes"


def test_empty_file_and_empty_directory(tmp_path: Path) -> None:
    (tmp_path / "empty.log").write_bytes(b"")
    reader = read(tmp_path / "empty.log")
    assert list(reader) == [] and reader.stats.lines == 0 and reader.finished
    (tmp_path / "d").mkdir()
    assert list(read(tmp_path / "d")) == []


def test_gzip_is_detected_by_content_and_truncation_is_reported(tmp_path: Path) -> None:
    packed = gzip.compress(CLUSTER.read_bytes())
    (tmp_path / "audit.log").write_bytes(packed)  # no .gz suffix: sniffed
    assert len(list(read(tmp_path / "audit.log"))) == len(list(read(CLUSTER)))
    (tmp_path / "cut.gz").write_bytes(packed[: len(packed) // 2])
    reader = read(tmp_path / "cut.gz")
    events = list(reader)
    assert events  # what was readable is read
    assert reader.stats.bad_lines >= 1
    assert "gzip" in reader.stats.bad_locations[-1].reason


def test_directory_of_rotated_files_is_read_oldest_first(tmp_path: Path) -> None:
    lines = cluster_lines()
    (tmp_path / "audit.log").write_bytes(lines[4])
    (tmp_path / "audit.log.1").write_bytes(lines[5])
    (tmp_path / "audit.log.2.gz").write_bytes(gzip.compress(lines[6]))
    (tmp_path / ".hidden").write_bytes(b"not read\n")
    reader = read(tmp_path)
    events = list(reader)
    assert [Path(e.source.file).name for e in events] == [
        "audit.log.2.gz",
        "audit.log.1",
        "audit.log",
    ]
    assert [e.verb for e in events] == [json.loads(lines[i])["verb"] for i in (6, 5, 4)]
    assert reader.stats.bad_lines == 0


def test_rotation_order_kube_apiserver_and_logrotate() -> None:
    names = [
        "audit.log",
        "audit-2026-03-10T14-01-58.003.log.gz",
        "audit.log.1",
        "audit-2026-03-09T10-00-00.000.log",
        "audit.log.10.gz",
        "audit.log.2.gz",
    ]
    assert rotation_order(names) == [
        "audit-2026-03-09T10-00-00.000.log",
        "audit-2026-03-10T14-01-58.003.log.gz",
        "audit.log.10.gz",
        "audit.log.2.gz",
        "audit.log.1",
        "audit.log",
    ]


def test_streams_text_binary_and_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    data = CLUSTER.read_bytes()
    expected = [e.audit_id for e in read(CLUSTER)]
    assert [e.audit_id for e in read(io.BytesIO(data))] == expected
    assert [e.audit_id for e in read(io.StringIO(data.decode()))] == expected
    assert [e.audit_id for e in read(io.BytesIO(gzip.compress(data)))] == expected
    fake_stdin = io.TextIOWrapper(io.BytesIO(data))
    monkeypatch.setattr(sys, "stdin", fake_stdin)
    events = list(read("-"))
    assert [e.audit_id for e in events] == expected
    assert events[0].source.file == "-"


def test_several_sources_share_one_deduplication(tmp_path: Path) -> None:
    lines = cluster_lines()
    (tmp_path / "a.log").write_bytes(lines[0])  # RequestReceived ...
    (tmp_path / "b.log").write_bytes(lines[1])  # ... and its ResponseComplete in the next file
    events = list(read(tmp_path / "a.log", tmp_path / "b.log"))
    assert [(Path(e.source.file).name, e.stage) for e in events] == [("b.log", "ResponseComplete")]


def test_event_list_lines_yield_their_items() -> None:
    items = [json.loads(line) for line in cluster_lines()[4:7]]
    line = json.dumps({"kind": "EventList", "apiVersion": "audit.k8s.io/v1", "items": items})
    events = list(read(io.BytesIO(line.encode())))
    assert [e.audit_id for e in events] == [i["auditID"] for i in items]
    assert {e.source.line for e in events} == {1}


def test_unreadable_paths_raise_audit_error(tmp_path: Path) -> None:
    with pytest.raises(AuditError) as missing:
        AuditReader(tmp_path / "nope.log")
    assert missing.value.path == str(tmp_path / "nope.log")
    beneath_a_file = tmp_path / "file.log" / "audit.log"
    beneath_a_file.parent.write_bytes(b"")
    with pytest.raises(AuditError):
        read(beneath_a_file)
    with pytest.raises(AuditError):
        read(CLUSTER, tmp_path / "nope.log")  # checked before anything is read


def test_events_are_frozen() -> None:
    event = next(iter(read(CLUSTER)))
    with pytest.raises(ValueError):
        event.verb = "delete"  # type: ignore[misc]  # frozen model: the point of the test


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.binary(max_size=200), max_size=20))
def test_arbitrary_byte_lines_never_crash(lines: list[bytes]) -> None:
    good = cluster_lines()[4]
    data = b"\n".join(lines) + b"\n" + good
    assume(not data.startswith(b"\x1f\x8b"))  # that is a (corrupt) gzip stream: tested below
    reader = read(io.BytesIO(data))
    events = list(reader)
    assert all(isinstance(e, AuditEvent) for e in events)
    assert events and events[-1].audit_id == json.loads(good)["auditID"]
    stats = reader.stats
    assert stats.events == len(events)
    assert stats.bad_lines + stats.events <= stats.lines


@settings(max_examples=50, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_after_gzip_magic_never_crash(tail: bytes) -> None:
    reader = read(io.BytesIO(b"\x1f\x8b" + tail))
    events = list(reader)
    assert reader.stats.events == len(events)


@settings(max_examples=100, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
        lambda children: st.lists(children) | st.dictionaries(st.text(), children),
        max_leaves=30,
    ),
    st.sampled_from(
        ["objectRef", "user", "responseStatus", "requestObject", "annotations", "verb"]
    ),
)
def test_arbitrary_json_in_event_fields_never_crashes(value: object, key: str) -> None:
    event = json.loads(cluster_lines()[12])  # a Request-level pod creation
    event[key] = value
    if key == "requestObject" and isinstance(value, dict):
        value.setdefault("kind", "Pod")
    reader = read(io.BytesIO(json.dumps(event).encode()))
    assert len(list(reader)) + reader.stats.bad_lines == 1
