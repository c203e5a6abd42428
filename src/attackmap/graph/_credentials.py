"""Stolen credentials: what the credentials a workload holds open elsewhere.

The attacker state ``credentials`` is a workload's credentials as a whole (its environment,
its mounted Secrets). This module says what kinds they are and where each leads, from the
manifests alone:

* an NGC or Hugging Face key (``NGC_API_KEY``, ``HF_TOKEN``... by name, by the value's
  shape, or a Secret key of that name): the organisation's private models and images;
* registry credentials (a mounted or injected Secret of type ``dockerconfigjson`` /
  ``dockercfg``) for a registry other workloads pull images from: the registries are the
  hosts the Secret's data names, else those of the images pulled with it as an
  ``imagePullSecret``;
* an SSH key Secret (type ``ssh-auth``, or ``ssh`` in the Secret's name or mount path)
  that another workload of the namespace mounts while serving SSH (multi-node NIM: the
  leader's key is the workers' ``authorized_keys``);
* a ServiceAccount token Secret (type ``service-account-token``): that account's rights,
  whether the pod holds it or its ServiceAccount may read it through the API;
* a kubeconfig: a Secret or ConfigMap mounted where kubectl looks (a ``.kube`` directory),
  or whose name or key names a kubeconfig (``kubeconfig``, ``admin.conf``...), an
  environment variable read from such a key, or any volume ``KUBECONFIG`` or
  ``--kubeconfig`` points into. Its user is not in the manifests (values are not read).

A Secret the pod mounts or reads through ``env``/``envFrom`` counts as held; a Secret not
among the inputs is known by its name and the key the pod reads only.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from attackmap.model import Inventory, Workload
from attackmap.model._objects import ConfigMapMeta, SecretMeta, registry_host
from attackmap.model._workload import Container

ALL_NAMESPACES = "*"  # every namespace, in RBAC scopes (as in attackmap.graph._facts)

#: the ports sshd listens on in the images attackmap knows (22; multi-node NIM's 2222)
SSH_PORTS = (22, 2222)

# Variable (and Secret key) names of NGC and Hugging Face keys.
NGC_NAMES = frozenset({"NGC_API_KEY", "NGC_CLI_API_KEY", "NVIDIA_API_KEY"})
HF_NAMES = frozenset(
    {
        "HF_TOKEN",
        "HUGGING_FACE_HUB_TOKEN",
        "HUGGINGFACE_HUB_TOKEN",
        "HUGGINGFACE_TOKEN",
        "HF_API_TOKEN",
    }
)
_SHAPES = {"nvidia-api-key": "ngc", "huggingface-token": "huggingface"}
_DOCKER_TYPES = frozenset({"kubernetes.io/dockerconfigjson", "kubernetes.io/dockercfg"})
_DOCKER_KEYS = frozenset({".dockerconfigjson", ".dockercfg"})
_SSH_KEYS = frozenset({"ssh-privatekey", "id_rsa", "id_ecdsa", "id_ed25519", "id_dsa"})
# kubeadm's kubeconfig files (/etc/kubernetes/*.conf), often copied into Secrets as they are
_KUBEADM_CONFS = frozenset(
    {"admin.conf", "super-admin.conf", "kubelet.conf", "controller-manager.conf", "scheduler.conf"}
)
_KUBECONFIG_WORDS = ("kubeconfig", "kube-config", "kube_config", "kube.config")


def kubeconfig_name(name: str) -> bool:
    """Whether a Secret, ConfigMap, key, file or variable name names a kubeconfig:
    ``kubeconfig`` (any case, also ``kube-config``, ``kube_config``, ``kube.config``) in
    it, or a kubeadm kubeconfig file name (``admin.conf``...)."""
    low = name.lower()
    return any(w in low for w in _KUBECONFIG_WORDS) or low in _KUBEADM_CONFS


def _kubectl_path(path: str) -> bool:
    """Whether kubectl looks there (a ``.kube`` directory), or a component names a
    kubeconfig."""
    parts = [p for p in path.split("/") if p]
    return ".kube" in parts or any(kubeconfig_name(p) for p in parts)


def image_sshd(w: Workload) -> bool:
    """Whether the workload is a multi-node NIMService's worker: the NIM Operator renders
    no command for it (the image's entrypoint starts sshd on 2222 for the leader's
    mpirun, with the key Secret it mounts); attackmap takes it to serve SSH."""
    return w.ref.kind == "NIMService" and w.ref.component == "worker"


def serves_ssh(w: Workload, c: Container) -> bool:
    """Whether the container serves SSH: its command starts sshd, it declares port
    22/2222 or a port named ``ssh*``, or it is a multi-node NIMService worker."""
    return (
        c.ssh_server
        or image_sshd(w)
        or any(
            p.container_port in SSH_PORTS or (p.name or "").lower().startswith("ssh")
            for p in c.ports
        )
    )


@dataclass(frozen=True)
class HeldSecret:
    """A Secret a container of a workload holds: mounted, or read into its environment."""

    container: str
    name: str
    field: str
    mount_path: str | None = None
    key: str | None = None  # the one key an env variable reads


def held_secrets(w: Workload) -> Iterator[HeldSecret]:
    """The Secrets ``w``'s containers (ephemeral ones excepted) hold, in container order."""
    for c in w.pod.containers:
        if c.kind == "ephemeral":
            continue
        for m, v in w.pod.volume_mounts(c):
            names = [v.secret_name] if v.type == "secret" and v.secret_name else []
            names += list(v.projected_secrets) if v.type == "projected" else []
            for name in names:
                yield HeldSecret(
                    c.name,
                    name,
                    f"containers[{c.name}].volumeMounts[{m.mount.name}]",
                    mount_path=m.mount.mount_path,
                )
        for e in c.env:
            if e.source == "secret" and e.ref_name:
                yield HeldSecret(
                    c.name, e.ref_name, f"containers[{c.name}].env[{e.name}]", key=e.ref_key
                )
        for ef in c.env_from:
            if ef.source == "secret":
                yield HeldSecret(c.name, ef.name, f"containers[{c.name}].envFrom")


