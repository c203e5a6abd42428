"""The engines (``attackmap.engines``): shard reports join to exactly the whole-cluster
report, in this process, in a process pool and on a Dask cluster, whatever the order.

The fleet is generated (``benchmarks/synth.py``, plus node pools in a ClusterContext): GPU
operator DaemonSets that escape to tainted GPU nodes, cross-namespace RBAC through
ClusterRoleBindings, NetworkPolicies and Services for network reach. Each expectation is
the report ``attackmap.analyze`` makes of the whole cluster in one process.
"""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import random
import re
import signal
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import synthetic_cluster

import attackmap
from attackmap.cli import main
from attackmap.engines import EngineError, LocalEngine, analyze_fleet, join
from attackmap.engines._fleet import ShardTask, run_task
from attackmap.errors import AttackmapError

SIZES = {"east": (30, 21), "west": (36, 22), "lab": (20, 23)}  # name: (workloads, seed)


@pytest.fixture(scope="module", autouse=True)
def no_dask_thread_left() -> Iterator[None]:
    """Dask keeps one thread for the process once used (its offload executor's), after
    its clusters and clients close; while it runs, attackmap refuses to fork
    (``attackmap._fork.fork_refusal``), so the tests after these, run in this process,
    would analyse in one process where they count forked ones. It is stopped after
    this module, and a fresh executor (no thread until used) takes its place."""
    yield
    utils = sys.modules.get("distributed.utils")
    if utils is None:
        return
    from concurrent.futures import ThreadPoolExecutor

    utils._offload_executor.shutdown(wait=True)
    utils._offload_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="Dask-Offload")
    # the closed clusters' worker threads end on their own, soon
    deadline = time.monotonic() + 60
    for thread in _dask_threads():
        thread.join(timeout=max(0.0, deadline - time.monotonic()))
    assert not [t.name for t in _dask_threads()]


def _dask_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if "Dask" in t.name or t.name == "IO loop"]


@pytest.fixture
def forks_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    """The local engine's pool forked, for the tests of the pool itself: the Dask tests of
    this module leave threads of theirs running (``no_dask_thread_left``), with which a
    local engine runs every task here, as it should in a user's process."""
    import attackmap._fork

    monkeypatch.setattr(attackmap._fork, "fork_refusal", lambda: None)


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("fleet")
    out = {}
    for name, (workloads, seed) in SIZES.items():
        out[name] = synthetic_cluster(root / name, workloads, seed=seed, node_pools=True)
    return out


@pytest.fixture(scope="module")
def whole(fleet: dict[str, Path]) -> dict[str, str]:
    """Each cluster's report from one process: what every engine must write."""
    return {name: attackmap.analyze(path).to_json() for name, path in fleet.items()}


def test_the_fleet_has_what_crosses_shards(fleet: dict[str, Path], whole: dict[str, str]) -> None:
    # without these, a join that drops cross-shard reach would pass unnoticed
    report = attackmap.analyze(fleet["east"])
    steps = {s.id for w in report.workloads for t in w.techniques for p in t.paths for s in p.steps}
    assert {"node-tokens", "reach-pod-network"} <= steps, sorted(steps)
    assert any(s.startswith("escape-") for s in steps)
    foreign = [
        (w.ref, s.workload)
        for w in report.workloads
        for t in w.techniques
        for p in t.paths
        for s in p.steps
        if s.workload is not None and s.workload.split("/")[1] != w.ref.namespace
    ]
    assert foreign, "no path crosses namespaces"
    assert any(
        s.facts and s.facts[-1].fact.startswith(("node:", "runs_on:"))
        for s in report.step_instances()
    )
    assert len({len(w) for w in whole.values()}) == 3


@pytest.mark.parametrize("shards", [2, 5])
def test_shards_join_to_the_whole_report(
    fleet: dict[str, Path], whole: dict[str, str], shards: int
) -> None:
    parts = [attackmap.analyze(fleet["east"], shard=(i, shards)) for i in range(shards)]
    sizes = [len(p.workloads) for p in parts]
    assert sum(sizes) == SIZES["east"][0] and max(sizes) - min(sizes) <= 1
    assert all(p.to_json() != whole["east"] for p in parts)  # each shard alone is partial
    assert join(parts).to_json() == whole["east"]
    rng = random.Random(shards)
    shuffled = parts[:]
    rng.shuffle(shuffled)
    assert join(shuffled).to_json() == whole["east"]  # the shards' order says nothing


def test_more_shards_than_workloads() -> None:
    nim = attackmap.example_manifest()
    report = attackmap.analyze(nim)
    (joined,) = analyze_fleet([nim], shards=len(report.workloads) + 2)
    assert joined.to_json() == report.to_json()


def test_the_pod_security_threshold_counts_the_cluster_not_the_shard(
    fleet: dict[str, Path], whole: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from attackmap.graph import _analysis

    # the lab cluster (20 workloads) is above this threshold, each of its 2 shards below
    monkeypatch.setattr(_analysis, "PSS_TRADEOFF_MAX_WORKLOADS", 15)
    above = attackmap.analyze(fleet["lab"]).to_json()
    assert above != whole["lab"]  # the threshold changes the trade-off it reports
    (report,) = analyze_fleet([fleet["lab"]], shards=2)
    assert report.to_json() == above


def test_the_options_reach_every_shard(fleet: dict[str, Path]) -> None:
    options: dict[str, Any] = {"goals": "T1611", "entries": "cluster"}
    expected = attackmap.analyze(fleet["lab"], **options)
    assert any(w.minimal_controls and w.minimal_controls[0].controls for w in expected.workloads)
    (report,) = analyze_fleet([fleet["lab"]], shards=2, **options)
    assert report.to_json() == expected.to_json()


def test_input_order_does_not_change_the_joined_report(
    fleet: dict[str, Path], whole: dict[str, str]
) -> None:
    files = sorted(str(p) for p in fleet["lab"].glob("*.yaml"))
    random.Random(7).shuffle(files)
    (report,) = analyze_fleet([files], shards=3)
    assert report.to_json() == whole["lab"]


@pytest.mark.usefixtures("forks_allowed")
def test_a_process_pool_runs_a_fleet(fleet: dict[str, Path], whole: dict[str, str]) -> None:
    reports = analyze_fleet([fleet["east"], fleet["lab"]], workers=2, shards=2)
    assert [r.to_json() for r in reports] == [whole["east"], whole["lab"]]
    # they came from other processes: data, without the attack graph
    assert all(r.attack_graph is None for r in reports)


def test_one_cluster_in_this_process_keeps_its_graph(fleet: dict[str, Path]) -> None:
    (report,) = analyze_fleet([fleet["lab"]])
    assert report.attack_graph is not None
    assert report.minimal_controls(report.workloads[0].ref, "T1611") is not None


def test_a_report_pickles_as_data(fleet: dict[str, Path], whole: dict[str, str]) -> None:
    report = attackmap.analyze(fleet["lab"])
    copy = pickle.loads(pickle.dumps(report))  # noqa: S301 - our own report, pickled here
    assert copy.attack_graph is None and report.attack_graph is not None
    assert copy.to_json() == whole["lab"]


@pytest.fixture(scope="module")
def dask_cluster() -> Iterator[Any]:
    distributed = pytest.importorskip(
        "distributed", reason="the dask extra (dask.distributed) is not installed"
    )
    # in this process (fast to start), over TCP: tasks and reports are serialised as on a
    # real cluster
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=False,
        protocol="tcp://",
        host="127.0.0.1",
        dashboard_address=None,
        scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},  # (not 8787: as connect)
    ) as cluster:
        yield cluster


