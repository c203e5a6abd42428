"""Issue 17: credential-shaped env values, the node's credential files behind a hostPath, the
directories of runtime sockets, and a PID namespace shared between a pod's containers.

Each case was missed before (the manifests here gave no path to the prize); adding a
hostPath or ``shareProcessNamespace`` never removes a technique."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from tests.graph.ptrace_cases import PTRACE_CASES

from attackmap.attack import load_attack
from attackmap.graph import analyze
from attackmap.graph._catalogue import Catalogue, load_catalogue
from attackmap.graph._engine import AttackGraph
from attackmap.graph._facts import (
    HOST_CREDENTIAL_FILES,
    HOST_CREDENTIAL_LEAVES,
    classify_hostpaths,
    exposes_credential_files,
    extract,
    is_credential_env,
)
from attackmap.model import load

Doc = dict[str, Any]


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue(load_attack())


def container(name: str = "app", **fields: Any) -> Doc:
    return {"name": name, "image": "nvcr.io/nim/meta/llama3:1.0", **fields}


def pod(*containers: Doc, **spec: Any) -> Doc:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "namespace": "nim"},
        "spec": {"containers": list(containers) or [container()], **spec},
    }


def techniques(doc: Doc) -> set[str]:
    (w,) = analyze(doc).workloads
    return set(w.technique_ids())


def reachable(doc: Doc, catalogue: Catalogue, start: str, goal: str) -> bool:
    graph = AttackGraph(extract(load(doc)), catalogue)
    return goal in graph.reachable_from(start)


# -- credentials in env values ----------------------------------------------------------------

SHAPED_ENV = [
    {"name": "UPSTREAM_ID", "value": "AKIAIOSFODNN7EXAMPLE"},
    {"name": "NIM_MODEL_NAME", "value": "meta/llama-3.1-8b-instruct"},
]


def test_a_credential_shaped_value_under_an_innocent_name_is_a_credential() -> None:
    fb = extract(load(pod(container(env=SHAPED_ENV))))
    (w,) = fb.workloads
    assert "env:credential" in w.containers[0].facts
    ev = w.evidence["app/env:credential"]
    assert ev.field == "containers[app].env[UPSTREAM_ID]"
    assert ev.detail == "UPSTREAM_ID (value shaped like aws-access-key)"
    assert "AKIAIOSFODNN7EXAMPLE" not in repr(fb.workloads)
    assert "T1552.001" in techniques(pod(container(env=SHAPED_ENV)))


def test_typical_nim_values_stay_quiet() -> None:
    env = [
        {"name": "NIM_MODEL_NAME", "value": "meta/llama-3.1-8b-instruct"},
        {"name": "NIM_CACHE_PATH", "value": "/model-store"},
        {"name": "NIM_SERVER_PORT", "value": "8000"},
        {"name": "NIM_TRUST_CUSTOM_CODE", "value": "true"},
        {"name": "OTEL_EXPORTER_OTLP_ENDPOINT", "value": "http://otel-collector:4318"},
        {"name": "NVIDIA_VISIBLE_DEVICES", "value": "all"},
    ]
    (w,) = extract(load(pod(container(env=env)))).workloads
    assert "env:credential" not in w.containers[0].facts


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ({"name": "UPSTREAM_ID", "value": "AKIAIOSFODNN7EXAMPLE"}, True),
        ({"name": "DSN", "value": "postgresql://u:pw@db/x"}, True),
        ({"name": "X", "value": "<redacted:jwt>"}, True),  # a scrubbed template keeps it
        ({"name": "NGC_API_KEY", "value": "anything"}, True),
        ({"name": "MODEL", "value": "meta/llama3"}, False),
        ({"name": "DSN", "value": "postgresql://u:$(DB_PASSWORD)@db/x"}, False),
    ],
)
def test_raw_env_entries_follow_the_same_rule(entry: Doc, expected: bool) -> None:
    """The remove-credential-env patch reads raw entries: it removes what extraction found."""
    assert is_credential_env(entry) is expected


def test_remove_credential_env_removes_shaped_values_and_breaks_the_path() -> None:
    report = analyze(pod(container(env=SHAPED_ENV)))
    (w,) = report.workloads
    paths = [p for t in w.techniques for p in t.paths if p.steps[-1].id == "env-credentials"]
    assert paths and all("remove-credential-env@Pod/nim/p" in p.broken_by for p in paths)
    (after,) = report.apply(["remove-credential-env@Pod/nim/p"]).workloads
    ends = {p.steps[-1].id for t in after.techniques for p in t.paths}
    assert "env-credentials" not in ends


# -- the node's credential files --------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/root/.aws",
        "/root/.aws/credentials",
        "/home/ubuntu/.aws",
        "/home/ubuntu/.kube",
        "/home/ubuntu/.kube/config",
        "/root/.docker/config.json",
        "/home/ci/.docker",  # the parent of config.json
        "/home/ubuntu/.config/gcloud",
        "/home/ubuntu/.azure",
        "/etc/kubernetes/pki",
        "/etc/kubernetes/pki/ca.key",
        "/etc/kubernetes/admin.conf",
        "/etc/kubernetes/kubelet.conf",
        "/etc/kubernetes/azure.json",
        "/var/lib/kubelet/pki",
        "/var/lib/kubelet/kubeconfig",
        "/var/lib/kubelet/config.json",
        "/var/lib/cloud",
        "/var/lib/cloud/instance/user-data.txt",
        "/var/run/cloud-init",
        "/var/lib/waagent",
        "/etc/rancher/k3s/k3s.yaml",
        # a user without a home directory has / (kubescape's fixtures write /.aws/)
        "/.aws",
        "/.aws/credentials",
        "/.aws/config",
        "/.aws/config/",
        "/root/.aws/sso/cache",  # inside ~/.aws, not below one of its files
        "/root/.aws/cli/cache/x.json",
        "/home/ubuntu/.kube/cache",
        "/.config/gcloud",
        "/home/ubuntu/.config",  # the parent of gcloud's and containers' credentials
        # parents expose what they hold
        "/",
        "/root",
        "/home",
        "/home/ubuntu",
        "/etc",
        "/etc/kubernetes",
        "/etc/rancher",
        "/var",
        "/var/lib",
        "/var/lib/kubelet",
        "/run",
        "/var/run",
    ],
)
def test_credential_files_and_their_parents(path: str) -> None:
    assert exposes_credential_files(path)
    for mode in ("ro", "rw"):
        assert "host_mount:credential_files" in classify_hostpaths([f"hostpath:{path}:{mode}"])


@pytest.mark.parametrize(
    "path",
    [
        "/etc/kubernetes/manifests",
        "/etc/kubernetes/manifests/kube-apiserver.yaml",
        "/home/ubuntu/models",
        "/root/models",
        "/var/lib/kubelet/pods",
        "/var/lib/kubelet/device-plugins",
        "/var/log",
        "/data/models",
        "/tmp",
        "/dev/nvidia0",
        "/etc/ssl/certs",
        "/etc/kubernetes-backup",
        "/.config/fish",
        # below a file of the layout: a directory of that name is not the file
        "/.aws/config/good",
        "/root/.aws/credentials/x",
        "/home/ubuntu/.kube/config/x",
        "/root/.docker/config.json/x",
        "/etc/kubernetes/admin.conf/x",
    ],
)
def test_paths_beside_the_credential_files_stay_quiet(path: str) -> None:
    assert not exposes_credential_files(path)


def test_every_credential_file_entry_says_what_it_holds() -> None:
    paths = [p for p, _ in HOST_CREDENTIAL_FILES]
    assert len(paths) == len(set(paths))
    assert all(p.startswith(("/", "~/")) and why.strip() for p, why in HOST_CREDENTIAL_FILES)


def test_every_leaf_is_a_credential_file() -> None:
    """A leaf is a file of the layout: itself exposed, nothing below it."""
    assert len(HOST_CREDENTIAL_LEAVES) == len(set(HOST_CREDENTIAL_LEAVES))
    for leaf in HOST_CREDENTIAL_LEAVES:
        path = leaf.replace("~/", "/root/").replace("*", "admin")
        assert exposes_credential_files(path), leaf
        assert not exposes_credential_files(path + "/below"), leaf


def hostpath_pod(path: str, **extra: Any) -> Doc:
    return pod(
        container(
            volumeMounts=[{"name": "h", "mountPath": "/host", "readOnly": True}],
            securityContext={"runAsUser": 1000, "runAsNonRoot": True},
        ),
        volumes=[{"name": "h", "hostPath": {"path": path}}],
        **extra,
    )


def test_a_read_only_hostpath_of_aws_credentials_is_t1552_001(catalogue: Catalogue) -> None:
    doc = hostpath_pod("/home/ubuntu/.aws")
    assert "T1552.001" in techniques(doc)
    assert reachable(doc, catalogue, "state:exec@Pod/nim/p[app]", "state:credentials@Pod/nim/p")
    assert "T1552.001" not in techniques(hostpath_pod("/data/models"))


# -- runtime socket directories ---------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/var/run/docker",
        "/run/docker",
        "/var/run/docker/containerd",
        "/run/docker/containerd/containerd.sock",
        "/run/containerd",
        "/var/run/containerd",
        "/var/run/crio",
        "/run/crio",
        "/var/run",
        "/run",
        "/var",
        "/",
    ],
)
def test_a_directory_holding_a_runtime_socket_is_runtime_control(
    path: str, catalogue: Catalogue
) -> None:
    assert "host_mount:runtime_socket" in classify_hostpaths([f"hostpath:{path}:ro"])
    doc = hostpath_pod(path)
    assert reachable(doc, catalogue, "state:exec@Pod/nim/p[app]", "state:runtime_control@node")


@pytest.mark.parametrize("path", ["/var/run/secrets-cache", "/run/xtables.lock", "/run/user"])
def test_other_run_directories_are_not_runtime_control(path: str) -> None:
    assert "host_mount:runtime_socket" not in classify_hostpaths([f"hostpath:{path}:ro"])


# -- a PID namespace shared between the pod's containers ------------------------------------------

NGC_FROM_SECRET = [
    {"name": "NGC_API_KEY", "valueFrom": {"secretKeyRef": {"name": "ngc-api", "key": "k"}}}
]
SAME_USER = {"securityContext": {"runAsUser": 1000, "runAsNonRoot": True}}


def shared_pid_pod(share: bool, puller: Doc | None = None, app: Doc | None = None) -> Doc:
    return pod(
        puller or container("puller", env=NGC_FROM_SECRET),
        app or container("app", ports=[{"containerPort": 8000}]),
        shareProcessNamespace=share,
        **SAME_USER,
    )


def test_a_shared_pid_namespace_hands_the_other_containers_credentials(
    catalogue: Catalogue,
) -> None:
    start, prize = "state:exec@Pod/nim/p[app]", "state:credentials@Pod/nim/p"
    assert reachable(shared_pid_pod(True), catalogue, start, prize)
    assert not reachable(shared_pid_pod(False), catalogue, start, prize)
    (w,) = extract(load(shared_pid_pod(True))).workloads
    assert "share_process_namespace" in w.pod
    app = next(c for c in w.containers if c.name == "app")
    assert "pid_peer:env_credential" in app.facts
    assert w.evidence["app/pid_peer:env_credential"].detail == "container puller holds NGC_API_KEY"


def test_the_kubehound_shared_pid_pods_have_no_credential_to_take() -> None:
    """SHARE_PS_NAMESPACE.yaml shares a PID namespace between credential-less containers:
    the step needs a prize (KubeHound's edge, T1080, is shared-pid-peer-exec:
    tests/graph/test_pid_peer_exec.py)."""
    docs = [
        pod(container("a"), container("b"), container("c"), shareProcessNamespace=True),
    ]
    report = analyze(docs)
    ends = {p.steps[-1].id for w in report.workloads for t in w.techniques for p in t.paths}
    assert "shared-pid-proc-credentials" not in ends


@pytest.mark.parametrize(
    ("reader", "peer", "readable"),
    [
        *PTRACE_CASES,
        # as root, then the same user: the peer may hold no capability the reader lacks
        ({"runAsUser": 1000}, {"runAsUser": 0}, True),
        ({"runAsUser": 1000}, {"runAsUser": 0, "capabilities": {"add": ["NET_ADMIN"]}}, False),
        ({"runAsUser": 1000, "allowPrivilegeEscalation": False}, {"runAsUser": 0}, False),
        (
            {
                "runAsUser": 1001,
                "allowPrivilegeEscalation": False,
                "capabilities": {"add": ["SYS_PTRACE"]},
            },
            {"runAsUser": 1000},
            False,  # a non-root process holds no effective capability
        ),
        (
            {
                "runAsUser": 1001,
                "allowPrivilegeEscalation": True,
                "capabilities": {"add": ["SYS_PTRACE"]},
            },
            {"runAsUser": 1000},
            True,  # a setuid binary regains the capability
        ),
        ({"runAsUser": 0}, {"runAsUser": 0}, True),
        ({"runAsUser": 0, "privileged": True}, {"runAsUser": 0, "privileged": True}, True),
        # CAP_SYS_PTRACE alone passes the check, but environ is 0400 and the other user's
        (
            {"runAsUser": 0, "capabilities": {"drop": ["ALL"], "add": ["SYS_PTRACE"]}},
            {"runAsUser": 1000},
            False,
        ),
        (
            {
                "runAsUser": 0,
                "capabilities": {"drop": ["ALL"], "add": ["SYS_PTRACE", "DAC_READ_SEARCH"]},
            },
            {"runAsUser": 1000},
            True,
        ),
        ({}, {}, True),  # the images decide: they may run as one user
        ({}, {"runAsUser": 1000}, True),
    ],
)
def test_which_container_may_read_which(reader: Doc, peer: Doc, readable: bool) -> None:
    doc = pod(
        container("puller", env=NGC_FROM_SECRET, securityContext=peer),
        container("app", securityContext=reader),
        shareProcessNamespace=True,
    )
    (w,) = extract(load(doc)).workloads
    app = next(c for c in w.containers if c.name == "app")
    assert ("pid_peer:env_credential" in app.facts) is readable


def test_a_secret_mounted_in_the_other_container_is_read_through_proc_root(
    catalogue: Catalogue,
) -> None:
    puller = container(
        "puller", volumeMounts=[{"name": "key", "mountPath": "/etc/ssh-key", "readOnly": True}]
    )
    doc = shared_pid_pod(True, puller=puller)
    doc["spec"]["volumes"] = [{"name": "key", "secret": {"secretName": "mpi-ssh-key"}}]
    (w,) = extract(load(doc)).workloads
    app = next(c for c in w.containers if c.name == "app")
    assert "pid_peer:secret_mount" in app.facts
    assert reachable(doc, catalogue, "state:exec@Pod/nim/p[app]", "state:credentials@Pod/nim/p")


def test_no_share_process_namespace_breaks_the_path() -> None:
    report = analyze(shared_pid_pod(True))
    (w,) = report.workloads
    paths = [
        p for t in w.techniques for p in t.paths if p.steps[-1].id == "shared-pid-proc-credentials"
    ]
    assert paths
    assert all("no-share-process-namespace@Pod/nim/p" in p.broken_by for p in paths)
    (after,) = report.apply(["no-share-process-namespace@Pod/nim/p"]).workloads
    ends = {p.steps[-1].id for t in after.techniques for p in t.paths}
    assert "shared-pid-proc-credentials" not in ends


# -- monotonicity -------------------------------------------------------------------------------

HOST_PATHS = [
    "/home/ubuntu/.aws",
    "/etc/kubernetes",
    "/var/lib/kubelet/pki",
    "/var/run/docker",
    "/run/containerd",
    "/var/run",
    "/",
    "/data/models",
]


def multi_hostpath_pod(paths: tuple[str, ...], share: bool = False) -> Doc:
    mounts = [{"name": f"h{i}", "mountPath": f"/h{i}", "readOnly": True} for i in range(len(paths))]
    volumes = [{"name": f"h{i}", "hostPath": {"path": p}} for i, p in enumerate(paths)]
    return pod(
        container("puller", env=NGC_FROM_SECRET),
        container("app", volumeMounts=mounts),
        volumes=volumes,
        shareProcessNamespace=share,
        **SAME_USER,
    )


@pytest.mark.parametrize(
    ("before", "added"),
    [
        (before, added)
        for before in [(), ("/data/models",), ("/var/run/docker",), ("/etc/kubernetes",)]
        for added in HOST_PATHS
        if added not in before
    ],
)
def test_adding_a_hostpath_never_removes_a_technique(before: tuple[str, ...], added: str) -> None:
    less = techniques(multi_hostpath_pod(before))
    more = techniques(multi_hostpath_pod((*before, added)))
    assert less <= more, sorted(less - more)


@pytest.mark.parametrize("paths", [(), *itertools.combinations(HOST_PATHS[:4], 1)])
def test_sharing_the_pid_namespace_never_removes_a_technique(paths: tuple[str, ...]) -> None:
    less = techniques(multi_hostpath_pod(paths, share=False))
    more = techniques(multi_hostpath_pod(paths, share=True))
    assert less <= more, sorted(less - more)


def test_a_secret_mount_is_read_through_the_root_where_environ_is_not() -> None:
    # CAP_SYS_PTRACE alone: /proc/<pid>/root opens (the Secret's files are 0644 by
    # default), /proc/<pid>/environ (0400, the other user's) does not
    peer = container(
        "puller",
        env=NGC_FROM_SECRET,
        securityContext={"runAsUser": 1000},
        volumeMounts=[{"name": "key", "mountPath": "/etc/ngc"}],
    )
    reader = container(
        "app",
        securityContext={"runAsUser": 0, "capabilities": {"drop": ["ALL"], "add": ["SYS_PTRACE"]}},
    )
    doc = pod(
        peer,
        reader,
        shareProcessNamespace=True,
        volumes=[{"name": "key", "secret": {"secretName": "ngc"}}],
    )
    (w,) = extract(load(doc)).workloads
    app = next(c for c in w.containers if c.name == "app")
    assert "pid_peer:secret_mount" in app.facts
    assert "pid_peer:env_credential" not in app.facts