def _is_ssh_key(held: HeldSecret, meta: SecretMeta | None) -> bool:
    if meta is not None and (meta.type == "kubernetes.io/ssh-auth" or _SSH_KEYS & set(meta.keys)):
        return True
    return held.mount_path is not None and (
        "ssh" in held.name.lower() or "ssh" in held.mount_path.lower()
    )


def _is_registry(held: HeldSecret, meta: SecretMeta | None) -> bool:
    if held.key is not None:
        return held.key in _DOCKER_KEYS
    return meta is not None and (meta.type in _DOCKER_TYPES or bool(_DOCKER_KEYS & set(meta.keys)))


@dataclass(frozen=True)
class CredentialIndex:
    """What each workload's credentials open: registry hosts it can push to that others
    pull from, SSH keys other workloads accept, ServiceAccounts whose token it holds."""

    #: workload key -> (registry host, evidence field, detail) it holds credentials for
    registries: dict[str, list[tuple[str, str, str]]] = field(default_factory=dict)
    #: registry host -> workload keys whose images come from it
    pullers: dict[str, list[str]] = field(default_factory=dict)
    #: workload key -> (ns/secret, evidence field) of the SSH key Secrets it holds
    ssh_keys: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    #: ns/secret -> (workload key, container) serving SSH with that key mounted
    ssh_servers: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    #: workload key -> (ns/serviceaccount, evidence field, Secret) of token Secrets it holds
    tokens: dict[str, list[tuple[str, str, str]]] = field(default_factory=dict)
    #: (namespace, name) -> the Secret, for the Secrets among the inputs
    secrets: dict[tuple[str, str], SecretMeta] = field(default_factory=dict)
    #: namespace -> (ns/serviceaccount, Secret name) of the token Secrets kept there
    token_secrets: dict[str, list[tuple[str, str]]] = field(default_factory=dict)

    #: namespace -> (Secret name, key) of the Secrets known to hold an NGC or Hugging Face
    #: key: a key of those names in a Secret among the inputs, or a pod's secretKeyRef
    model_key_secrets: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    #: (namespace, name) -> the ConfigMap, for the ConfigMaps among the inputs
    configmaps: dict[tuple[str, str], ConfigMapMeta] = field(default_factory=dict)

    def readable_tokens(self, scope: Mapping[str, frozenset[str]]) -> list[tuple[str, str]]:
        """``(ns/serviceaccount, ns/secret)`` of the token Secrets a holder with RBAC
        ``scope`` may read through the API (``read_secrets``: get, list or watch)."""
        return [
            (account, f"{ns}/{name}")
            for ns in _readable(scope, self.token_secrets)
            for account, name in self.token_secrets.get(ns, ())
        ]

    def readable_facts(self, scope: Mapping[str, frozenset[str]]) -> list[tuple[str, str]]:
        """``(fact, detail)``: ``credential:readable_token_secret`` and
        ``credential:readable_model_key`` where RBAC ``scope`` reads such Secrets."""
        out: list[tuple[str, str]] = []
        tokens = self.readable_tokens(scope)
        if tokens:
            shown = ", ".join(f"Secret {s} (ServiceAccount {a})" for a, s in tokens[:3])
            more = " and more" if len(tokens) > 3 else ""
            out.append(("credential:readable_token_secret", f"may read {shown}{more}"))
        keys = [
            f"Secret {ns}/{name} ({key})"
            for ns in _readable(scope, self.model_key_secrets)
            for name, key in self.model_key_secrets.get(ns, ())
        ]
        if keys:
            more = " and more" if len(keys) > 3 else ""
            out.append(("credential:readable_model_key", f"may read {', '.join(keys[:3])}{more}"))
        return out