def test_dask_runs_a_fleet(
    dask_cluster: Any, fleet: dict[str, Path], whole: dict[str, str]
) -> None:
    import distributed

    with distributed.Client(dask_cluster.scheduler_address) as client:
        reports = attackmap.analyze_fleet([fleet["west"], fleet["lab"]], client=client, shards=3)
    assert [r.to_json() for r in reports] == [whole["west"], whole["lab"]]


def test_the_cli_on_dask_writes_a_report_per_cluster(
    dask_cluster: Any, fleet: dict[str, Path], whole: dict[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "reports"
    argv = [
        "analyze",
        str(fleet["east"]),
        str(fleet["lab"]),
        "--out-dir",
        str(out),
        "--engine",
        "dask",
    ]
    code = main([*argv, "--scheduler", dask_cluster.scheduler_address, "--shards", "2"])
    assert code == 0
    assert sorted(p.name for p in out.iterdir()) == ["east.json", "lab.json"]
    for name in ("east", "lab"):
        assert (out / f"{name}.json").read_text(encoding="utf-8") == whole[name]


def test_the_cli_shards_on_local_workers(
    fleet: dict[str, Path], whole: dict[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "lab.json"
    assert (
        main(["analyze", str(fleet["lab"]), "--workers", "2", "--shards", "2", "-o", str(out)]) == 0
    )
    assert out.read_text(encoding="utf-8") == whole["lab"]


# -- errors: exit 2, a message that says what to do -----------------------------------------


def test_without_the_extra_the_dask_engine_says_how_to_install_it(
    fleet: dict[str, Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed fails
    assert main(["analyze", str(fleet["lab"]), "--engine", "dask"]) == 2
    err = capsys.readouterr().err
    assert "dask.distributed, which is not installed" in err
    assert "pip install 'attackmap[dask]'" in err and "Traceback" not in err
    with pytest.raises(EngineError, match="not installed"):
        analyze_fleet([fleet["lab"]], client=object())


def test_an_unreachable_scheduler_is_an_input_error(fleet: dict[str, Path]) -> None:
    """Run in a process of its own: a Dask client that fails to connect leaves its IO
    loop's thread running in the process (distributed's), and a process with another
    thread never forks workers (``attackmap._fork.fork_refusal``)."""
    import os
    import subprocess

    pytest.importorskip("distributed", reason="the dask extra is not installed")
    program = "import sys; from attackmap.cli import main; sys.exit(main(sys.argv[1:]))"
    argv = ["analyze", str(fleet["lab"]), "--engine", "dask", "--scheduler", "tcp://127.0.0.1:9"]
    env = {**os.environ, "DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "0.5s"}
    done = subprocess.run(
        [sys.executable, "-c", program, *argv], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 2, done.stderr
    err = done.stderr
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in err and "Traceback" not in err


def test_a_refused_connection_is_said_before_a_client_is_made(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Nothing listens at the port: said at once (a client retried until its connect
    timeout) and without a client, whose IO loop's thread, left running after a failed
    connect, kept the process from ever forking workers again."""
    import socket

    distributed = pytest.importorskip("distributed", reason="the dask extra is not installed")
    from attackmap.engines._dask import connect

    def no_client(*args: object, **kwargs: object) -> None:
        raise AssertionError("a client was made for an address where nothing listens")

    monkeypatch.setattr(distributed, "Client", no_client)
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]  # closed at once: nothing listens there
    before = set(threading.enumerate())
    address = f"tcp://127.0.0.1:{port}"
    with pytest.raises(EngineError) as raised, connect(address):
        pass
    assert raised.value.summary() == (
        f"--scheduler: cannot reach the Dask scheduler at {address}: Connection refused"
    )
    assert set(threading.enumerate()) <= before


def _serve_once(
    answer: bytes | None, *, hang_up: bool = False
) -> tuple[int, threading.Thread, list[bytes]]:
    """A port on 127.0.0.1 where one connection is taken: ``answer`` sent first (``None``:
    nothing), then (but with ``hang_up``) what the other side sends kept until it closes."""
    import socket

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    heard: list[bytes] = []

    def serve() -> None:
        with server:
            conn, _ = server.accept()
            with conn:
                if answer is not None:
                    conn.sendall(answer)
                if hang_up:
                    return
                conn.settimeout(10)
                with contextlib.suppress(OSError):  # (reset: the other side left first)
                    while chunk := conn.recv(4096):
                        heard.append(chunk)

    thread = threading.Thread(target=serve, name="probe-test-server", daemon=True)
    thread.start()
    return server.getsockname()[1], thread, heard


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (None, "no Dask scheduler answered in 1 s (another service listens there: "),
        (b"SSH-2.0-OpenSSH_9.6\r\n", "is not a Dask scheduler"),
        (b"\x05\x00", "the connection closed before a Dask scheduler's handshake"),
    ],
)
def test_a_service_that_is_no_scheduler_is_refused_before_a_client_is_made(
    monkeypatch: pytest.MonkeyPatch, answer: bytes | None, reason: str
) -> None:
    """The dashboard's HTTP port given by mistake (it says nothing first): a client waited
    on it without end; a service that speaks another protocol failed with a traceback."""
    distributed = pytest.importorskip("distributed", reason="the dask extra is not installed")
    import dask

    from attackmap.engines._dask import connect

    def no_client(*args: object, **kwargs: object) -> None:
        raise AssertionError("a client was made for a service that is no scheduler")

    monkeypatch.setattr(distributed, "Client", no_client)
    port, thread, _heard = _serve_once(answer, hang_up=answer == b"\x05\x00")
    address = f"tcp://127.0.0.1:{port}"
    with (
        dask.config.set({"distributed.comm.timeouts.connect": "1s"}),
        pytest.raises(EngineError, match="cannot reach the Dask scheduler at") as raised,
        connect(address),
    ):
        pass
    assert reason in raised.value.summary()
    thread.join(timeout=20)


def test_the_probe_answers_a_schedulers_handshake_with_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A scheduler speaks first (its handshake: 8 bytes of length, then the message); the
    probe sends the same message back, a whole handshake, so that the scheduler logs no
    connection closed before one (at INFO, on every run)."""
    import struct

    pytest.importorskip("distributed", reason="the dask extra is not installed")
    from attackmap.engines import _dask

    handshake = struct.pack("Q", 5) + b"hello"
    port, thread, heard = _serve_once(handshake)
    _dask._probe(__import__("distributed"), f"tcp://127.0.0.1:{port}")
    thread.join(timeout=20)
    assert b"".join(heard) == handshake


@pytest.mark.parametrize(
    ("address", "message"),
    [
        ("tls://127.0.0.1:8786", "the CLI connects to tcp:// schedulers, not tls://"),
        ("ucx://127.0.0.1:8786", "the CLI connects to tcp:// schedulers, not ucx://"),
        ("inproc://x", "the CLI connects to tcp:// schedulers, not inproc://"),
        ("tcp://h:abc", "expected tcp://HOST:PORT, got 'tcp://h:abc'"),
        ("tcp://h", "expected tcp://HOST:PORT"),
        ("notaurl", "expected tcp://HOST:PORT, got 'notaurl'"),
    ],
)
def test_a_scheduler_address_the_cli_cannot_use_is_refused(
    fleet: dict[str, Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    address: str,
    message: str,
) -> None:
    """Before a client is made: distributed raised TypeErrors (TLS without a security
    context, UCX without its package) that ended in a traceback."""
    distributed = pytest.importorskip("distributed", reason="the dask extra is not installed")

    def no_client(*args: object, **kwargs: object) -> None:
        raise AssertionError("a client was made for an address the CLI cannot use")

    monkeypatch.setattr(distributed, "Client", no_client)
    argv = ["analyze", str(fleet["lab"]), "--engine", "dask", "--scheduler", address]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"cannot reach the Dask scheduler at {address}: {message}" in err
    assert "Traceback" not in err


_NO_WORKERS = """
import sys
import distributed
from attackmap.cli import main

with distributed.LocalCluster(
    n_workers=0, processes=False, protocol="tcp", dashboard_address=None
) as cluster:
    code = main(["analyze", sys.argv[1], "--engine", "dask", "--scheduler", cluster.scheduler_address])
sys.exit(code)
"""


def test_a_scheduler_without_workers_is_an_error_not_a_hang(fleet: dict[str, Path]) -> None:
    """(In a process of its own: the cluster's threads stay, and a process with another
    thread never forks workers.)"""
    import subprocess

    pytest.importorskip("distributed", reason="the dask extra is not installed")
    env = {**os.environ, "DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "1s"}
    done = subprocess.run(
        [sys.executable, "-c", _NO_WORKERS, str(fleet["lab"])],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert "has no workers (none joined in 1 s)" in done.stderr
    assert "Traceback" not in done.stderr


def test_an_input_error_on_dask_is_said_once(tmp_path: Path) -> None:
    """The local Dask cluster's workers log no traceback of a task's input error: the
    CLI says it once, with file and line (exit 2)."""
    import subprocess

    pytest.importorskip("distributed", reason="the dask extra is not installed")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "broken.yaml").write_text("kind: Pod\nmetadata: [\n", encoding="utf-8")
    program = "import sys; from attackmap.cli import main; sys.exit(main(sys.argv[1:]))"
    argv = ["analyze", str(bad), "--engine", "dask", "-q", "-o", str(tmp_path / "r.json")]
    done = subprocess.run(
        [sys.executable, "-c", program, *argv], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 2, done.stderr
    assert "broken.yaml:3" in done.stderr and "invalid YAML" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and "Compute Failed" not in done.stderr, done.stderr


def test_the_local_dask_cluster_serves_http_on_a_free_local_port() -> None:
    """The scheduler of ``--engine dask`` without ``--scheduler`` keeps an HTTP server
    (health, metrics) without the dashboard: on a free port of 127.0.0.1, not on every
    interface's 8787 (which warned where another cluster held it)."""
    import subprocess

    pytest.importorskip("distributed", reason="the dask extra is not installed")
    program = (
        "from attackmap.engines._dask import connect\n"
        "if __name__ == '__main__':\n"
        "    with connect(None, 1) as engine:\n"
        "        http = engine.client.cluster.scheduler.http_server\n"
        "        print(http.address, http.port)\n"
    )
    done = subprocess.run(
        [sys.executable, "-W", "error::UserWarning", "-c", program],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    address, port = done.stdout.split()
    assert address == "127.0.0.1" and int(port) != 8787, done.stdout


@pytest.mark.parametrize("port", ["99999", "0", "65536"])
def test_a_scheduler_port_out_of_range_is_refused_at_once(
    fleet: dict[str, Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    port: str,
) -> None:
    """Refused before a client is made: distributed would try the address until its
    connect timeout (30 s) and then report a timeout, not the port."""
    distributed = pytest.importorskip("distributed", reason="the dask extra is not installed")

    def no_client(*args: object, **kwargs: object) -> None:
        raise AssertionError("a client was made for an address no connection can use")

    monkeypatch.setattr(distributed, "Client", no_client)
    address = f"tcp://127.0.0.1:{port}"
    argv = ["analyze", str(fleet["lab"]), "--engine", "dask", "--scheduler", address]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"cannot reach the Dask scheduler at {address}: port {port} is out of range" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--scheduler", "tcp://h:1"], "--scheduler is for --engine dask"),
        (["--workers", "2", "--shards", "2", "--format", "dot"], "draws the whole attack graph"),
        (["--out-dir", "x", "-o", "y.json"], "--out-dir writes one report per cluster"),
        (["--out-dir", "x", "--baseline", "b.json"], "--baseline compares one report"),
        (["-", "--shards", "2"], "stdin is read once"),
    ],
)
def test_contradicting_engine_flags(
    fleet: dict[str, Path], capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    assert main(["analyze", str(fleet["lab"]), *extra]) == 2
    assert message in capsys.readouterr().err


def test_a_whole_graph_format_names_the_flag_that_sends_the_analysis_away(
    fleet: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    # the local engine and --shards 2 draw (in this process); --workers 2 sends the
    # shards to a pool: that is the flag to change, not the engine
    base = ["analyze", str(fleet["lab"]), "--format", "dot", "--shards", "2"]
    assert main([*base, "--workers", "2"]) == 2
    err = capsys.readouterr().err
    assert "error: --workers:" in err and "--workers 1" in err
    assert main([*base, "--engine", "dask"]) == 2
    assert "error: --engine:" in capsys.readouterr().err


def test_a_missing_cluster_is_refused_before_any_is_analysed(
    fleet: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_analysis(*args: object, **kwargs: object) -> None:
        raise AssertionError("a cluster was analysed before every path was checked")

    monkeypatch.setattr(attackmap, "analyze_fleet", no_analysis)
    missing = tmp_path / "nowhere"
    argv = ["analyze", str(fleet["lab"]), str(missing), "--out-dir", str(tmp_path / "out")]
    assert main(argv) == 2
    assert f"{missing}: no such file or directory" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_bad_worker_and_shard_counts(capsys: pytest.CaptureFixture[str]) -> None:
    for flag in ("--workers", "--shards"):
        for value in ("0", "1_0", "\u0663", " 3", "+2", "-1"):  # (int() takes the middle four)
            assert main(["analyze", "x.yaml", flag, value]) == 2
            assert f"expected a positive integer, got {value!r}" in capsys.readouterr().err
    with pytest.raises(EngineError, match="workers must be a positive integer"):
        LocalEngine(0)
    with pytest.raises(EngineError, match="shards must be a positive integer"):
        analyze_fleet(["x.yaml"], shards=0)
    with pytest.raises(EngineError, match="a list of sources"):
        analyze_fleet("x.yaml")
    with pytest.raises(EngineError, match="workers must be a positive integer, got 0"):
        analyze_fleet(["x.yaml"], workers=0)  # (not taken for one)
    with pytest.raises(EngineError, match="engine must have a map"):
        analyze_fleet(["x.yaml"], engine=object())  # type: ignore[arg-type]


def test_shards_are_bounded(capsys: pytest.CaptureFixture[str]) -> None:
    # each shard builds the whole graph: 10**20 of them grew until memory ran out
    from attackmap.engines._fleet import MAX_SHARDS

    with pytest.raises(EngineError, match=f"at most {MAX_SHARDS} shards per cluster"):
        analyze_fleet(["x.yaml"], shards=MAX_SHARDS + 1)
    assert main(["analyze", "x.yaml", "--shards", "99999999999999999999"]) == 2
    assert f"at most {MAX_SHARDS} shards per cluster" in capsys.readouterr().err


def test_two_clusters_of_one_name(
    fleet: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "elsewhere" / "lab"
    other.mkdir(parents=True)
    code = main(["analyze", str(fleet["lab"]), str(other), "--out-dir", str(tmp_path / "o")])
    assert code == 2
    assert "two clusters would write the report lab" in capsys.readouterr().err


def test_a_fleet_writes_every_report_or_none(
    fleet: dict[str, Path], whole: dict[str, str], tmp_path: Path
) -> None:
    # east's report cannot be written (a directory holds its name): lab's stale report
    # stays as it was, not replaced while east's fails
    out = tmp_path / "reports"
    (out / "east.json").mkdir(parents=True)
    (out / "lab.json").write_text("old\n", encoding="utf-8")
    argv = ["analyze", str(fleet["lab"]), str(fleet["east"]), "--out-dir", str(out)]
    assert main(argv) == 2
    assert (out / "lab.json").read_text(encoding="utf-8") == "old\n"
    assert sorted(p.name for p in out.iterdir()) == ["east.json", "lab.json"]  # no temporary
    (out / "east.json").rmdir()
    assert main(argv) == 0
    for name in ("east", "lab"):
        assert (out / f"{name}.json").read_text(encoding="utf-8") == whole[name]


@pytest.mark.parametrize("shard", [(2, 2), (-1, 2), (0, 0), [0, 2], (True, 2)])
def test_a_bad_shard_is_refused(fleet: dict[str, Path], shard: Any) -> None:
    with pytest.raises(AttackmapError, match=r"shard must be \(i, n\)"):
        attackmap.analyze(fleet["lab"], shard=shard)


def test_shards_of_different_inputs_do_not_join(fleet: dict[str, Path]) -> None:
    east = attackmap.analyze(fleet["east"], shard=(0, 2))
    west = attackmap.analyze(fleet["west"], shard=(1, 2))
    # another cluster's shard, or the same cluster's with other options: their workloads
    # and options differ, not what every shard states (both have no warnings, nothing
    # skipped), which was all the join compared
    with pytest.raises(EngineError, match="the shards are not of one cluster analysed with"):
        join([east, west])
    other_options = attackmap.analyze(fleet["east"], shard=(1, 2), goals="T1611")
    with pytest.raises(EngineError, match="the shards are not of one cluster analysed with"):
        join([east, other_options])
    kernel = attackmap.analyze(fleet["east"], shard=(1, 2), assume_kernel_exploit=True)
    with pytest.raises(EngineError, match="the shards are not of one cluster analysed with"):
        join([east, kernel])
    rest = attackmap.analyze(fleet["east"], shard=(1, 2))
    copied = pickle.loads(pickle.dumps(rest))  # noqa: S301 - our own report, pickled here
    assert join([copied, east]).to_json() == attackmap.analyze(fleet["east"]).to_json()
    changed = rest.model_copy(update={"warnings": (*rest.warnings, "the input changed")})
    with pytest.raises(EngineError, match="disagree on warnings"):
        join([east, changed])
    with pytest.raises(EngineError, match="not every shard of one split once: 0 of 2, 0 of 2"):
        join([east, east])
    # reports that do not say which shard they are (made otherwise): their workloads
    # still tell an overlap
    unsaid = east.model_copy()
    unsaid._shard = None
    with pytest.raises(EngineError, match="the shards overlap"):
        join([unsaid, unsaid])
    with pytest.raises(EngineError, match="no shard reports"):
        join([])


def test_shards_join_only_of_the_same_content_context_and_options(
    fleet: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    from tests.conftest import NODE_POOLS_CONTEXT

    lab = tmp_path / "lab"
    shutil.copytree(fleet["lab"], lab)
    (lab / "context.yaml").unlink()  # (given as an option below)
    files = sorted(lab.rglob("*.yaml"))
    first = attackmap.analyze(files, shard=(0, 2))
    # the files listed in another order: the same report, the shards join
    other_order = attackmap.analyze(files[::-1], shard=(1, 2))
    assert join([first, other_order]).to_json() == attackmap.analyze(files).to_json()
    # the same paths and lines, another content (edited between the shards' runs)
    edited = max(files, key=lambda f: f.stat().st_size)
    text = edited.read_text(encoding="utf-8")
    assert "image: " in text
    edited.write_text(text.replace("image: ", "image: x", 1), encoding="utf-8")
    with pytest.raises(EngineError, match="not of one cluster analysed with the same options"):
        join([first, attackmap.analyze(files, shard=(1, 2))])
    edited.write_text(text, encoding="utf-8")
    # another cluster context
    with pytest.raises(EngineError, match="not of one cluster analysed with the same options"):
        join([first, attackmap.analyze(files, shard=(1, 2), context=NODE_POOLS_CONTEXT)])
    # one seccomp root, named relative in one shard and absolute in the other
    (tmp_path / "seccomp").mkdir()
    monkeypatch.chdir(tmp_path)
    here = attackmap.analyze(files, shard=(0, 2), seccomp_root="seccomp")
    there = attackmap.analyze(files, shard=(1, 2), seccomp_root=tmp_path / "seccomp")
    assert join([here, there]).to_json() == attackmap.analyze(files).to_json()


def test_a_missing_shard_is_refused(fleet: dict[str, Path], whole: dict[str, str]) -> None:
    # a missing shard's workloads would be left out of the "whole" report without a word
    shards = [attackmap.analyze(fleet["lab"], shard=(i, 3)) for i in range(3)]
    assert [r.shard for r in shards] == [(0, 3), (1, 3), (2, 3)]
    assert all(len(r.workloads) for r in shards)
    for partial, said in (
        ([shards[0], shards[2]], "0 of 3, 2 of 3"),
        ([shards[1]], "1 of 3"),
        ([shards[0], shards[1], attackmap.analyze(fleet["lab"])], "0 of 3, 1 of 3, whole"),
        (
            [*shards, attackmap.analyze(fleet["lab"], shard=(0, 2))],
            "0 of 3, 1 of 3, 2 of 3, 0 of 2",
        ),
    ):
        with pytest.raises(EngineError, match=f"not every shard of one split once: {said}"):
            join(partial)
    travelled = pickle.loads(pickle.dumps(shards[0]))  # noqa: S301 - our own, pickled here
    assert travelled.shard == (0, 3)  # (as a task's report comes back)
    joined = join([shards[2], travelled, shards[1]])
    assert joined.shard is None and joined.to_json() == whole["lab"]
    assert attackmap.analyze(fleet["lab"]).shard is None


def test_a_worker_of_another_version_refuses_the_task(fleet: dict[str, Path]) -> None:
    task = ShardTask(0, str(fleet["lab"]), (), (0, 1), "0.0.0-other")
    with pytest.raises(EngineError, match="reports of different versions cannot be joined"):
        run_task(task)


def test_keep_going_raises_another_versions_refusal(fleet: dict[str, Path]) -> None:
    # no cluster can be analysed on such a worker: not one cluster's error, the run's
    from attackmap.engines._fleet import run_tagged

    options = (("keep_going", True),)
    task = ShardTask(0, str(fleet["lab"]), options, (0, 1), "0.0.0-other")
    with pytest.raises(EngineError, match="reports of different versions"):
        run_tagged(task)
    # an input error is the task's result, tagged with its cluster and shard
    result = run_tagged(ShardTask(3, "/nonexistent/x", options, (1, 2), attackmap.__version__))
    assert (result.cluster, result.shard) == (3, (1, 2))
    assert isinstance(result.report, AttackmapError)


class _Engine:
    """An engine whose map runs every task here, then hands back ``arrange(results)``."""

    name = "test"

    def __init__(self, arrange: Any) -> None:
        self.arrange = arrange

    def map(self, fn: Any, items: Any) -> Any:
        return self.arrange([fn(item) for item in items])


def test_a_fleets_arguments_are_checked_before_any_task_is_sent(
    fleet: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_task(*args: object, **kwargs: object) -> None:
        raise AssertionError("a task was sent")

    monkeypatch.setattr(LocalEngine, "map", no_task)
    lab = fleet["lab"]
    with pytest.raises(EngineError, match="goal: unknown option 'goal'") as raised:
        analyze_fleet([lab], goal="T1611")  # (goals=)
    assert raised.value.hint is not None and "goals" in raised.value.hint
    with pytest.raises(EngineError, match="workers: workers are the local engine's processes"):
        analyze_fleet([lab], engine=LocalEngine(2), workers=2)
    # stdin is read once: by one task of one cluster, in this process
    for clusters, kwargs in (
        (["-"], {"shards": 2}),
        (["-", "-"], {}),
        (["-", lab], {"workers": 2}),
        ([["-", lab]], {"engine": LocalEngine(2)}),
    ):
        with pytest.raises(EngineError, match="stdin is read once, by one task"):
            analyze_fleet(clusters, **kwargs)


def test_stdin_is_read_by_one_task_here(
    fleet: dict[str, Path], monkeypatch: pytest.MonkeyPatch, whole: dict[str, str]
) -> None:
    import io

    import attackmap._fork

    text = "".join(
        f.read_text(encoding="utf-8") + "\n---\n" for f in sorted(fleet["lab"].rglob("*.yaml"))
    )
    monkeypatch.setattr(attackmap._fork, "available_cpus", lambda: 1)  # auto: one process
    for kwargs in ({}, {"workers": "auto"}, {"engine": LocalEngine(1)}):
        stdin = io.TextIOWrapper(io.BytesIO(text.encode()), encoding="utf-8")
        monkeypatch.setattr(sys, "stdin", stdin)
        (report,) = analyze_fleet(["-"], **kwargs)
        assert len(report.workloads) == len(json.loads(whole["lab"])["workloads"])


def test_join_takes_reports_only(fleet: dict[str, Path]) -> None:
    report = attackmap.analyze(fleet["lab"], shard=(0, 1))
    assert join(r for r in [report]).to_json() == report.to_json()  # any iterable
    with pytest.raises(EngineError, match="expected a list of reports, got int"):
        join(7)  # type: ignore[arg-type]
    with pytest.raises(EngineError, match="expected a list of reports, got str in it"):
        join([report, "east.json"])  # type: ignore[list-item]


def test_an_engines_results_go_to_their_clusters_in_any_order(
    fleet: dict[str, Path], whole: dict[str, str]
) -> None:
    # results in the order tasks finish: each report still goes to its cluster and shard
    clusters = [fleet["lab"], fleet["east"]]
    for arrange in (lambda r: r[::-1], lambda r: [r[2], r[1], r[0], r[3]]):
        reports = analyze_fleet(clusters, engine=_Engine(arrange), shards=2)
        assert [r.to_json() for r in reports] == [whole["lab"], whole["east"]]


@pytest.mark.parametrize(
    ("arrange", "message"),
    [
        (lambda r: r[:-1], "the engine's map returned 3 results for 4 tasks"),
        (lambda r: [*r, r[0]], "the engine's map returned 5 results for 4 tasks"),
        (
            lambda r: [r[0], r[0], r[2], r[3]],
            "returned the result of cluster 0's shard 0 of 2 twice",
        ),
        (lambda r: [None, *r[1:]], "the engine's map returned NoneType, not a task's result"),
        (lambda r: [r[0].report, *r[1:]], "the engine's map returned Report, not a task's result"),
        (lambda r: 7, "the engine's map returned int, not a list of results"),
    ],
)
def test_an_engine_that_loses_or_mixes_results_is_an_error(
    fleet: dict[str, Path], arrange: Any, message: str
) -> None:
    with pytest.raises(EngineError, match=re.escape(message)):
        analyze_fleet([fleet["lab"], fleet["east"]], engine=_Engine(arrange), shards=2)


def test_a_path_a_worker_elsewhere_does_not_see_says_where_each_side_looked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from attackmap.engines._fleet import task_origin

    monkeypatch.chdir(tmp_path)
    host, cwd = task_origin()
    assert cwd == str(tmp_path)
    # made on another machine: its relative path meant there
    task = ShardTask(0, "prod", (), (0, 1), attackmap.__version__, ("client-host", "/srv/fleet"))
    with pytest.raises(AttackmapError, match="no such file or directory") as raised:
        run_task(task)
    assert raised.value.path == "prod"
    assert raised.value.hint == (
        f"the task ran on {host} in {cwd}; the client named it on client-host in /srv/fleet: "
        "every worker must see the inputs at the paths the client names (a shared "
        "filesystem, absolute paths)"
    )
    # made here (a local pool, a LocalCluster): the error as analyze raises it
    with pytest.raises(AttackmapError, match="no such file or directory") as raised:
        run_task(ShardTask(0, "prod", (), (0, 1), attackmap.__version__, (host, cwd)))
    assert raised.value.hint is None


# -- a fleet with --keep-going: one cluster that cannot be analysed leaves the others -------


@pytest.mark.parametrize(("workers", "shards"), [(None, 1), (2, 2)])
def test_keep_going_puts_a_clusters_error_in_its_place(
    fleet: dict[str, Path], whole: dict[str, str], tmp_path: Path, workers: Any, shards: int
) -> None:
    empty = tmp_path / "empty"  # no manifests: not even --keep-going analyses it
    empty.mkdir()
    clusters = [fleet["lab"], empty, fleet["east"]]
    with pytest.raises(AttackmapError, match="no Kubernetes documents found"):
        analyze_fleet(clusters, workers=workers, shards=shards)
    results = analyze_fleet(clusters, workers=workers, shards=shards, keep_going=True)
    lab, error, east = results
    assert isinstance(error, AttackmapError) and not isinstance(error, EngineError)
    assert error.path == str(empty) and "no Kubernetes documents found" in error.message
    assert isinstance(lab, attackmap.Report) and lab.to_json() == whole["lab"]
    assert isinstance(east, attackmap.Report) and east.to_json() == whole["east"]
    with pytest.raises(EngineError, match="keep_going: expected True or False, got 'yes'"):
        analyze_fleet(clusters, keep_going="yes")  # type: ignore[call-overload]


def test_the_cli_keeps_going_across_clusters(
    fleet: dict[str, Path],
    whole: dict[str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    out = tmp_path / "reports"
    out.mkdir()
    (out / "empty.json").write_text("yesterday\n", encoding="utf-8")
    argv = ["analyze", str(fleet["lab"]), str(empty), str(fleet["east"]), "--out-dir", str(out)]
    assert main(argv) == 2  # without --keep-going: no report written
    assert sorted(p.name for p in out.iterdir()) == ["empty.json"]
    assert f"error: {empty}: no Kubernetes documents found" in capsys.readouterr().err
    assert main([*argv, "--keep-going", "-q"]) == 2
    err = capsys.readouterr().err
    assert f"error: {empty}: no Kubernetes documents found" in err
    assert f"empty: not analysed: no report written to {out / 'empty.json'} (an earlier" in err
    assert "Traceback" not in err
    for name in ("lab", "east"):
        assert (out / f"{name}.json").read_text(encoding="utf-8") == whole[name]
    assert (out / "empty.json").read_text(encoding="utf-8") == "yesterday\n"


def test_keep_going_with_a_cluster_path_that_names_nothing(
    fleet: dict[str, Path],
    whole: dict[str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # a dangling symlink (there, for the check before the analysis) or a path a worker
    # does not see: not analysed, not an empty report in place of an earlier one
    broken = tmp_path / "broken"
    broken.symlink_to(tmp_path / "nowhere")
    out = tmp_path / "reports"
    out.mkdir()
    (out / "broken.json").write_text("yesterday\n", encoding="utf-8")
    argv = ["analyze", str(fleet["lab"]), str(broken), "--out-dir", str(out), "--keep-going"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"error: {broken}: no such file or directory" in err
    assert f"broken: not analysed: no report written to {out / 'broken.json'} (an earlier" in err
    assert (out / "broken.json").read_text(encoding="utf-8") == "yesterday\n"
    assert (out / "lab.json").read_text(encoding="utf-8") == whole["lab"]
    results = analyze_fleet([fleet["lab"], tmp_path / "gone"], keep_going=True)
    assert isinstance(results[1], AttackmapError) and results[1].path == str(tmp_path / "gone")


def test_keep_going_says_an_option_every_cluster_fails_on_once(
    fleet: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "reports"
    argv = ["analyze", str(fleet["lab"]), str(fleet["east"]), "--out-dir", str(out)]
    assert main([*argv, "--keep-going", "--entry", "bogus"]) == 2
    err = capsys.readouterr().err
    assert err.count("unknown entry point 'bogus'") == 1 and "not analysed" not in err
    assert not out.exists()
    with pytest.raises(AttackmapError, match="unknown entry point 'bogus'"):
        analyze_fleet([fleet["lab"], fleet["east"]], keep_going=True, entries=["bogus"])
    # clusters that fail each on its own inputs: each said, no directory made for nothing
    empty, other = tmp_path / "empty", tmp_path / "other"
    empty.mkdir()
    other.mkdir()
    assert main(["analyze", str(empty), str(other), "--out-dir", str(out), "--keep-going"]) == 2
    err = capsys.readouterr().err
    assert "empty: not analysed" in err and "other: not analysed" in err
    assert not out.exists()


def test_a_failed_write_still_says_the_clusters_not_analysed(
    fleet: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    out = tmp_path / "reports"
    (out / "east.json").mkdir(parents=True)  # east's report cannot be written
    (out / "empty.json").mkdir()  # not an earlier report: nothing said of one
    argv = ["analyze", str(fleet["lab"]), str(empty), str(fleet["east"]), "--out-dir", str(out)]
    assert main([*argv, "--keep-going"]) == 2
    err = capsys.readouterr().err
    assert f"empty: not analysed: no report written to {out / 'empty.json'}\n" in err
    assert "east.json" in err and "Is a directory" in err
    assert sorted(p.name for p in out.iterdir()) == ["east.json", "empty.json"]  # lab's not


def test_a_fleets_fail_on_lines_name_the_cluster(
    fleet: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # -q prints no summary line per cluster: each line says whose finding it is
    out = tmp_path / "reports"
    argv = ["analyze", str(fleet["lab"]), str(fleet["east"]), "--out-dir", str(out)]
    assert main([*argv, "-q", "--fail-on", "T1611"]) == 1
    lines = capsys.readouterr().err.splitlines()
    assert lines and all(line.startswith(("fail-on: lab: ", "fail-on: east: ")) for line in lines)
    assert {line.split(":")[1].strip() for line in lines} == {"lab", "east"}
    assert lines[-1].startswith("fail-on: east: ") and "match --fail-on T1611" in lines[-1]
    # one cluster's lines stay as they were: the workload first
    argv = ["analyze", str(fleet["lab"]), "-q", "-o", str(tmp_path / "r.json")]
    assert main([*argv, "--fail-on", "T1611"]) == 1
    first = capsys.readouterr().err.splitlines()[0]
    assert re.match(r"fail-on: [A-Za-z]+/[a-z0-9-]+/[a-z0-9-]+: T1611 ", first), first


def test_a_fleet_takes_workers_auto(
    fleet: dict[str, Path], whole: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import attackmap._fork

    monkeypatch.setattr(attackmap._fork, "available_cpus", lambda: 2)
    reports = analyze_fleet([fleet["lab"], fleet["east"]], workers="auto")
    assert [r.to_json() for r in reports] == [whole["lab"], whole["east"]]


# -- results arrive with the collector paused ---------------------------------------------

#: gc.isenabled() when each _Arrival was unpickled in this process
ARRIVALS: list[bool] = []


class _Arrival:
    """A task result that records whether the cyclic collector ran while it was unpickled
    (where the engine reads its workers' results)."""

    def __reduce__(self) -> tuple[Any, tuple[()]]:
        return (_arrived, ())


def _arrived() -> _Arrival:
    import gc

    ARRIVALS.append(gc.isenabled())
    return _Arrival()


def _result(_: int) -> _Arrival:
    return _Arrival()


def _result_of_a_collecting_worker(_: int) -> _Arrival:
    import gc

    assert gc.isenabled(), "the worker's collector is off"
    return _Arrival()


@pytest.mark.usefixtures("forks_allowed")
def test_a_process_pool_reads_its_results_with_the_collector_paused() -> None:
    """Shard reports are millions of objects without cycles: unpickled with the collector
    running, one took 5x the CPU (docs/scaling.md). It runs again afterwards, and the
    workers (which may run many tasks) run with it as this process had it."""
    import gc

    assert gc.isenabled()
    ARRIVALS.clear()
    results = LocalEngine(2).map(_result_of_a_collecting_worker, [1, 2, 3])
    assert len(results) == 3 and ARRIVALS == [False, False, False]
    assert gc.isenabled()


def test_dask_reads_its_results_with_the_collector_paused(dask_cluster: Any) -> None:
    """(The test cluster's workers are threads of this process: they share its collector,
    so the task itself may run paused; a real cluster's workers are processes.)"""
    import gc

    import distributed

    from attackmap.engines._dask import DaskEngine

    with distributed.Client(dask_cluster.scheduler_address) as client:
        ARRIVALS.clear()
        results = DaskEngine(client).map(_result, [1, 2])
    assert len(results) == 2 and ARRIVALS and not any(ARRIVALS[-2:])
    assert gc.isenabled()


def test_the_join_runs_with_the_collector_paused(
    fleet: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The join sorts a key per workload: enough new objects, after large reports, for a
    full collection walking all of them (a 100k cluster's join took 107 s)."""
    import gc

    from attackmap.model._refs import ObjectRef

    shards = [attackmap.analyze(fleet["lab"], shard=(i, 2)) for i in range(2)]
    seen: list[bool] = []
    sort_key = ObjectRef.sort_key
    monkeypatch.setattr(
        ObjectRef, "sort_key", lambda self: (seen.append(gc.isenabled()), sort_key(self))[1]
    )
    join(shards)
    assert seen and not any(seen)
    assert gc.isenabled()


def _killed(_item: int) -> int:
    os.kill(os.getpid(), signal.SIGKILL)  # as the OOM killer would
    return 0


def _killed_at_two(item: int) -> int:
    if item == 2:
        os.kill(os.getpid(), signal.SIGKILL)  # as the OOM killer would
    return item * 10


@pytest.mark.usefixtures("forks_allowed")
def test_settle_puts_a_dead_workers_task_error_in_its_place() -> None:
    # the pool breaks for every task it had not finished: those run again, one by one,
    # and only the one that kills its process again is lost
    found = LocalEngine(2).settle(_killed_at_two, [1, 2, 3, 4])
    assert found[0] == 10 and found[2:] == [30, 40]
    assert isinstance(found[1], EngineError)
    assert "a worker process ended while analysing it (killed, or out of memory)" in str(found[1])
    with pytest.raises(ValueError, match="invalid literal"):  # fn's own errors: raised
        LocalEngine(2).settle(int, ["1", "x"])
    # no thread of the stopped pools outlives the call (this process would fork no more)
    before = set(threading.enumerate())
    found = LocalEngine(2).settle(_killed_at_two, [4, 3, 2])
    assert found[:2] == [40, 30] and isinstance(found[2], EngineError)
    assert set(threading.enumerate()) <= before


@pytest.mark.usefixtures("forks_allowed")
def test_settle_takes_a_death_while_the_tasks_are_handed_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    real = ProcessPoolExecutor.submit
    calls = []

    def breaks_at_the_third(self: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 3:
            raise BrokenProcessPool("a worker died")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(ProcessPoolExecutor, "submit", breaks_at_the_third)
    # the tasks not handed out run again, one at a time: none is lost
    assert LocalEngine(2).settle(_killed_at_two, [1, 3, 4, 5]) == [10, 30, 40, 50]


@pytest.mark.usefixtures("forks_allowed")
def test_keep_going_goes_past_a_cluster_whose_worker_dies(
    fleet: dict[str, Path],
    whole: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from attackmap.engines import _fleet

    real = _fleet.run_task

    def dies_on_west(task: ShardTask) -> Any:  # (the forked workers inherit it)
        if "west" in str(task.source):
            os.kill(os.getpid(), signal.SIGKILL)
        return real(task)

    monkeypatch.setattr(_fleet, "run_task", dies_on_west)
    clusters = [fleet["lab"], fleet["west"], fleet["east"]]
    with pytest.raises(EngineError, match="ended without its result"):
        analyze_fleet(clusters, workers=2)
    lab, west, east = analyze_fleet(clusters, workers=2, shards=2, keep_going=True)
    assert isinstance(west, EngineError) and "killed, or out of memory" in west.message
    assert isinstance(lab, attackmap.Report) and lab.to_json() == whole["lab"]
    assert isinstance(east, attackmap.Report) and east.to_json() == whole["east"]
    # every cluster's task dies: each cluster's error, not one for the run
    deaths = analyze_fleet([fleet["west"], fleet["west"]], workers=2, keep_going=True)
    assert all(isinstance(e, EngineError) for e in deaths) and len(deaths) == 2
    out = tmp_path / "reports"
    argv = ["analyze", *map(str, clusters), "--out-dir", str(out), "--workers", "2"]
    assert main([*argv, "--keep-going", "-q"]) == 2
    err = capsys.readouterr().err
    assert "killed, or out of memory" in err and "west: not analysed" in err
    assert sorted(p.name for p in out.iterdir()) == ["east.json", "lab.json"]


def _exits_at_two(item: int) -> int:
    if item == 2:
        os._exit(1)  # a worker process that dies
    return item * 10


def test_dask_settle_puts_a_killed_workers_task_error_in_its_place(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pytest.importorskip("distributed", reason="the dask extra is not installed")
    import dask

    from attackmap.engines._dask import connect

    # a LocalCluster of processes sets variables in this process's environment for its
    # nannies (MALLOC_TRIM_THRESHOLD_, which turns glibc's dynamic mmap threshold off in
    # every child started later: tests/test_malloc.py's)
    monkeypatch.setattr(os, "environ", os.environ.copy())
    with (
        dask.config.set({"distributed.scheduler.allowed-failures": 0}),
        connect(None, 1) as engine,  # (the local cluster of --engine dask)
    ):
        # the task queued behind the one that kills the worker is given up on with it,
        # then runs again alone
        found = engine.settle(_exits_at_two, [2, 1, 3])
    assert found[1:] == [10, 30]
    assert isinstance(found[0], EngineError) and "killed, or out of memory" in str(found[0])


def _death_signal(_item: int) -> int:
    import ctypes

    found = ctypes.c_int()
    ctypes.CDLL(None).prctl(2, ctypes.byref(found))  # PR_GET_PDEATHSIG
    return found.value


def _pid(_item: int) -> int:
    return os.getpid()


def test_a_pool_is_not_forked_where_forking_is_refused() -> None:
    # another thread runs (a notebook's, a Dask client's): every task here, as analyze's
    # workers; a worker process (a daemon may have no children): the same
    started, stop = threading.Event(), threading.Event()

    def wait() -> None:
        started.set()
        stop.wait(60)

    other = threading.Thread(target=wait, name="another-thread")
    other.start()
    started.wait(10)
    try:
        assert LocalEngine(2).map(_pid, [1, 2, 3]) == [os.getpid()] * 3
    finally:
        stop.set()
        other.join()


@pytest.mark.usefixtures("forks_allowed")
def test_a_pool_is_forked_where_forking_is_allowed() -> None:
    assert os.getpid() not in LocalEngine(2).map(_pid, [1, 2, 3])


@pytest.mark.usefixtures("forks_allowed")
def test_a_pool_worker_that_dies_is_an_engine_error() -> None:
    with pytest.raises(EngineError, match="ended without its result") as err:
        LocalEngine(2).map(_killed, [1, 2, 3])
    assert err.value.hint is not None and "--workers 1" in err.value.hint


@pytest.mark.usefixtures("forks_allowed")
def test_pool_workers_end_with_this_process() -> None:
    # (PR_SET_PDEATHSIG: killed with it, none computes a fleet's tasks for nobody)
    assert LocalEngine(2).map(_death_signal, [1, 2]) == [signal.SIGKILL, signal.SIGKILL]


def _interrupt_handler(_item: int) -> str:
    return str(signal.getsignal(signal.SIGINT))


@pytest.mark.usefixtures("forks_allowed")
def test_workers_leave_ctrl_c_to_this_process() -> None:
    # a terminal's Ctrl-C reaches every process of the group: the workers ignore it (this
    # process stops them) instead of each printing a KeyboardInterrupt traceback
    import subprocess

    ignored = str(signal.SIG_IGN)
    assert LocalEngine(2).map(_interrupt_handler, [1, 2]) == [ignored, ignored]
    # fork_map's children (--workers): in a process of its own, where nothing else runs
    # a thread (then fork_map would compute every item here)
    program = (
        "import signal; from attackmap._fork import fork_map; "
        "print(fork_map(lambda _: str(signal.getsignal(signal.SIGINT)), [0, 1]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60
    )
    here = str(signal.default_int_handler)
    assert done.stdout.strip() == str([here, ignored]), done.stderr  # (the first: here)