def _readable(scope: Mapping[str, frozenset[str]], by_namespace: Mapping[str, object]) -> list[str]:
    """The namespaces of ``by_namespace`` where ``scope`` may read Secrets."""
    where = scope.get("read_secrets", frozenset())
    return sorted(by_namespace) if ALL_NAMESPACES in where else sorted(where)


def build_credential_index(inventory: Inventory) -> CredentialIndex:
    """The :class:`CredentialIndex` of ``inventory``'s workloads."""
    secrets = {(s.ref.namespace or "default", s.ref.name): s for s in inventory.secrets}
    configmaps = {(m.ref.namespace or "default", m.ref.name): m for m in inventory.configmaps}
    index = CredentialIndex(secrets=secrets, configmaps=configmaps)
    for (ns, name), secret in sorted(secrets.items()):
        if secret.type == "kubernetes.io/service-account-token" and secret.service_account:
            index.token_secrets.setdefault(ns, []).append((f"{ns}/{secret.service_account}", name))
    keys: set[tuple[str, str, str]] = {
        (ns, name, k)
        for (ns, name), secret in secrets.items()
        for k in secret.keys
        if k.upper() in NGC_NAMES | HF_NAMES
    }
    for w in inventory.workloads:
        for container in w.pod.containers:
            for e in container.env:
                if (
                    e.source == "secret"
                    and e.ref_name
                    and (e.ref_key or "").upper() in NGC_NAMES | HF_NAMES
                ):
                    keys.add((w.namespace, e.ref_name, e.ref_key or ""))
    for ns, name, k in sorted(keys):
        index.model_key_secrets.setdefault(ns, []).append((name, k))
    pulled_with: dict[tuple[str, str], set[str]] = {}
    for w in inventory.workloads:
        key = str(w.ref)
        hosts = sorted({c.image.registry for c in w.pod.containers if c.image is not None})
        for host in hosts:
            index.pullers.setdefault(registry_host(host), []).append(key)
        for name in w.pod.image_pull_secrets:
            pulled_with.setdefault((w.namespace, name), set()).update(
                registry_host(h) for h in hosts
            )
    for w in inventory.workloads:
        key = str(w.ref)
        ns = w.namespace
        for held in held_secrets(w):
            meta = secrets.get((ns, held.name))
            where = f"{ns}/{held.name}"
            if _is_registry(held, meta):
                known = meta.registries if meta is not None and meta.registries else ()
                via = "its data" if known else "pods that pull with it"
                for host in known or sorted(pulled_with.get((ns, held.name), ())):
                    index.registries.setdefault(key, []).append(
                        (host, held.field, f"Secret {where}: credentials for {host} ({via})")
                    )
            if _is_ssh_key(held, meta):
                index.ssh_keys.setdefault(key, []).append((where, held.field))
                c = w.pod.container(held.container)
                if c is not None and c.kind in ("regular", "sidecar") and serves_ssh(w, c):
                    servers = index.ssh_servers.setdefault(where, [])
                    if (key, c.name) not in servers:
                        servers.append((key, c.name))
            if (
                meta is not None
                and meta.type == "kubernetes.io/service-account-token"
                and meta.service_account
            ):
                index.tokens.setdefault(key, []).append(
                    (f"{ns}/{meta.service_account}", held.field, f"Secret {where}")
                )
    return index


@dataclass(frozen=True)
class HeldKubeconfig:
    """A kubeconfig a container of a workload holds, and why attackmap takes it for one."""

    container: str
    field: str
    detail: str


def _described(kind: str, ns: str, name: str, index: CredentialIndex) -> str:
    """``Secret ns/name`` with the file and line that define it, when among the inputs."""
    meta = (index.secrets if kind == "Secret" else index.configmaps).get((ns, name))
    where = f" ({meta.source})" if meta is not None and meta.source is not None else ""
    return f"{kind} {ns}/{name}{where}"


def _object_keys(kind: str, ns: str, name: str, index: CredentialIndex) -> tuple[str, ...]:
    meta = (index.secrets if kind == "Secret" else index.configmaps).get((ns, name))
    return meta.keys if meta is not None else ()


def held_kubeconfigs(w: Workload, index: CredentialIndex) -> list[HeldKubeconfig]:
    """The kubeconfigs ``w``'s containers (ephemeral ones excepted) hold, in container
    order: a Secret or ConfigMap mounted in a ``.kube`` directory (or at a path naming a
    kubeconfig), whose name or a key of which names a kubeconfig; any volume the container's
    ``KUBECONFIG`` or ``--kubeconfig`` points into; a variable read from such an object's
    kubeconfig key, or named like a kubeconfig (``KUBECONFIG_DATA``)."""
    ns = w.namespace
    out: list[HeldKubeconfig] = []
    for c in w.pod.containers:
        if c.kind == "ephemeral":
            continue
        for m, v in w.pod.volume_mounts(c):
            mount = m.mount.mount_path.rstrip("/") or "/"
            objects = [("Secret", n) for n in ([v.secret_name] if v.secret_name else [])]
            objects += [
                ("ConfigMap", n) for n in ([v.config_map_name] if v.config_map_name else [])
            ]
            objects += [("Secret", n) for n in v.projected_secrets]
            objects += [("ConfigMap", n) for n in v.projected_config_maps]
            fld = f"containers[{c.name}].volumeMounts[{m.mount.name}]"
            pointed = [p for p in c.kubeconfig_paths if p == mount or p.startswith(mount + "/")]
            what = (
                ", ".join(_described(k, ns, n, index) for k, n in objects)
                or f"{v.type} volume {v.name}"
            )
            if pointed:
                out.append(
                    HeldKubeconfig(c.name, fld, f"{what} at {mount}: the kubeconfig {pointed[0]}")
                )
                continue
            if not objects:
                continue
            sub = (m.mount.sub_path or "").rsplit("/", 1)[-1]
            if _kubectl_path(mount) or kubeconfig_name(sub):
                out.append(HeldKubeconfig(c.name, fld, f"{what} mounted at {m.mount.mount_path}"))
                continue
            for kind, name in objects:
                keys = [k for k in _object_keys(kind, ns, name, index) if kubeconfig_name(k)]
                if keys or kubeconfig_name(name):
                    why = f"key {keys[0]}" if keys else "its name"
                    detail = f"{_described(kind, ns, name, index)} ({why}) at {mount}"
                    out.append(HeldKubeconfig(c.name, fld, detail))
                    break
        for e in c.env:
            if e.source not in ("secret", "configMap") or not e.ref_name:
                continue
            if kubeconfig_name(e.ref_key or "") or kubeconfig_name(e.name):
                kind = "Secret" if e.source == "secret" else "ConfigMap"
                detail = f"{_described(kind, ns, e.ref_name, index)} key {e.ref_key} as {e.name}"
                out.append(HeldKubeconfig(c.name, f"containers[{c.name}].env[{e.name}]", detail))
        for ef in c.env_from:
            if ef.source not in ("secret", "configMap"):
                continue
            kind = "Secret" if ef.source == "secret" else "ConfigMap"
            keys = [k for k in _object_keys(kind, ns, ef.name, index) if kubeconfig_name(k)]
            if keys:
                detail = f"{_described(kind, ns, ef.name, index)} key {keys[0]}"
                out.append(HeldKubeconfig(c.name, f"containers[{c.name}].envFrom", detail))
    return out


def credential_facts(w: Workload, index: CredentialIndex) -> list[tuple[str, str, str]]:
    """``(fact, field, detail)`` of the pod-level credential facts of ``w``:
    ``credential:ngc``, ``credential:huggingface``, ``credential:in_pod_spec``,
    ``credential:registry_push``, ``credential:ssh_peer``, ``credential:sa_token_secret``
    and ``credential:kubeconfig``."""
    key = str(w.ref)
    ns = w.namespace
    out: list[tuple[str, str, str]] = []
    for c in w.pod.containers:
        if c.kind == "ephemeral":
            continue
        for e in c.env:
            kind = _SHAPES.get(e.credential_kind or "")
            upper = e.name.upper()
            ref_key = (e.ref_key or "").upper() if e.source == "secret" else ""
            if not (e.has_value or e.source == "secret"):
                continue
            if e.source == "literal" and e.credential_like:
                out.append(
                    (
                        "credential:in_pod_spec",
                        f"containers[{c.name}].env[{e.name}]",
                        f"{e.name} (value written in the pod template)",
                    )
                )
            if kind == "ngc" or upper in NGC_NAMES or ref_key in NGC_NAMES:
                out.append(("credential:ngc", f"containers[{c.name}].env[{e.name}]", e.name))
            if kind == "huggingface" or upper in HF_NAMES or ref_key in HF_NAMES:
                out.append(
                    ("credential:huggingface", f"containers[{c.name}].env[{e.name}]", e.name)
                )
    for held in held_secrets(w):
        meta = index.secrets.get((ns, held.name))
        if meta is None or held.key is not None:
            continue
        keys = {k.upper() for k in meta.keys}
        if keys & NGC_NAMES:
            out.append(("credential:ngc", held.field, f"Secret {ns}/{held.name}"))
        if keys & HF_NAMES:
            out.append(("credential:huggingface", held.field, f"Secret {ns}/{held.name}"))
    for host, fld, detail in index.registries.get(key, ()):
        others = [p for p in index.pullers.get(host, ()) if p != key]
        if others:
            more = f" and {len(others) - 1} more" if len(others) > 1 else ""
            out.append(
                ("credential:registry_push", fld, f"{detail}; {others[0]}{more} pull from it")
            )
    for where, fld in index.ssh_keys.get(key, ()):
        peers = [s for s in index.ssh_servers.get(where, ()) if s[0] != key]
        if peers:
            more = f" and {len(peers) - 1} more" if len(peers) > 1 else ""
            out.append(
                (
                    "credential:ssh_peer",
                    fld,
                    f"SSH key Secret {where}, mounted by {peers[0][0]} [{peers[0][1]}]{more} "
                    "which serves SSH",
                )
            )
    for account, fld, detail in index.tokens.get(key, ()):
        out.append(
            ("credential:sa_token_secret", fld, f"{detail}: token of ServiceAccount {account}")
        )
    for kubeconfig in held_kubeconfigs(w, index)[:1]:
        out.append(
            (
                "credential:kubeconfig",
                kubeconfig.field,
                f"{kubeconfig.detail}; its user is not in the manifests (values are not read): "
                "attackmap assumes cluster-admin",
            )
        )
    return out
