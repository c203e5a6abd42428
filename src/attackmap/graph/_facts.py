"""Facts: the one place where Kubernetes fields become the vocabulary the rules speak.

Extraction (:func:`extract`) turns each linked :class:`~attackmap.model.Workload` into
*base facts* — ``privileged``, ``cap_add:SYS_ADMIN``, ``hostpath:/var/log:rw``, ``sa_token``,
``route:external``, ``rbac:exec`` … — each with the evidence (file, line, field) that
produced it. Derivation (:func:`derive`) adds *derived facts* that need reasoning across
fields: effective and usable capabilities, which escape syscalls seccomp lets through,
what AppArmor denies, what a hostPath exposes, whether the pod is reachable.

Controls edit base facts; derived facts are always recomputed from them, so a control's
effect is exactly what its change to the manifest does (proven by re-analysis in tests).
The vocabulary is documented in :data:`FACT_FAMILIES` (and ``docs/facts.md``).
"""

import fnmatch
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property, partial
from pathlib import Path
from sys import intern
from typing import TYPE_CHECKING, Any, NamedTuple

from attackmap.errors import AttackmapError
from attackmap.graph._credentials import (
    SSH_PORTS,
    CredentialIndex,
    HeldKubeconfig,
    build_credential_index,
    credential_facts,
    held_kubeconfigs,
    image_sshd,
)
from attackmap.graph._facts_ai import AI_FACT_FAMILIES, ai_facts
from attackmap.graph._placement import ANY_NODE, Placement, place
from attackmap.graph._stores import StoreIndex, is_model_store, store_facts, store_mounts
from attackmap.model import Inventory, Workload
from attackmap.model._context import ClusterContext
from attackmap.model._objects import NetworkPolicy
from attackmap.model._rbac import Binding, PolicyRule, Role
from attackmap.model._refs import ObjectRef, SourceLocation
from attackmap.model._workload import (
    LINUX_CAPABILITIES,
    Container,
    ExposureRoute,
    credential_kind,
    is_credential_name,
    is_password_pwd,
)

if TYPE_CHECKING:  # the loader's binding index, passed through from extract()
    from attackmap.graph._network import NetworkIndex, ServedPort
    from attackmap.model._links import _BindingIndex

# The runtime's default capability set (containerd/CRI-O/moby).
DEFAULT_CAPABILITIES = frozenset(
    {
        "AUDIT_WRITE",
        "CHOWN",
        "DAC_OVERRIDE",
        "FOWNER",
        "FSETID",
        "KILL",
        "MKNOD",
        "NET_BIND_SERVICE",
        "NET_RAW",
        "SETFCAP",
        "SETGID",
        "SETPCAP",
        "SETUID",
        "SYS_CHROOT",
    }
)

# fact family (``*`` = an argument) -> what it means. Kept in sync with the code below by
# tests; rendered into docs/facts.md.
FACT_FAMILIES: dict[str, str] = {
    # container, base
    "privileged": "the container is privileged (securityContext.privileged)",
    "cap_add:*": "capability added (capabilities.add, normalised: no CAP_, upper case, ALL expanded)",
    "cap_drop:*": "capability dropped (capabilities.drop; cap_drop:ALL when ALL is dropped)",
    "uid_root": "the process may run as uid 0 (runAsUser 0, or unset without runAsNonRoot: true)",
    "allow_privilege_escalation": "allowPrivilegeEscalation is not false (setuid binaries regain capabilities)",
    "allow_privilege_escalation:forced": "as allow_privilege_escalation, in a container that is privileged or adds the literal CAP_SYS_ADMIN (the API server refuses false there)",
    "seccomp:*": "seccompProfile.type (RuntimeDefault, Localhost, Unconfined, unset)",
    "apparmor:*": "AppArmor profile type (field or deprecated annotation; unset when neither)",
    "hostpath:*": "hostPath mounted into the container: hostpath:<path>:ro|rw",
    "gpu": "the container can use GPUs (resource, runtimeClass, NVIDIA_VISIBLE_DEVICES, CDI, /dev/nvidia*, DRA)",
    "env:credential": "a credential-like environment variable (NGC_API_KEY, HF_TOKEN, *_TOKEN, *_KEY...; not *_FILE, *_PATH, *_DIR..., which hold a path), a literal value shaped like a credential under any name (see Credential shapes), a variable taken from a Secret (secretKeyRef) under any name, or envFrom a Secret",
    "secret_mount": "a Secret is mounted as files",
    "kubeconfig": "the container holds a kubeconfig: a Secret or ConfigMap mounted in a .kube directory (or at a path naming a kubeconfig) or whose name or a key names one (kubeconfig, admin.conf...), a variable read from such a key, or a volume KUBECONFIG or --kubeconfig points into",
    "model_store:rw": "the model store (/model-store, NIM_CACHE_PATH) is mounted writable",
    "model_store:shared": "the writable model store is shared (RWX PVC, NFS or hostPath)",
    "shared_store:write": "the container can write data another workload mounts: the same PVC or PV, NFS export or host directory, paths overlapping (docs/model.md, Shared storage)",
    "shared_store:write_code": "as shared_store:write, and another workload runs code from that data (a Triton or TorchServe repository, trust_remote_code on its model store, a pickled model, a script or PYTHONPATH there)",
    "shared_store:read_model": "the container can read data where another workload keeps its model (its model store, or a model repository it names)",
    "remote_service": "the container serves SSH (its command starts sshd, port 22/2222 or a port named ssh, a multi-node NIMService worker; or a Service sends to port 22/2222 of the pod, declared or not)",
    "remote_service:routed": "a LoadBalancer/NodePort Service, Ingress or Gateway route targets the SSH port",
    "limits:no_memory": "no memory limit",
    "limits:no_cpu": "no CPU limit",
    "long_running": "a regular or sidecar container (serves while the pod runs)",
    "rootfs:rw": "the container's root filesystem is mounted read-write (securityContext.readOnlyRootFilesystem not true)",
    # container, base: the AI system (attackmap.graph._facts_ai)
    **AI_FACT_FAMILIES,
    "pid_peer:*": "another running container of the pod holds credentials (env_credential: env:credential; secret_mount: a mounted Secret) and this one's processes could read its /proc/<pid>/environ and /proc/<pid>/root if the PID namespace were shared: CAP_SYS_PTRACE usable, or the same user (one the image decides counts) with no capability the reader lacks when that user is root, or a reader that may hold uid 0 (through a setuid binary too) with CAP_SETUID usable, which takes the other's user as its file-system user first (the groups compared where the manifests set both: CAP_SETGID takes the other's); exec: this one could also write another running container's root filesystem through /proc/<pid>/root (that check, the other's root filesystem not read-only, and this one root or the other's user)",
    # pod, base
    "host_pid": "hostPID: true",
    "host_network": "hostNetwork: true",
    "host_ipc": "hostIPC: true",
    "share_process_namespace": "shareProcessNamespace: true (the pod's containers see each other's processes)",
    "credential:ngc": "a container holds an NGC key: NGC_API_KEY, NGC_CLI_API_KEY or NVIDIA_API_KEY (literal or from a Secret), a value shaped nvapi-..., or a Secret with such a key mounted or injected",
    "credential:huggingface": "a container holds a Hugging Face token: HF_TOKEN, HUGGING_FACE_HUB_TOKEN... (literal or from a Secret), a value shaped hf_..., or a Secret with such a key",
    "credential:registry_push": "a container holds registry credentials (a dockerconfigjson/dockercfg Secret) for a registry another workload pulls images from (the hosts the Secret names, else those of the images pulled with it)",
    "credential:ssh_peer": "a container holds an SSH key Secret that another workload of the namespace mounts while serving SSH (multi-node NIM's leader and workers)",
    "credential:readable_model_key": "the ServiceAccount may read (get, list or watch Secrets) a namespace holding a Secret with an NGC or Hugging Face key (a key named NGC_API_KEY, HF_TOKEN...; or one a pod reads under that key)",
    "credential:readable_token_secret": "the ServiceAccount may read (get, list or watch Secrets) a namespace holding a ServiceAccount token Secret (type kubernetes.io/service-account-token)",
    "credential:in_pod_spec": "a credential-like environment variable whose value is written in the pod template itself (`value:`, not `valueFrom.secretKeyRef`): whoever may read the pod or its workload through the API reads the value",
    "credential:sa_token_secret": "a container holds a ServiceAccount token Secret (type kubernetes.io/service-account-token)",
    "credential:kubeconfig": "a container holds a kubeconfig (the fact kubeconfig): its user, and so its rights, are not in the manifests",
    "sa_token": "the ServiceAccount token is mounted (automount not disabled, or a projected serviceAccountToken volume)",
    "sa:default_bound": "the pod runs as the namespace's default ServiceAccount, which has RBAC rights",
    "route:external": "a LoadBalancer/NodePort Service (or externalIPs) exposes the pod: clients connect from outside",
    "route:gateway": "an Ingress, HTTPRoute, GRPCRoute or Istio VirtualService (bound to a gateway) exposes the pod: the controller's pods forward outside traffic",
    "route:host": "hostNetwork or a hostPort exposes the pod on the node's address",
    "netpol:ingress_isolated": "a NetworkPolicy (Kubernetes, Cilium or Calico) selects the pod for ingress",
    "netpol:ingress_open": "no NetworkPolicy (Kubernetes, Cilium or Calico) selects the pod for ingress (everything may connect)",
    "netpol:allows_any_pod": "a NetworkPolicy selecting the pod allows ingress from every pod",
    "netpol:allows_external": "a NetworkPolicy selecting the pod allows ingress from outside the cluster",
    "netpol:allows_peers": "a NetworkPolicy selecting the pod allows ingress from some peer (an ingress controller may be one)",
    "netpol:egress_isolated": "a NetworkPolicy (Kubernetes, Cilium or Calico) selects the pod for egress",
    "netpol:egress_open": "no NetworkPolicy (Kubernetes, Cilium or Calico) selects the pod for egress",
    "netpol:egress_allows_any": "a NetworkPolicy selecting the pod allows egress to anywhere",
    "netpol:egress_allows_metadata": "a NetworkPolicy selecting the pod allows egress to the cloud metadata address 169.254.169.254 (ports not checked)",
    "netpol:ingress_allows_pods": "the NetworkPolicies isolating the pod's ingress admit another workload of the input on a port it serves, that workload's egress allowing it (graph/_network.py; a Cilium/Calico policy counts as allowing)",
    "pod_network:reaches": "the pod may open a served port of another workload of the input: its egress and that workload's ingress allow it (graph/_network.py; the evidence names one)",
    "netpol:egress_allows_pods": "the NetworkPolicies isolating the pod's egress let it open a served port of another workload of the input, that workload's ingress admitting it (graph/_network.py; a Cilium/Calico policy counts as allowing)",
    "shm:unbounded": "a memory-backed emptyDir (/dev/shm) without sizeLimit",
    "rbac_sa:*": "a right of the pod's ServiceAccount from bindings that name it (see RBAC_RIGHTS)",
    "rbac_group:*": "a right every ServiceAccount of the namespace holds (bindings to system:serviceaccounts[:<ns>] or system:authenticated)",
    "deploy_admits:privileged": "a namespace the ServiceAccount can create pods in admits privileged pods (labels, exemptions, or a namespace outside the manifests)",
    "nvidia_default_runtime": "the pod may run on a node whose default container runtime is `nvidia` (ClusterContext spec.nvidia.defaultRuntime, or nodePools[].nvidiaDefaultRuntime of a pool its placement admits; every pool when the placement does not narrow it) and names no RuntimeClass whose handler is another: the NVIDIA toolkit's hook runs for its containers, which can ask for GPUs themselves (NVIDIA_VISIBLE_DEVICES in the image). Where the ClusterContext says no such node takes the pod, NVIDIA_VISIBLE_DEVICES alone gives no `gpu`",
    "host_kernel": "the containers run on the node's kernel: no sandboxed runtime (a RuntimeClass handler runsc/gvisor or kata*, one the ClusterContext's runtimeClasses declares vm or userspace-kernel, or containerRuntime.lowLevel kata/gvisor when runtimeClassName is unset); a handler attackmap cannot see counts as the node's kernel",
    "host_users:field": "the pod's hostUsers field leaves it in the node's initial user namespace: hostUsers is not false, or is false on a cluster whose ClusterContext kubernetesVersion is before 1.33 or not given (before 1.33 the API server drops hostUsers unless a feature gate is on)",
    # cluster context, base
    "ctx:nvidia_toolkit_vulnerable": "the ClusterContext's NVIDIA Container Toolkit / GPU Operator / device plugin is vulnerable",
    "ctx:cloud_metadata": "the ClusterContext names the cloud provider: its instance metadata service (169.254.169.254) serves the node's cloud identity on the host network",
    "ctx:cloud_metadata_pods": "the cloud metadata service answers pods off the host network too (no IMDSv2 with hop limit 1, not blocked for pods)",
    "ctx:kernel_exploitable": "the ClusterContext declares a vulnerable kernel, or --assume-kernel-exploit",
    "ctx:cgroup_v1_release_agent": "the nodes run cgroup v1 on a kernel before 5.17 (CVE-2022-0492: release_agent from a user namespace)",
    # placement: in a path's evidence only (where a node step lands), never a condition
    "runs_on:*": "the node classes the workload's pods may run on (nodeSelector, required nodeAffinity, tolerations against the nodePools' taints, nodeName; see docs/model.md): runs_on:gpu,cpu, runs_on:any when any node (the evidence says whether the ClusterContext's nodePools or a conservative assumption decided it), or runs_on:none when no node takes the pod (it would stay Pending); cited by container steps that reach the node",
    "node:*": "the node class a node-scope step runs in: node:<pool> (a ClusterContext node pool), node:<pool>/<node> (a node a nodeName or matchFields singles out), node:<labels> (nodes the manifests' placement constraints tell apart, without nodePools), or node:any (nothing separates the workloads: any may share the node)",
    # derived
    "host_users": "the containers run in the node's initial user namespace (uid 0 is the node's root, capabilities hold on the node): host_users:field, or hostPID, hostIPC or hostNetwork, which the API server rejects together with hostUsers: false (hostNetwork unless an alpha gate is on; taken as the node's)",
    "cap:*": "effective capability (privileged: all; else default - drop + add)",
    "cap_usable:*": "effective capability the attacker can exercise (root, or privilege escalation allowed)",
    "rbac:*": "a right of the pod's ServiceAccount, from rbac_sa:* or rbac_group:* (see RBAC_RIGHTS)",
    "rbac:bind_roles": "the ServiceAccount can bind cluster-admin to itself (ClusterRoleBinding, or RoleBindings in every namespace)",
    "rbac:bind_roles_namespaced": "the ServiceAccount can bind roles to itself in some namespaces (in every one when it can bind cluster-wide)",
    "rbac:escalate_roles": "the ServiceAccount can add rules to a ClusterRole a ClusterRoleBinding binds to it (update or patch, and escalate), or create a ClusterRole, bind it to itself and then do so: every right, cluster-wide",
    "rbac:escalate_roles_namespaced": "as rbac:escalate_roles for a Role or ClusterRole bound to it by a RoleBinding (or one it creates and binds there): every right in those namespaces",
    "rbac:impersonate_admin": "the ServiceAccount can impersonate a cluster-admin identity (cluster-wide rules): a user or group named in resourceNames that is system:masters or bound to cluster-admin by a ClusterRoleBinding, together with some user to impersonate (the API server refuses Impersonate-Group without Impersonate-User); any user without resourceNames counts (administrators are bound by user name outside the manifests)",
    "rootfs:writable": "the container's processes can write its root filesystem: mounted read-write (rootfs:rw), or read-only but remountable (mount -o remount,rw: CAP_SYS_ADMIN usable, the mount syscall allowed, AppArmor not denying mount)",
    "syscall:*": "escape-relevant syscall usable (seccomp allows it and the capability is held)",
    "apparmor:allows_mount": "AppArmor does not deny mount",
    "apparmor:allows_ptrace": "AppArmor does not confine ptrace",
    "host_mount:*": "what the hostPaths expose: sensitive_read, credential_files (see Host credential files), write, write_unknown_owner, kubelet_pods, var_log, log_write, proc_sys_write, runtime_socket",
    "exposed:external": "reachable from outside the cluster (LoadBalancer/NodePort allowed from outside, a gateway route allowed from some peer, or the host's network)",
    "reachable:cluster": "reachable from other pods",
    "egress:open": "egress not restricted",
    "egress:pods": "the pod may open a served port of another workload of the input (pod_network:reaches) and its egress allows it: no egress policy, one that admits that workload, or the host's network (NetworkPolicy does not isolate it)",
    "ingress:pods": "other pods may open connections to the pod: no ingress policy, one that admits some pod, or the host's network",
    "egress:metadata": "the pod's egress reaches the cloud metadata address 169.254.169.254 (no egress policy, or one that allows it)",
}

#: The warning on a GPU container others can connect to whose image is no model server
#: attackmap knows (``MODEL_SERVER_IMAGES``): the ATLAS inference-API steps cannot fire there.
UNKNOWN_MODEL_SERVER = (
    "a long-running GPU container other pods or clients can connect to runs an image attackmap "
    "does not know as a model server: the ATLAS inference-API techniques (AML.T0040 and those "
    "that follow from it) are not assessed for it (docs/facts.md, Model server images)"
)

#: The families named exactly, and the prefixes of the ``*`` ones (``cap:*`` -> ``cap:``).
_FAMILY_NAMES = frozenset(k for k in FACT_FAMILIES if not k.endswith("*"))
_FAMILY_PREFIXES = tuple(k[:-1] for k in FACT_FAMILIES if k.endswith("*"))


def is_known_fact(name: str) -> bool:
    """Whether ``name`` belongs to the fact vocabulary (a glob ``cap_add:*`` counts too)."""
    return name in _FAMILY_NAMES or name.startswith(_FAMILY_PREFIXES)


# RBAC rights: right -> alternatives, each a tuple of (verb, resource, api_group).
_WORKLOAD_KINDS = (
    ("pods", ""),
    ("deployments", "apps"),
    ("statefulsets", "apps"),
    ("daemonsets", "apps"),
    ("replicasets", "apps"),
    ("replicationcontrollers", ""),
    ("jobs", "batch"),
    ("cronjobs", "batch"),
)
RBAC_RIGHTS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "exec": (("create", "pods/exec", ""), ("create", "pods/attach", "")),
    "patch_workloads": tuple((v, r, g) for v in ("patch", "update") for r, g in _WORKLOAD_KINDS),
    "create_pods": (("create", "pods", ""),),
    "create_workloads": tuple(
        ("create", r, g) for r, g in _WORKLOAD_KINDS if r not in ("pods", "jobs", "cronjobs")
    ),
    "create_jobs": (("create", "jobs", "batch"), ("create", "cronjobs", "batch")),
    "read_secrets": tuple((v, "secrets", "") for v in ("get", "list", "watch")),
    # a pod's or a workload's spec, literal env values included (kubectl get -o yaml)
    "read_pod_specs": tuple(
        (v, r, g) for v in ("get", "list", "watch") for r, g in _WORKLOAD_KINDS
    ),
    "list_resources": tuple(
        (v, r, g)
        for v in ("list", "watch")
        for r, g in (
            ("pods", ""),
            ("services", ""),
            ("namespaces", ""),
            ("nodes", ""),
            ("deployments", "apps"),
        )
    ),
    "pods_log": (("get", "pods/log", ""),),
    "create_bindings": (
        ("create", "rolebindings", "rbac.authorization.k8s.io"),
        ("create", "clusterrolebindings", "rbac.authorization.k8s.io"),
    ),
    "bind_or_escalate": tuple(
        (v, r, "rbac.authorization.k8s.io")
        for v in ("bind", "escalate")
        for r in ("roles", "clusterroles")
    ),
    "delete_events": tuple(
        (v, "events", g) for v in ("delete", "deletecollection") for g in ("", "events.k8s.io")
    ),
    "impersonate": (("impersonate", "users", ""), ("impersonate", "groups", "")),
    "impersonate_serviceaccounts": (("impersonate", "serviceaccounts", ""),),
    "create_tokens": (("create", "serviceaccounts/token", ""),),
    "ephemeral_containers": tuple((v, "pods/ephemeralcontainers", "") for v in ("patch", "update")),
    "nodes_proxy": (("get", "nodes/proxy", ""), ("create", "nodes/proxy", "")),
    "mutating_webhooks": tuple(
        (v, "mutatingwebhookconfigurations", "admissionregistration.k8s.io")
        for v in ("create", "update", "patch")
    ),
    "patch_namespaces": (("patch", "namespaces", ""), ("update", "namespaces", "")),
    # A DaemonSet's pod runs on every node it tolerates; patching one rolls a new template
    # out to all of them (T1543.005).
    "daemonsets": tuple((v, "daemonsets", "apps") for v in ("create", "patch", "update")),
}
# Rights on cluster-scoped resources: only a ClusterRoleBinding grants them (a RoleBinding
# to a ClusterRole with such rules grants nothing on users, groups, nodes, webhooks or
# namespaces).
CLUSTER_SCOPED_RIGHTS = frozenset(
    {"impersonate", "nodes_proxy", "mutating_webhooks", "patch_namespaces"}
)
ALL_NAMESPACES = "*"
#: Rights whose rules limited by ``resourceNames`` still count, for the objects they name:
#: the right's scope then holds ``<namespace>/<name>`` (``*/<name>`` for a cluster-wide
#: rule) next to plain namespaces, and relations target just those objects.
NAMED_RIGHTS = frozenset({"impersonate_serviceaccounts"})
#: Rights that run a pod of the attacker's design in a namespace (create one, or a
#: controller that creates them, or rewrite a DaemonSet's template): where they hold, a
#: new pod may name any ServiceAccount and is limited only by Pod Security admission.
DEPLOY_RIGHTS = ("create_pods", "create_workloads", "create_jobs", "daemonsets")

# Container runtime and image-builder sockets (paths under /run; /var/run is the same
# directory). Any ``<runtime>.sock`` below /run counts, wherever a distribution puts it
# (k3s: /run/k3s/containerd/containerd.sock).
_RUNTIME_SOCKETS = (
    "/run/docker.sock",
    "/run/containerd/containerd.sock",
    "/run/k3s/containerd/containerd.sock",
    "/run/crio/crio.sock",
    "/run/cri-dockerd.sock",
    "/run/dockershim.sock",
    "/run/podman/podman.sock",
    "/run/buildkit/buildkitd.sock",
    # The containerd dockerd starts itself when it is not given one (--containerd): its
    # socket lies under /var/run/docker (Docker 18.09+; libcontainerd/ in 17.x), so a
    # hostPath of /var/run/docker holds a runtime socket.
    "/run/docker/containerd/containerd.sock",
    "/run/docker/containerd/docker-containerd.sock",
    "/run/docker/libcontainerd/docker-containerd.sock",
)
_RUNTIME_SOCKET_NAME = re.compile(
    r"/run/(?:.+/)?(?:docker|containerd|crio|cri-dockerd|dockershim|podman|buildkitd|"
    r"k3s|rke2|cri-containerd|docker-containerd)\.sock"
)
# Sockets of the host's init and message bus: root on them starts host services.
_HOST_CONTROL_SOCKETS = ("/run/dbus/system_bus_socket", "/run/systemd/private")
# Host directories whose files belong to root on the common distributions (system files, the
# kubelet's and the runtime's state, root's home, the host's sockets): writing there takes
# uid 0. Everything else writable ("/" and /home hold users' own files; other paths are not
# known) is ``write_unknown_owner``: the container's uid may own what it writes.
_ROOT_OWNED = re.compile(
    r"/(?:etc|usr|bin|sbin|lib|lib32|lib64|libx32|boot|root|var|run|proc|sys|dev|opt/cni)(?:/.*)?"
)

#: Host files and directories that hold credentials: ``(path, what it holds)``. ``~/`` is
#: every home directory (``/root``, ``/home/*``, and ``/`` for users given none), ``*`` one
#: path component. A hostPath of
#: the path, of something inside it, or of one of its parents (``/``, ``/etc``,
#: ``/var/lib/kubelet``...) exposes it: fact ``host_mount:credential_files``, read-only
#: mounts included. Rendered into docs/facts.md.
HOST_CREDENTIAL_FILES: tuple[tuple[str, str], ...] = (
    ("~/.aws", "AWS CLI and SDK shared credentials and config: access keys, SSO token cache"),
    ("~/.kube", "kubeconfig files: client certificates, bearer tokens, exec credentials"),
    ("~/.docker/config.json", "registry credentials of `docker login` (base64 user:password)"),
    ("~/.config/containers/auth.json", "registry credentials of `podman`/`skopeo login`"),
    ("~/.config/gcloud", "gcloud's credential store and application-default credentials"),
    ("~/.azure", "Azure CLI token cache and service principal entries"),
    ("~/.ssh", "SSH private keys"),
    (
        "/etc/kubernetes/pki",
        "kubeadm's cluster CA, front-proxy CA, etcd CA and service-account signing keys: "
        "the CA key signs a client certificate for any user or group",
    ),
    (
        "/etc/kubernetes/*.conf",
        "kubeadm's kubeconfigs with client keys: admin.conf and super-admin.conf "
        "(cluster-admin), kubelet.conf, controller-manager.conf, scheduler.conf",
    ),
    (
        "/etc/kubernetes/azure.json",
        "the Azure cloud provider's configuration on AKS and aks-engine nodes: the cluster "
        "service principal's aadClientSecret",
    ),
    ("/etc/rancher/k3s/k3s.yaml", "k3s's admin kubeconfig"),
    ("/etc/rancher/rke2/rke2.yaml", "RKE2's admin kubeconfig"),
    ("/var/lib/kubelet/pki", "the kubelet's client certificate and key (user system:node:NODE)"),
    ("/var/lib/kubelet/kubeconfig", "the kubelet's kubeconfig where EKS and GKE keep it"),
    (
        "/var/lib/kubelet/config.json",
        "node-wide registry credentials the kubelet pulls images with",
    ),
    (
        "/var/lib/cloud",
        "cloud-init's copy of the instance user data and metadata (bootstrap scripts often "
        "carry join tokens and keys)",
    ),
    ("/run/cloud-init", "cloud-init's instance-data-sensitive.json (user data, metadata)"),
    (
        "/var/lib/waagent",
        "the Azure Linux agent's VM certificates with their private keys and ovf-env.xml "
        "(custom data)",
    ),
)


#: Files of the credential layout above (or inside one of its directories): nothing lies
#: below a file, so a hostPath below one of these (``/root/.aws/config/x``) names a
#: directory the layout does not have and exposes none of its credentials. ``~/`` and
#: ``*`` as in :data:`HOST_CREDENTIAL_FILES`.
HOST_CREDENTIAL_LEAVES: tuple[str, ...] = (
    "~/.aws/config",
    "~/.aws/credentials",
    "~/.kube/config",
    "~/.docker/config.json",
    "~/.config/containers/auth.json",
    "/etc/kubernetes/*.conf",
    "/etc/kubernetes/azure.json",
    "/etc/rancher/k3s/k3s.yaml",
    "/etc/rancher/rke2/rke2.yaml",
    "/var/lib/kubelet/kubeconfig",
    "/var/lib/kubelet/config.json",
)


class Evidence(NamedTuple):
    """Where a fact comes from: the manifest location and the field.

    A named tuple, not a model: the fact base holds one per fact of every workload
    (272,515 at 10k workloads), built from values the loader has validated; as a
    pydantic model each weighed ~265 bytes (object and ``__dict__``), as a tuple 72."""

    path: str
    line: int | None
    field: str
    detail: str = ""


@dataclass(frozen=True)
class ContainerFacts:
    """Base facts of one container (pod-level base facts are kept separately)."""

    name: str
    kind: str
    facts: frozenset[str]
    seccomp_type: str | None
    seccomp_localhost: str | None
    apparmor_type: str | None
    apparmor_localhost: str | None


@dataclass(frozen=True)
class ContainerShape:
    """What the attack graph reads of a container's manifest besides its facts."""

    name: str
    kind: str
    run_as_user: int | None
    read_only_root_filesystem: bool
    run_as_group: int | None = None


@dataclass(frozen=True)
class WorkloadShape:
    """What the attack graph reads of a workload's manifest besides its facts: its
    ServiceAccount's name (who holds an identity's token), its containers' users and root
    filesystems (which pod peer may take over which, :func:`pid_takeover_peers`) and the
    ports it serves (graph/_network.py). A fact-level what-if keeps it: these are the
    manifest's, as a control patched at the fact level leaves the manifest."""

    service_account: str | None
    containers: tuple[ContainerShape, ...]  # in pod order, as the workload's ContainerFacts
    ports: tuple["ServedPort", ...]


def workload_shape(w: Workload) -> WorkloadShape:
    """The :class:`WorkloadShape` of ``w``."""
    from attackmap.graph._network import served_ports

    return WorkloadShape(
        w.pod.service_account_name,
        tuple(
            ContainerShape(
                c.name, c.kind, c.run_as_user, c.read_only_root_filesystem, c.run_as_group
            )
            for c in w.pod.containers
        ),
        served_ports(w),
    )


@dataclass(frozen=True)
class WorkloadFacts:
    """Base facts of one workload, with evidence and the data relations need.

    ``manifest``: the workload's model, ``None`` where the analysis let the manifests go
    once their facts were taken (a report writer's: it needs the facts, the ``shape`` and
    where the workload is written alone); :attr:`workload` reads it."""

    ref: ObjectRef
    source: SourceLocation
    shape: WorkloadShape
    pod: frozenset[str]
    containers: tuple[ContainerFacts, ...]
    evidence: Mapping[str, Evidence]
    rbac_scope: Mapping[str, frozenset[str]]  # right -> namespaces ("*" = all)
    manifest: Workload | None = None

    @cached_property
    def key(self) -> str:
        return str(self.ref)

    @property
    def namespace(self) -> str:
        return self.ref.namespace or "default"

    @property
    def workload(self) -> Workload:
        """The workload's model: raises where the analysis let the manifests go."""
        if self.manifest is None:
            raise AttackmapError(
                f"the analysis of {self.key} kept its facts, not its manifest",
                hint="analyse with attackmap.analyze() for a report that keeps them",
            )
        return self.manifest


@dataclass(frozen=True)
class IdentityFacts:
    """A ServiceAccount with RBAC rights that no workload of the inventory runs as.

    Its token is a prize of its own: a pod deployed into its namespace may name it, and
    ``create serviceaccounts/token`` mints one. Its scope (``ServiceAccount/<ns>/<name>``)
    holds the workload-level states ``sa_token`` and ``api_access`` and these pod-level
    facts (``rbac_sa:*``, ``deploy_admits:privileged``)."""

    ref: ObjectRef
    pod: frozenset[str]
    evidence: Mapping[str, Evidence]
    rbac_scope: Mapping[str, frozenset[str]]

    @cached_property
    def key(self) -> str:
        return str(self.ref)

    @property
    def namespace(self) -> str:
        return self.ref.namespace or "default"


@dataclass(frozen=True)
class DeriveOptions:
    """What derivation needs beyond the facts: node and cluster facts."""

    kernel: str | None = None
    kubernetes_version: str | None = None
    node_apparmor: bool | None = None
    kubelet_seccomp_default: bool = False
    seccomp_root: Path | None = None


@dataclass(frozen=True)
class FactBase:
    """All base facts of an inventory: per workload, plus cluster-context facts."""

    workloads: tuple[WorkloadFacts, ...]
    context: frozenset[str]
    context_evidence: Mapping[str, Evidence]
    options: DeriveOptions
    namespaces_admitting_privileged: frozenset[str]
    unknown_namespaces_admit_privileged: bool
    warnings: tuple[str, ...] = field(default=())
    identities: tuple[IdentityFacts, ...] = field(default=())
    # What an identity holds once it has bound an admin role to itself in a namespace
    # (``Namespace/<ns>``): every namespaced right there. Reached only through the
    # escalate/bind relations; never a target of the identity groups.
    namespace_admins: tuple[IdentityFacts, ...] = field(default=())
    # Which workloads may share a node (node classes, see _placement).
    placement: Placement = field(default_factory=Placement)
    # Every mount of data other workloads may mount too (shared-storage relations).
    stores: StoreIndex = field(default_factory=StoreIndex)
    # What the credentials each workload holds open elsewhere (credential relations).
    credentials: CredentialIndex = field(default_factory=CredentialIndex)
    # Pod-to-pod reach (graph/_network.py): the Kubernetes NetworkPolicies and the hubs
    # built from them and the inventory's workloads (fact-level what-ifs keep the same
    # manifests, so they share it).
    network_policies: tuple[NetworkPolicy, ...] = field(default=())
    network: "NetworkIndex | None" = field(default=None, compare=False, repr=False)
    # Memo of derivations for this analysis only (a Localhost profile edited between two
    # analyses is read again; nothing is cached across analyses).
    memo: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)

    @cached_property
    def by_namespace(self) -> Mapping[str, tuple[WorkloadFacts, ...]]:
        """The workloads of each namespace, in :attr:`workloads` order (built once per fact
        base, so relations that look up a namespace do not scan every workload)."""
        out: dict[str, list[WorkloadFacts]] = {}
        for w in self.workloads:
            out.setdefault(w.namespace, []).append(w)
        return {ns: tuple(ws) for ns, ws in out.items()}

    @cached_property
    def workload_order(self) -> Mapping[str, int]:
        """Each workload key's position in :attr:`workloads`."""
        return {w.key: i for i, w in enumerate(self.workloads)}

    @cached_property
    def identities_by_namespace(self) -> Mapping[str, tuple[IdentityFacts, ...]]:
        """The ServiceAccount identities of each namespace, in :attr:`identities` order."""
        out: dict[str, list[IdentityFacts]] = {}
        for i in self.identities:
            out.setdefault(i.namespace, []).append(i)
        return {ns: tuple(ids) for ns, ids in out.items()}

    @cached_property
    def token_holders(self) -> tuple[str, ...]:
        """Keys of the workloads whose ServiceAccount token is mounted (``sa_token``)."""
        return tuple(w.key for w in self.workloads if "sa_token" in w.pod)

    def derive(
        self, base: frozenset[str], container: ContainerFacts | None
    ) -> tuple[frozenset[str], dict[str, tuple[str, ...]], tuple[str, ...]]:
        """:func:`derive` with this fact base's options, memoised per analysis."""
        key = (base, derive_key(container))
        found = self.memo.get(key)
        if found is None:
            found = self.memo[key] = derive(base, container, self.options, self.memo)
        return found

    def derived_facts(
        self, base: frozenset[str], container: ContainerFacts | None
    ) -> frozenset[str]:
        """The facts of :meth:`derive`, without keeping the whole derivation in the memo
        (one-off what-ifs: a control applied to one scope); its container part, a function
        of the container's own facts that many scopes and what-ifs share, is kept."""
        found = self.memo.get((base, derive_key(container)))
        if found is None:
            found = derive(base, container, self.options, self.memo)
        return found[0]

    @cached_property
    def identity_index(self) -> Mapping[str, IdentityFacts]:
        """Each identity (and namespace-admin scope) by its key."""
        return {i.key: i for i in (*self.identities, *self.namespace_admins)}


def derive_key(container: ContainerFacts | None) -> tuple[str | None, str | None] | None:
    """What :func:`derive` reads of ``container`` besides the base facts (its Localhost
    profile names): scopes with equal base facts and equal keys derive the same facts."""
    if container is None:
        return None
    return (container.seccomp_localhost, container.apparmor_localhost)


# -- extraction -------------------------------------------------------------------------


def _norm_path(path: str) -> str:
    text = re.sub(r"/+", "/", path.strip())
    return text.rstrip("/") or "/"


def _uid_root(c: Container) -> bool:
    if c.run_as_user is not None:
        return c.run_as_user == 0
    return c.run_as_non_root is not True


def undeclared_ssh_routes(w: Workload) -> list[ExposureRoute]:
    """The routes (Service ports, and Ingress/Gateway/VirtualService routes through them)
    that send to port 22 or 2222 of the pod by number while no container declares that
    port: the Service reaches whatever listens there, declared or not. A named target
    resolves only through a declared port, which the per-port facts already cover."""
    declared = {p.container_port for c in w.pod.containers for p in c.ports}
    return [
        r
        for r in w.exposure.routes
        if r.kind not in ("hostNetwork", "hostPort")
        and isinstance(r.target, int)
        and r.target in SSH_PORTS
        and r.target not in declared
    ]


def _container_facts(
    w: Workload, c: Container, index: int, ev: dict[str, Evidence], loc: tuple[str, int | None]
) -> ContainerFacts:
    path, line = loc
    prefix = f"{c.name}/"
    facts: set[str] = set()
    base = f"containers[{c.name}]"

    def add(fact: str, fld: str, detail: str = "") -> None:
        facts.add(fact)
        if prefix + fact not in ev:
            ev[prefix + fact] = Evidence(path, line, fld, detail)

    sc = f"{base}.securityContext"
    if c.privileged:
        add("privileged", f"{sc}.privileged")
    for cap in c.capabilities.add:
        add(f"cap_add:{cap}", f"{sc}.capabilities.add", cap)
    for cap in c.capabilities.drop:
        add(f"cap_drop:{cap}", f"{sc}.capabilities.drop", cap)
    if any(r.strip().upper() in ("ALL", "CAP_ALL") for r in c.capabilities.drop_raw):
        add("cap_drop:ALL", f"{sc}.capabilities.drop", "ALL")
    if _uid_root(c):
        detail = "runAsUser: 0" if c.run_as_user == 0 else "runAsUser unset, runAsNonRoot not true"
        add("uid_root", f"{sc}.runAsUser", detail)
    if c.allow_privilege_escalation is not False:
        if c.privileged or "CAP_SYS_ADMIN" in c.capabilities.add_raw:
            # The API server refuses allowPrivilegeEscalation: false with privileged: true or
            # with the literal string CAP_SYS_ADMIN in capabilities.add (validation compares
            # the string; SYS_ADMIN passes).
            add(
                "allow_privilege_escalation:forced",
                f"{sc}.allowPrivilegeEscalation",
                "not false (privileged or CAP_SYS_ADMIN added: false is refused)",
            )
        else:
            add("allow_privilege_escalation", f"{sc}.allowPrivilegeEscalation", "not false")
    seccomp = c.seccomp_profile.type if c.seccomp_profile else None
    add(f"seccomp:{seccomp or 'unset'}", f"{sc}.seccompProfile")
    apparmor = c.apparmor_profile.type if c.apparmor_profile else None
    add(f"apparmor:{apparmor or 'unset'}", f"{sc}.appArmorProfile")
    if c.kind in ("regular", "sidecar"):
        add("long_running", base, c.kind)
    if not c.read_only_root_filesystem:
        add("rootfs:rw", f"{sc}.readOnlyRootFilesystem", "not true")
    for m, v in w.pod.volume_mounts(c):
        mfield = f"{base}.volumeMounts[{m.mount.name}]"
        if v.type == "hostPath" and v.path:
            mode = "rw" if m.writable else "ro"
            add(
                f"hostpath:{_norm_path(v.path)}:{mode}",
                mfield,
                f"hostPath {v.path} at {m.mount.mount_path}",
            )
        if v.type == "secret" or (v.type == "projected" and v.projected_secrets):
            add("secret_mount", mfield, f"Secret {v.secret_name or ', '.join(v.projected_secrets)}")
        if is_model_store(c, m) and m.writable:
            add("model_store:rw", mfield, f"{v.type} at {m.mount.mount_path}")
            shared = (
                v.type in ("hostPath", "nfs")
                or "ReadWriteMany" in v.access_modes
                or v.pv_backing in ("nfs", "hostPath")
            )
            if shared:
                add("model_store:shared", mfield, f"{v.type} {' '.join(v.access_modes)}".strip())
    if any(g.container in (None, c.name) for g in w.pod.gpu_access):
        routes = sorted({g.route for g in w.pod.gpu_access if g.container in (None, c.name)})
        add("gpu", f"{base}.resources", "GPU via " + ", ".join(routes))
    for e in c.env:
        # a value taken from a Secret is a credential whatever the variable is called (as a
        # whole Secret through envFrom is): the cluster's owner classified it so
        if (e.credential_like and e.has_value) or e.source == "secret":
            # names the variable and the kind of credential, never the value
            shape = f" (value shaped like {e.credential_kind})" if e.credential_kind else ""
            origin = "" if e.credential_like else f" (from Secret {e.ref_name})"
            add("env:credential", f"{base}.env[{e.name}]", e.name + shape + origin)
    for ef in c.env_from:
        if ef.source == "secret":
            add("env:credential", f"{base}.envFrom", f"Secret {ef.name}")
    for route in undeclared_ssh_routes(w) if c.kind in ("regular", "sidecar") else ():
        # A Service (or a route through one) sends to port 22/2222 of the pod, which no
        # container declares: a port need not be declared to be served, and any
        # long-running container may be the one listening.
        target = f"{route.kind} {route.ref or ''} -> {route.target}".replace("  ", " ")
        add("remote_service", f"{base}.ports", f"{target} (no container declares the port)")
        if route.level in ("external", "node"):
            add("remote_service:routed", f"{base}.ports", target)
    if c.ssh_server and c.kind in ("regular", "sidecar"):
        add("remote_service", f"{base}.command", "the command starts sshd")
    if image_sshd(w) and c.kind in ("regular", "sidecar"):
        add(
            "remote_service",
            "spec.multiNode",
            "multi-node NIM worker: the image runs sshd (2222) for mpirun",
        )
    for p in c.ports:
        if p.container_port in SSH_PORTS or (p.name or "").lower().startswith("ssh"):
            add("remote_service", f"{base}.ports", f"{p.container_port} {p.name or ''}".strip())
            for route in w.exposure.routes:
                if route.level not in ("external", "node") or route.kind in (
                    "hostNetwork",
                    "hostPort",
                ):
                    continue
                if route.target in (p.container_port, p.name) or (
                    route.target is None and route.port == p.container_port
                ):
                    add(
                        "remote_service:routed",
                        f"{base}.ports",
                        f"{route.kind} {route.ref or ''} -> {p.container_port}".strip(),
                    )
    if c.resources.memory_limit is None:
        add("limits:no_memory", f"{base}.resources.limits.memory")
    if c.resources.cpu_limit is None:
        add("limits:no_cpu", f"{base}.resources.limits.cpu")
    ai_facts(w, c, index, base, add)
    return ContainerFacts(
        name=c.name,
        kind=c.kind,
        facts=frozenset(facts),
        seccomp_type=seccomp,
        seccomp_localhost=c.seccomp_profile.localhost_profile if c.seccomp_profile else None,
        apparmor_type=apparmor,
        apparmor_localhost=c.apparmor_profile.localhost_profile if c.apparmor_profile else None,
    )


#: What a peer container holds -> the fact its readers get.
_PEER_PRIZES = (
    ("env:credential", "pid_peer:env_credential"),
    ("secret_mount", "pid_peer:secret_mount"),
)


def may_read_proc(
    reader: ContainerShape,
    reader_facts: frozenset[str],
    peer: ContainerShape,
    peer_facts: frozenset[str],
    *,
    environ: bool = False,
) -> bool:
    """Whether a process of ``reader`` may open ``/proc/<pid>/environ`` and
    ``/proc/<pid>/root`` of a process of ``peer`` once both see each other (a shared PID
    namespace): the kernel's ptrace read check (``PTRACE_MODE_READ_FSCREDS``).

    It passes with CAP_SYS_PTRACE usable in ``reader``. Otherwise it compares the reader's
    file-system user and group with the peer's user and group, and when that user is root
    the peer's permitted capabilities with the reader's effective ones (none may be
    missing). A user or group the manifests leave to the image may be the same one; the
    peer's user may be root where its facts say so (``uid_root``: not under
    ``runAsNonRoot``), else another. The reader passes as its own user and group, or as
    uid 0 where it may hold it (:data:`_MAY_BE_ROOT`: held, or through a setuid binary),
    which takes any user as its file-system user with CAP_SETUID (``setfsuid(2)``) and any
    group with CAP_SETGID (``setfsgid(2)``): as another user than root it compares no
    capability, since a peer running as another user than root holds none.

    ``environ``: to read ``/proc/<pid>/environ`` (mode 0400, the peer's user's) too, which
    a reader passing by CAP_SYS_PTRACE alone opens as another user only with
    CAP_DAC_OVERRIDE or CAP_DAC_READ_SEARCH; every other way passes as the peer's user.
    """
    reader_caps = effective_capabilities(reader_facts)
    usable = any(f in reader_facts for f in _MAY_BE_ROOT)
    ptrace = usable and "SYS_PTRACE" in reader_caps  # the check passes, whoever the user
    if ptrace and (not environ or reader_caps & _DAC_READ):
        return True
    # else as the peer's user (with CAP_SYS_PTRACE: ``environ`` is its own)
    mine, theirs = reader.run_as_user, peer.run_as_user
    mine_g, theirs_g = reader.run_as_group, peer.run_as_group
    same_group = mine_g is None or theirs_g is None or mine_g == theirs_g
    # as uid 0: the peer's group taken, or none compared (CAP_SYS_PTRACE)
    any_group = same_group or "SETGID" in reader_caps or ptrace
    if theirs != 0:  # the peer as another user than root (its own, or its image's)
        # as the reader's own user (one the image decides may be the peer's), in its group
        if same_group and (mine is None or mine == theirs or (theirs is None and mine != 0)):
            return True
        # as uid 0 taking the peer's user, and its group
        if usable and "SETUID" in reader_caps and any_group:
            return True
    if theirs == 0 or (theirs is None and "uid_root" in peer_facts):  # the peer as root
        return (
            usable and any_group and (ptrace or effective_capabilities(peer_facts) <= reader_caps)
        )
    return False


def may_write_proc_root(
    writer: ContainerShape,
    writer_facts: frozenset[str],
    peer: ContainerShape,
    peer_facts: frozenset[str],
) -> bool:
    """Whether a process of ``writer`` may change the files ``peer`` runs through
    ``/proc/<pid>/root`` once both share a PID namespace: the link's ptrace check
    (:func:`may_read_proc`), a root filesystem ``peer`` does not mount read-only, and a
    writer that owns the image's files (uid 0: held, or reached through a setuid binary
    while ``allowPrivilegeEscalation`` is not false) or runs as ``peer``'s user (files that
    user owns, such as an application directory chowned to it; a user the manifests leave
    to the image may be the same one)."""
    if peer.read_only_root_filesystem or not may_read_proc(writer, writer_facts, peer, peer_facts):
        return False
    if any(f in writer_facts for f in _MAY_BE_ROOT):
        return True
    mine, theirs = writer.run_as_user, peer.run_as_user
    return mine is None or theirs is None or mine == theirs


#: The capabilities that open a file of another user for reading whatever its mode.
_DAC_READ = frozenset({"DAC_OVERRIDE", "DAC_READ_SEARCH"})

#: The facts under which a container's process may hold uid 0.
_MAY_BE_ROOT = (
    "privileged",
    "uid_root",
    "allow_privilege_escalation",
    "allow_privilege_escalation:forced",
)


def pid_takeover_peers(
    shape: WorkloadShape, containers: tuple[ContainerFacts, ...], source: str
) -> tuple[str, ...]:
    """The other running containers of the workload of ``shape`` and ``containers`` (its
    facts, in pod order) whose root filesystem a process of container
    ``source`` may write (:func:`may_write_proc_root`), in pod order; ``()`` when
    ``source`` is not a running container. Whether the pod shares its PID namespace is
    not checked here (the pod fact ``share_process_namespace``)."""
    running = [
        (c, cf)
        for c, cf in zip(shape.containers, containers, strict=True)
        if cf.kind in ("regular", "sidecar")
    ]
    mine = next(((c, cf) for c, cf in running if cf.name == source), None)
    if mine is None:
        return ()
    c, cf = mine
    return tuple(
        df.name
        for d, df in running
        if df is not cf and may_write_proc_root(c, cf.facts, d, df.facts)
    )


def pid_peer_facts(
    shape: WorkloadShape,
    containers: tuple[ContainerFacts, ...],
    ev: dict[str, Evidence],
    loc: tuple[str, int | None],
) -> tuple[ContainerFacts, ...]:
    """``containers`` with ``pid_peer:env_credential`` and ``pid_peer:secret_mount``: each
    running container (regular or sidecar) whose processes could read another running
    container's environment or files (:func:`may_read_proc`) if the pod shared its PID
    namespace, when that other container holds credentials there; and ``pid_peer:exec``:
    each one that could write another's root filesystem (:func:`pid_takeover_peers`).
    Whether the pod shares it is the pod fact ``share_process_namespace``; a step needs
    both."""
    running = [
        (c, cf)
        for c, cf in zip(shape.containers, containers, strict=True)
        if cf.kind in ("regular", "sidecar")
    ]
    if len(running) < 2:
        return containers
    path, line = loc
    found: dict[str, set[str]] = {}
    for c, cf in running:
        for d, df in running:
            if df is cf:
                continue
            for prize, fact in _PEER_PRIZES:
                key = f"{cf.name}/{fact}"
                if (
                    prize in df.facts
                    and key not in ev
                    and may_read_proc(c, cf.facts, d, df.facts, environ=prize == "env:credential")
                ):
                    found.setdefault(cf.name, set()).add(fact)
                    held = ev.get(f"{df.name}/{prize}")
                    ev[key] = Evidence(
                        path,
                        line,
                        f"containers[{df.name}]",
                        f"container {df.name} holds {held.detail if held else prize}",
                    )
    for _c, cf in running:
        peers = pid_takeover_peers(shape, containers, cf.name)
        if peers:
            found.setdefault(cf.name, set()).add("pid_peer:exec")
            ev.setdefault(
                f"{cf.name}/pid_peer:exec",
                Evidence(
                    path,
                    line,
                    f"containers[{peers[0]}]",
                    "root filesystem writable through /proc/<pid>/root: " + ", ".join(peers),
                ),
            )
    if not found:
        return containers
    return tuple(
        replace(cf, facts=cf.facts | found[cf.name]) if cf.name in found else cf
        for cf in containers
    )


def _with_store_facts(
    stores: StoreIndex,
    key: str,
    containers: tuple[ContainerFacts, ...],
    ev: dict[str, Evidence],
    loc: tuple[str, int | None],
) -> tuple[ContainerFacts, ...]:
    """``containers`` with the shared-storage facts of :func:`~attackmap.graph._stores.store_facts`."""
    found: dict[str, set[str]] = {}
    for container, fact, fld, detail in store_facts(stores, key):
        found.setdefault(container, set()).add(fact)
        ev.setdefault(f"{container}/{fact}", Evidence(loc[0], loc[1], fld, detail))
    if not found:
        return containers
    return tuple(
        replace(cf, facts=cf.facts | found[cf.name]) if cf.name in found else cf
        for cf in containers
    )


def _with_kubeconfig_facts(
    held: list[HeldKubeconfig],
    containers: tuple[ContainerFacts, ...],
    ev: dict[str, Evidence],
    loc: tuple[str, int | None],
) -> tuple[ContainerFacts, ...]:
    """``containers`` with the fact ``kubeconfig`` where they hold one (``held``)."""
    if not held:
        return containers
    for h in held:
        ev.setdefault(f"{h.container}/kubeconfig", Evidence(loc[0], loc[1], h.field, h.detail))
    names = {h.container for h in held}
    return tuple(
        replace(cf, facts=cf.facts | {"kubeconfig"}) if cf.name in names else cf
        for cf in containers
    )


def is_credential_env(entry: Mapping[str, object]) -> bool:
    """Whether a raw ``env`` entry gives the fact ``env:credential``: a value from a Secret
    under any name, a credential-like name with a literal value, or a literal value shaped
    like a credential under any name (the same rule as extraction)."""
    name = entry.get("name")
    value = entry.get("value")
    if isinstance(value, str) and value != "" and credential_kind(value) is not None:
        return True
    value_from = entry.get("valueFrom")
    if isinstance(value_from, Mapping) and "secretKeyRef" in value_from:
        return True
    if not isinstance(name, str) or not isinstance(value, str):
        return False
    return (is_credential_name(name) and value != "") or is_password_pwd(name, value)


def _rule_grants(rule: PolicyRule, verb: str, resource: str, group: str) -> bool:
    return rule.allows(verb, resource, group)


def _named(rule: PolicyRule, alternatives: Iterable[tuple[str, str, str]]) -> set[str]:
    """The ``resourceNames`` of ``rule`` for which it grants one of ``alternatives``."""
    alts = tuple(alternatives)
    return {n for n in rule.resource_names if any(rule.allows(v, r, g, name=n) for v, r, g in alts)}


def _scope_set(where: set[str]) -> frozenset[str]:
    """Namespaces (and ``ns/name`` objects) of a right, without what a wider entry covers."""
    if ALL_NAMESPACES in where:
        return frozenset({ALL_NAMESPACES})
    return frozenset(w for w in where if w.partition("/")[0] not in where or "/" not in w)


#: What one rule grants of :data:`RBAC_RIGHTS` wherever it holds: the rights, and for the
#: :data:`NAMED_RIGHTS` it grants only on some objects, their names.
_RuleRights = tuple[frozenset[str], dict[str, set[str]]]
_RuleContent = tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...], tuple[str, ...]]


def _rule_rights(rule: PolicyRule) -> _RuleRights:
    """The rights of :data:`RBAC_RIGHTS` ``rule`` grants: a function of its verbs,
    resources, API groups and names alone (the rights hold where the rule does)."""
    granted = frozenset(
        right
        for right, alternatives in RBAC_RIGHTS.items()
        if any(_rule_grants(rule, v, r, g) for v, r, g in alternatives)
    )
    named: dict[str, set[str]] = {}
    if rule.resource_names:
        for right in NAMED_RIGHTS - granted:
            names = _named(rule, RBAC_RIGHTS[right])
            if names:
                named[right] = names
    return granted, named


def rbac_scope(
    permissions: Iterable[PolicyRule],
    admins: "ClusterAdmins | None" = None,
    bound: "Iterable[BoundRole] | None" = None,
    memo: dict[_RuleContent, _RuleRights] | None = None,
) -> dict[str, frozenset[str]]:
    """For each right of :data:`RBAC_RIGHTS` the namespaces it holds in (``*`` = all;
    ``ns/name`` for the objects a :data:`NAMED_RIGHTS` rule names), plus the rights computed
    from the rules as a whole (``cluster_admin``, ``bind_roles``..., ``impersonate_admin``
    given the inventory's ``admins``, ``escalate_roles``... given the roles ``bound`` to the
    holder: by default those its rules come from; pass the bindings' own to count roles
    without rules).

    ``memo`` keeps what each rule grants (:func:`_rule_rights`) by the rule's content for a
    run of calls: a cluster's roles are a few shapes bound in many namespaces (at 10k
    workloads, 21 distinct rules behind 6,567)."""
    rules = tuple(permissions)
    if memo is None:
        memo = {}
    found: dict[str, set[str]] = {}
    for rule in rules:
        content = (rule.api_groups, rule.resources, rule.verbs, rule.resource_names)
        rights = memo.get(content)
        if rights is None:
            rights = memo[content] = _rule_rights(rule)
        granted, named = rights
        where = ALL_NAMESPACES if rule.namespace is None else rule.namespace
        for right in granted:
            if right in CLUSTER_SCOPED_RIGHTS and rule.namespace is not None:
                continue
            found.setdefault(right, set()).add(where)
        for right, names in named.items():
            if right in CLUSTER_SCOPED_RIGHTS and rule.namespace is not None:
                continue
            found.setdefault(right, set()).update(f"{where}/{n}" for n in names)
    out: dict[str, frozenset[str]] = {}
    if found:
        for right in RBAC_RIGHTS:  # in their order
            namespaces = found.get(right)
            if namespaces:
                out[right] = _scope_set(namespaces)
    admin = any(
        rule.namespace is None
        and "*" in rule.verbs
        and "*" in rule.resources
        and "*" in rule.api_groups
        for rule in rules
    )
    if admin:
        out["cluster_admin"] = frozenset({ALL_NAMESPACES})
    out.update(_binding_rights(rules, admin))
    if impersonates_admin(rules, admins or ClusterAdmins()):
        out["impersonate_admin"] = frozenset({ALL_NAMESPACES})
    if bound is None:
        bound = {(r.role, r.namespace) for r in rules}
    out.update(escalation_rights(rules, bound))
    return out


# A role bound to an identity: the role's ref and the binding's namespace (None: a
# ClusterRoleBinding, the role's rules hold cluster-wide).
BoundRole = tuple[ObjectRef, str | None]


def bound_roles(bindings: Iterable[Binding]) -> frozenset[BoundRole]:
    """The roles ``bindings`` bind, each with where it applies."""
    return frozenset(
        (b.role_ref, b.ref.namespace if b.ref.kind == "RoleBinding" else None) for b in bindings
    )


def escalation_rights(
    rules: Iterable[PolicyRule], bound: Iterable[BoundRole]
) -> dict[str, frozenset[str]]:
    """``escalate_roles`` (``*``) and ``escalate_roles_namespaced`` (namespaces): where the
    holder can give itself any right by adding rules to a role bound to it.

    Adding rules a subject does not hold needs ``escalate`` on the role, besides ``update``
    or ``patch``; both are checked for the role's own name (``resourceNames``), on
    ``clusterroles`` cluster-wide or on ``roles`` in the role's namespace. The rights then
    hold wherever the role is bound: everywhere for a ClusterRoleBinding, in the binding's
    namespace for a RoleBinding. A role the subject creates itself works the same once it
    binds it: binding a role without rules needs no ``bind`` (the subject holds all of its
    rules), so ``create`` on the role kind and on the binding kind completes the chain.
    RoleBindings in every namespace count as cluster-wide (as for ``bind_roles``).
    """
    rules = tuple(rules)
    group = "rbac.authorization.k8s.io"

    def can(verbs: tuple[str, ...], resource: str, namespace: str, name: str | None) -> bool:
        return any(
            rule.allows(v, resource, group, namespace, name=name) for rule in rules for v in verbs
        )

    def where(verb: str, resource: str, cluster_only: bool = False) -> set[str]:
        return {
            ALL_NAMESPACES if rule.namespace is None else rule.namespace
            for rule in rules
            if rule.allows(verb, resource, group) and not (cluster_only and rule.namespace)
        }

    cluster = False
    namespaces: set[str] = set()
    for role, scope in sorted(bound, key=lambda b: (b[0].sort_key(), b[1] or "")):
        resource, ns = (
            ("clusterroles", "") if role.kind == "ClusterRole" else ("roles", role.namespace or "")
        )
        if can(("update", "patch"), resource, ns, role.name) and can(
            ("escalate",), resource, ns, role.name
        ):
            if scope is None:
                cluster = True
            else:
                namespaces.add(scope)
    # create a role without rules, bind it, escalate it (the binding's scope decides)
    edit = ("create", "escalate")
    if all(where(v, "clusterroles", True) for v in edit) and (
        where("update", "clusterroles", True) or where("patch", "clusterroles", True)
    ):
        if where("create", "clusterrolebindings", True):
            cluster = True
        namespaces |= where("create", "rolebindings")
    needed = [where(v, "roles") for v in edit]
    needed.append(where("update", "roles") | where("patch", "roles"))
    needed.append(where("create", "rolebindings"))
    for ns in set().union(*needed):
        if all(ns in r or ALL_NAMESPACES in r for r in needed):
            namespaces.add(ns)
    if cluster or ALL_NAMESPACES in namespaces:
        # every right everywhere: in each namespace too (more rights never lose a path)
        everywhere = frozenset({ALL_NAMESPACES})
        return {"escalate_roles": everywhere, "escalate_roles_namespaced": everywhere}
    return {"escalate_roles_namespaced": frozenset(namespaces)} if namespaces else {}


@dataclass(frozen=True)
class ClusterAdmins:
    """The identities that hold cluster-admin, as impersonation can name them: group
    ``system:masters`` (the API server lets it do everything, whatever RBAC says) and the
    Users and Groups a ClusterRoleBinding binds to a role with ``*`` verbs on ``*``
    resources of ``*`` API groups."""

    users: frozenset[str] = frozenset()
    groups: frozenset[str] = frozenset({"system:masters"})


def cluster_admins(
    inventory: Inventory, roles: Mapping[ObjectRef, Role] | None = None
) -> ClusterAdmins:
    """The :class:`ClusterAdmins` of ``inventory`` (its roles, the built-in ones and
    aggregation resolved as the workloads' links resolve them; ``roles``: already resolved)."""
    from attackmap.model._links import _resolve_roles

    if roles is None:
        roles = _resolve_roles(inventory.roles)
    users: set[str] = set()
    groups = {"system:masters"}
    for b in inventory.bindings:
        role = roles.get(b.role_ref)
        if b.ref.kind != "ClusterRoleBinding" or role is None:
            continue
        if not any(
            "*" in r.verbs and "*" in r.resources and "*" in r.api_groups for r in role.rules
        ):
            continue
        for subject in b.subjects:
            if subject.kind == "User":
                users.add(subject.name)
            elif subject.kind == "Group":
                groups.add(subject.name)
    return ClusterAdmins(users=frozenset(users), groups=frozenset(groups))


_SA_USER = "system:serviceaccount:"


def impersonates_admin(rules: Iterable[PolicyRule], admins: ClusterAdmins) -> bool:
    """Whether ``rules`` let their holder send requests as a cluster-admin identity.

    Users and groups are cluster-scoped (only cluster-wide rules count); a rule limited by
    ``resourceNames`` allows the names it lists. Impersonating a user gives that user's
    bindings, not its groups (the request carries only the groups it asks for, plus
    ``system:authenticated``); a ``system:serviceaccount:`` user name is authorised as
    ``serviceaccounts``, not ``users``. Impersonate-Group needs an Impersonate-User in the
    same request: any user name the rules allow will do, a ServiceAccount's included. A
    ServiceAccount named in ``resourceNames`` is followed by the ``impersonation_targets``
    relation instead (with whatever rights it holds).
    """
    any_user = any_group = some_user = False
    users: set[str] = set()
    groups: set[str] = set()
    for rule in rules:
        cluster = rule.namespace is None
        if cluster and rule.allows("impersonate", "users"):
            any_user = some_user = True
        elif cluster and rule.resource_names:
            named = _named(rule, (("impersonate", "users", ""),))
            users |= {n for n in named if not n.startswith(_SA_USER)}
        if cluster and rule.allows("impersonate", "groups"):
            any_group = True
        elif cluster and rule.resource_names:
            groups |= _named(rule, (("impersonate", "groups", ""),))
        if rule.allows("impersonate", "serviceaccounts") or (
            rule.resource_names and _named(rule, (("impersonate", "serviceaccounts", ""),))
        ):
            some_user = True
    some_user = some_user or bool(users)
    if any_user or users & admins.users:
        return True
    return (any_group or bool(groups & admins.groups)) and some_user


_COMBINED_ONLY = ("create_bindings", "bind_or_escalate")
# Computed rights whose evidence is every rule that allows one of these (names included).
_COMPUTED_FROM: dict[str, tuple[tuple[str, str, str], ...]] = {
    "impersonate_admin": RBAC_RIGHTS["impersonate"] + RBAC_RIGHTS["impersonate_serviceaccounts"],
    **dict.fromkeys(
        ("escalate_roles", "escalate_roles_namespaced"),
        tuple(
            (v, r, "rbac.authorization.k8s.io")
            for v in ("escalate", "update", "patch", "create")
            for r in ("roles", "clusterroles")
        )
        + RBAC_RIGHTS["create_bindings"],
    ),
}


def rbac_facts(
    permissions: Iterable[PolicyRule],
    scope: Mapping[str, frozenset[str]],
    group_scope: Mapping[str, frozenset[str]],
) -> list[tuple[str, str, str]]:
    """``(fact, field suffix, detail)`` for each right in ``scope``: ``rbac_group:<right>``
    when every ServiceAccount of the namespace holds it (``group_scope``: rules of group
    bindings), else ``rbac_sa:<right>`` (bindings that name this ServiceAccount)."""
    rules = tuple(permissions)
    out: list[tuple[str, str, str]] = []
    for right, namespaces in sorted(scope.items()):
        if right in _COMBINED_ONLY:
            continue  # only their combination (bind_roles) is a step's fact
        if right == "cluster_admin":
            granting = [r for r in rules if "*" in r.verbs and "*" in r.resources]
        else:
            alternatives = (
                RBAC_RIGHTS.get(right)
                or _COMPUTED_FROM.get(right)
                or (RBAC_RIGHTS["create_bindings"] + RBAC_RIGHTS["bind_or_escalate"])
            )
            named = right in NAMED_RIGHTS or right in _COMPUTED_FROM
            granting = [
                r
                for r in rules
                if any(_rule_grants(r, *alt) for alt in alternatives)
                or (named and r.resource_names and _named(r, alternatives))
            ]
        via = ", ".join(
            sorted({f"{r.via.kind}/{r.via.name} -> {r.role.kind}/{r.role.name}" for r in granting})
        )
        fact = f"rbac_group:{right}" if right in group_scope else f"rbac_sa:{right}"
        out.append((fact, "", f"{via} in {', '.join(sorted(namespaces))}"))
    return out


def group_rules(
    permissions: Iterable[PolicyRule],
    bindings: Mapping[ObjectRef, Binding],
    namespace: str,
    fresh_name: str,
) -> tuple[PolicyRule, ...]:
    """The rules a new ServiceAccount ``fresh_name`` of ``namespace`` would hold too: those
    of bindings to its groups (``system:serviceaccounts``, ``system:serviceaccounts:<ns>``,
    ``system:authenticated``), decided by the model's own subject matching."""
    out = []
    for rule in permissions:
        binding = bindings.get(rule.via)
        if binding is not None and binding.binds(namespace, fresh_name):
            out.append(rule)
    return tuple(out)


def dedicated_service_account_name(inventory: Inventory, ref: ObjectRef) -> str:
    """The name the ``dedicated-service-account`` control gives the workload's new
    ServiceAccount: ``<name>-runtime``, extended until no ServiceAccount uses it."""
    existing = {
        str(sa.ref.name) for sa in inventory.service_accounts if sa.ref.namespace == ref.namespace
    }
    return _dedicated_name(ref, existing)


def _dedicated_name(ref: ObjectRef, existing: set[str] | frozenset[str]) -> str:
    """:func:`dedicated_service_account_name` given the ServiceAccount names of the
    workload's namespace."""
    name = f"{ref.name}-runtime"
    while name in existing:
        name += "-x"
    return name


def _binding_rights(rules: tuple[PolicyRule, ...], admin: bool) -> dict[str, frozenset[str]]:
    """``bind_roles`` (can bind cluster-admin: cluster-wide) and ``bind_roles_namespaced``
    (can bind roles inside some namespaces only).

    A ClusterRoleBinding can only be created with a cluster-wide rule and can only refer to
    a ClusterRole; a RoleBinding may refer to a Role of its namespace or to a ClusterRole.
    Creating the binding needs ``bind`` (or ``escalate``) on the role it refers to.
    """
    group = "rbac.authorization.k8s.io"

    def where(verbs: tuple[str, ...], resource: str, cluster_only: bool = False) -> set[str]:
        found: set[str] = set()
        for rule in rules:
            if cluster_only and rule.namespace is not None:
                continue
            if any(rule.allows(v, resource, group) for v in verbs):
                found.add(ALL_NAMESPACES if rule.namespace is None else rule.namespace)
        return found

    def meet(a: set[str], b: set[str]) -> set[str]:
        if ALL_NAMESPACES in a:
            return set(b)
        if ALL_NAMESPACES in b:
            return set(a)
        return a & b

    bind_cr = where(("bind", "escalate"), "clusterroles")
    bind_r = where(("bind", "escalate"), "roles")
    crb = where(("create",), "clusterrolebindings", cluster_only=True)
    rb = where(("create",), "rolebindings")
    if admin or (crb and ALL_NAMESPACES in bind_cr) or ALL_NAMESPACES in meet(rb, bind_cr):
        # cluster-admin is admin of every namespace too (more rights never lose a path)
        everywhere = frozenset({ALL_NAMESPACES})
        return {"bind_roles": everywhere, "bind_roles_namespaced": everywhere}
    namespaced = meet(rb, bind_cr) | meet(rb, bind_r)
    return {"bind_roles_namespaced": frozenset(namespaced)} if namespaced else {}


def _pod_facts(
    w: Workload,
    ev: dict[str, Evidence],
    loc: tuple[str, int | None],
    scope: Mapping[str, frozenset[str]],
    group_scope: Mapping[str, frozenset[str]],
    pod_reach: tuple[Mapping[str, tuple[str, str]], Mapping[str, str]],
) -> frozenset[str]:
    path, line = loc
    facts: set[str] = set()

    def add(
        fact: str, fld: str, detail: str = "", where: tuple[str, int | None] | None = None
    ) -> None:
        facts.add(fact)
        if fact not in ev:
            p, ln = where or (path, line)
            ev[fact] = Evidence(p, ln, fld, detail)

    pod = w.pod
    if pod.host_pid:
        add("host_pid", "spec.hostPID")
    if pod.host_network:
        add("host_network", "spec.hostNetwork")
    if pod.host_ipc:
        add("host_ipc", "spec.hostIPC")
    if pod.share_process_namespace:
        add("share_process_namespace", "spec.shareProcessNamespace")
    sa = w.service_account
    automount = sa.automount if sa is not None else pod.automount_service_account_token is not False
    if automount:
        add(
            "sa_token",
            "spec.automountServiceAccountToken",
            f"ServiceAccount {pod.service_account_name}",
        )
    for v in pod.volumes:
        if v.service_account_token:
            add(
                "sa_token",
                f"spec.volumes[{v.name}].projected.sources.serviceAccountToken",
                f"ServiceAccount {pod.service_account_name} token projected into volume {v.name}",
            )
    if pod.service_account_name == "default" and sa is not None and sa.permissions:
        add(
            "sa:default_bound",
            "spec.serviceAccountName",
            "default ServiceAccount with RoleBindings",
        )
    for route in w.exposure.routes:
        where = (route.source.path, route.source.line) if route.source else None
        name = str(route.ref) if route.ref else route.kind
        if route.kind in ("hostNetwork", "hostPort"):
            add("route:host", f"spec.{route.kind}", name, where)
        elif route.kind in ("Ingress", "HTTPRoute", "GRPCRoute", "VirtualService"):
            add("route:gateway", route.kind, f"{name} port {route.port}", where)
        elif route.level in ("external", "node"):
            add(
                "route:external",
                route.kind,
                f"{name} {route.service_type or ''} port {route.port}".strip(),
                where,
            )
    # "Open" (no policy) and "a policy allows" are separate facts: a control that adds an
    # isolating policy removes the first, never what other selecting policies allow.
    net = w.network
    policies = ", ".join(str(p) for p in net.policies)
    if net.ingress_isolated:
        add("netpol:ingress_isolated", "NetworkPolicy", policies)
        if net.allows_from_any_pod:
            add("netpol:allows_any_pod", "NetworkPolicy", policies)
        if net.allows_from_external:
            add("netpol:allows_external", "NetworkPolicy", policies)
        if net.allowed_peers:
            add("netpol:allows_peers", "NetworkPolicy", "; ".join(net.allowed_peers))
    else:
        add("netpol:ingress_open", "NetworkPolicy", "no NetworkPolicy selects the pod for ingress")
    # Pod to pod, exactly (graph/_network.py): an isolated side that still lets a workload
    # of the input through.
    reaches, reached = pod_reach
    key = str(w.ref)
    if key in reaches:
        target, port = reaches[key]
        add("pod_network:reaches", "NetworkPolicy", f"reaches {target}:{port}")
    if net.ingress_isolated and key in reached:
        add("netpol:ingress_allows_pods", "NetworkPolicy", f"{policies}: admits {reached[key]}")
    if net.egress_isolated:
        add("netpol:egress_isolated", "NetworkPolicy", policies)
        if key in reaches:
            target, port = reaches[key]
            add(
                "netpol:egress_allows_pods", "NetworkPolicy", f"{policies}: reaches {target}:{port}"
            )
        if net.egress_allows_any:
            add("netpol:egress_allows_any", "NetworkPolicy", policies)
        if net.egress_allows_metadata:
            add("netpol:egress_allows_metadata", "NetworkPolicy", policies)
    else:
        add("netpol:egress_open", "NetworkPolicy", "no NetworkPolicy selects the pod for egress")
    for v in pod.volumes:
        if v.type == "emptyDir" and (v.medium or "").lower() == "memory" and not v.size_limit:
            add(
                "shm:unbounded",
                f"spec.volumes[{v.name}].emptyDir",
                "medium: Memory without sizeLimit",
            )
    if sa is not None:
        where = (sa.source.path, sa.source.line) if sa.source else None
        for fact, fld, detail in rbac_facts(sa.permissions, scope, group_scope):
            add(fact, f"ServiceAccount {sa.ref.name}{fld}", detail, where)
    return frozenset(facts)


def _identities(
    inventory: Inventory,
    deploy_admits: Callable[[str, str | None, Mapping[str, frozenset[str]]], str],
    admins: ClusterAdmins,
    roles: dict[ObjectRef, Role],
    index: "_BindingIndex",
    rights: dict[_RuleContent, _RuleRights] | None = None,
) -> tuple[IdentityFacts, ...]:
    """ServiceAccounts with rights that no workload runs as: those the manifests define,
    those bindings name, and each known namespace's ``default``. Their rights come from
    the model's own RBAC resolution (the same the workloads' links use); ``rights``:
    :func:`rbac_scope`'s memo."""
    from attackmap.model._links import _permissions

    used = {(w.namespace, w.pod.service_account_name) for w in inventory.workloads}
    names: dict[tuple[str, str], tuple[str, int | None] | None] = {}
    for sa in inventory.service_accounts:
        where = (sa.source.path, sa.source.line) if sa.source else None
        names[(sa.ref.namespace or "default", str(sa.ref.name))] = where
    for b in inventory.bindings:
        for s in b.subjects:
            ns = s.namespace or b.ref.namespace
            if s.kind == "ServiceAccount" and ns:
                names.setdefault((ns, s.name), (b.source.path, b.source.line) if b.source else None)
    for n in inventory.namespaces:
        names.setdefault((str(n.ref.name), "default"), None)
    if not inventory.bindings:
        return ()
    out: list[IdentityFacts] = []
    for (ns, name), where in sorted(names.items()):
        if (ns, name) in used:
            continue
        permissions = _permissions(ns, name, index, roles)
        if not permissions:
            continue
        bound = bound_roles(index.of(ns, name))
        ref = ObjectRef(kind="ServiceAccount", namespace=ns, name=name)
        path, line = where or (f"ServiceAccount/{ns}/{name}", None)
        scope = rbac_scope(permissions, admins, bound, rights)
        ev: dict[str, Evidence] = {}
        facts: set[str] = set()
        for fact, fld, detail in rbac_facts(permissions, scope, {}):
            facts.add(fact)
            ev[fact] = Evidence(
                path=path, line=line, field=f"ServiceAccount {name}{fld}", detail=detail
            )
        detail = deploy_admits(ns, name, scope)
        if detail:
            facts.add("deploy_admits:privileged")
            ev["deploy_admits:privileged"] = Evidence(
                path=path, line=line, field="Namespace labels", detail=detail
            )
        out.append(IdentityFacts(ref=ref, pod=frozenset(facts), evidence=ev, rbac_scope=scope))
    return tuple(out)


#: The rights that make an identity admin of a namespace it bound an admin role to
#: itself in: every namespaced right (cluster-scoped ones need a ClusterRoleBinding).
NAMESPACE_ADMIN_VIA = ("escalate_roles_namespaced", "bind_roles_namespaced")
NAMESPACE_ADMIN_RIGHTS = tuple(
    r for r in RBAC_RIGHTS if r not in CLUSTER_SCOPED_RIGHTS and r not in _COMBINED_ONLY
)


def _namespace_admins(
    inventory: Inventory,
    holders: Iterable[WorkloadFacts | IdentityFacts],
    deploy_admits: Callable[[str, str | None, Mapping[str, frozenset[str]]], str],
) -> tuple[IdentityFacts, ...]:
    """One ``Namespace/<ns>`` scope per namespace some holder can make itself admin of
    (:data:`NAMESPACE_ADMIN_VIA`): the rights a RoleBinding to ``admin`` (or a role the
    holder escalates) gives there, and whether pods deployed there may be privileged."""
    wanted: set[str] = set()
    holders = tuple(holders)
    for holder in holders:
        for right in NAMESPACE_ADMIN_VIA:
            wanted |= holder.rbac_scope.get(right, frozenset())
    if ALL_NAMESPACES in wanted:  # every namespace the input names
        wanted |= {str(n.ref.name) for n in inventory.namespaces}
        wanted |= {h.namespace for h in holders if isinstance(h, WorkloadFacts)}
        wanted |= {h.namespace for h in holders if isinstance(h, IdentityFacts)}
        for group in (inventory.bindings, inventory.roles, inventory.service_accounts):
            wanted |= {obj.ref.namespace for obj in group if obj.ref.namespace}
    sources = {str(n.ref.name): n.source for n in inventory.namespaces}
    out: list[IdentityFacts] = []
    for ns in sorted(wanted - {ALL_NAMESPACES}):
        ref = ObjectRef(kind="Namespace", namespace=None, name=ns)
        src = sources.get(ns)
        path, line = (src.path, src.line) if src is not None else (str(ref), None)
        scope = {right: frozenset({ns}) for right in NAMESPACE_ADMIN_RIGHTS}
        detail = f"every namespaced right in {ns}, once a role bound there grants it"
        ev = {
            f"rbac_sa:{right}": Evidence(
                path=path, line=line, field="RBAC after escalation", detail=detail
            )
            for right in NAMESPACE_ADMIN_RIGHTS
        }
        facts = set(ev)
        admits = deploy_admits(ns, None, scope)
        if admits:
            facts.add("deploy_admits:privileged")
            ev["deploy_admits:privileged"] = Evidence(
                path=path, line=line, field="Namespace labels", detail=admits
            )
        out.append(IdentityFacts(ref=ref, pod=frozenset(facts), evidence=ev, rbac_scope=scope))
    return tuple(out)


def _with_readable_secrets(
    holders: tuple[IdentityFacts, ...], credentials: CredentialIndex
) -> tuple[IdentityFacts, ...]:
    """``holders`` with the facts of :meth:`CredentialIndex.readable_facts`, on the
    evidence of their right to read Secrets."""
    out = []
    for h in holders:
        found = credentials.readable_facts(h.rbac_scope)
        if found:
            where = h.evidence.get("rbac_sa:read_secrets") or h.evidence.get(
                "rbac_group:read_secrets"
            )
            ev = dict(h.evidence)
            for fact, detail in found:
                ev[fact] = Evidence(
                    path=where.path if where else h.key,
                    line=where.line if where else None,
                    field=where.field if where else "RBAC",
                    detail=detail,
                )
            h = replace(h, pod=h.pod | {f for f, _ in found}, evidence=ev)
        out.append(h)
    return tuple(out)


def _nvidia_vulnerable(ctx: ClusterContext) -> list[str]:
    """The NVIDIA CVEs the context's versions are open to (DOMAIN §5).

    The Container Toolkit's own version decides when it is declared (the GPU Operator only
    implies the toolkit it installs); otherwise the GPU Operator's version stands for it.
    CVE-2025-23266 also reaches through the device plugin's CDI hooks. Unknown versions:
    patched, unless ``assumeUnknownVulnerable``. CDI mode closes CVE-2024-0132 and
    CVE-2025-23359 (legacy-mode mounts); crun is not open to CVE-2025-23266.
    """
    spec = ctx.spec
    n = spec.nvidia
    assume = spec.assume_unknown_vulnerable
    low = spec.container_runtime.low_level

    def toolkit_le(ctk: str, operator: str) -> bool:
        if n.container_toolkit is not None:
            return _version_tuple(n.container_toolkit) <= _version_tuple(ctk)
        if n.gpu_operator is not None:
            return _version_tuple(n.gpu_operator) <= _version_tuple(operator)
        return assume

    def plugin_le(limit: str) -> bool:
        if n.device_plugin is None:
            return False  # unknown: the toolkit's answer stands for the node
        return _version_tuple(n.device_plugin) <= _version_tuple(limit)

    cdi = n.cdi is True
    found: list[str] = []
    if not cdi and toolkit_le("1.16.1", "24.6.1"):
        found.append("CVE-2024-0132")
    if not cdi and toolkit_le("1.17.3", "24.9.1"):
        found.append("CVE-2025-23359")
    if low != "crun" and (toolkit_le("1.17.7", "25.3.1") or plugin_le("0.17.2")):
        found.append("CVE-2025-23266")
    if toolkit_le("1.17.7", "25.3.1"):
        found.append("CVE-2025-23267")
    return found


def _cgroup_release_agent_open(ctx: ClusterContext) -> bool:
    """CVE-2022-0492: cgroup v1 ``release_agent`` writable from a new user namespace on
    kernels before 5.17 (fix backported to 5.16.2, 5.15.16, 5.10.93, 5.4.176, 4.19.227...;
    a vendor kernel's version string does not show backports, so only the 5.17 line is
    trusted). cgroup v2 has no release_agent. Unknown versions follow
    ``assumeUnknownVulnerable``."""
    spec = ctx.spec
    if spec.cgroup_version == 2:
        return False
    if spec.cgroup_version is None and not spec.assume_unknown_vulnerable:
        return False
    if spec.kernel_version is None:
        return spec.assume_unknown_vulnerable
    return _version_tuple(spec.kernel_version) < (5, 17)


_LOW_LEVEL_ISOLATION = {"kata": "vm", "gvisor": "userspace-kernel"}


def _known_handler(handler: str) -> str | None:
    """The isolation of a well-known RuntimeClass handler: gVisor's ``runsc`` (GKE names it
    ``gvisor``), Kata's ``kata``, ``kata-qemu``, ``kata-clh``, ``kata-fc``..."""
    name = handler.lower()
    if name in ("runsc", "gvisor") or name.startswith(("runsc-", "gvisor-")):
        return "userspace-kernel"
    if name.startswith("kata"):
        return "vm"
    return None


def runtime_isolation(
    runtime_class_name: str | None,
    handlers: Mapping[str, str | None],
    declared: Mapping[str, str],
    low_level: str | None = None,
) -> tuple[str, str]:
    """How the pod's runtime isolates it from the node's kernel: ``(isolation, why)`` with
    isolation ``none`` (the node's kernel), ``vm`` or ``userspace-kernel``.

    ``handlers`` maps the RuntimeClass objects among the inputs to their handler;
    ``declared`` is the ClusterContext's ``runtimeClasses`` (a handler, or the name of a
    RuntimeClass that is not among the inputs); ``low_level`` its
    ``containerRuntime.lowLevel`` (the runtime of pods without ``runtimeClassName``). A
    handler declared nowhere and not well known (runsc, gvisor, kata*), or a RuntimeClass
    whose handler cannot be seen, shares the node's kernel: the conservative answer.
    """
    if runtime_class_name is None:
        isolation = _LOW_LEVEL_ISOLATION.get(low_level or "")
        if isolation is not None:
            return (
                isolation,
                f"runtimeClassName unset; ClusterContext containerRuntime.lowLevel {low_level}",
            )
        return "none", "runtimeClassName unset: the node's default runtime shares its kernel"
    name = runtime_class_name
    handler = handlers.get(name)
    if handler:
        where = f"RuntimeClass {name} (handler {handler})"
        for key in (handler, name):
            if key in declared:
                return declared[key], f"{where}: {declared[key]} in ClusterContext runtimeClasses"
        known = _known_handler(handler)
        if known is not None:
            return known, f"{where}: {'gVisor' if known == 'userspace-kernel' else 'Kata'}"
        return "none", f"{where} shares the node's kernel"
    if name in declared:
        isolation = declared[name]
        return isolation, f"runtimeClassName {name}: {isolation} in ClusterContext runtimeClasses"
    return "none", (
        f"runtimeClassName {name}: its RuntimeClass is not among the inputs and the "
        "ClusterContext does not declare it (runtimeClasses): handler unknown, taken to share "
        "the node's kernel"
    )


def host_user_namespace(
    host_users: bool | None, *, kubernetes_version: str | None = None
) -> tuple[bool, str]:
    """Whether the API server leaves the pod in the node's initial user namespace by its
    ``hostUsers`` field: ``(shared, why)``; the base fact ``host_users:field``.

    ``hostUsers: false`` gives the pod a user namespace of its own (Kubernetes user
    namespaces, KEP-127): its uid 0 is an unprivileged uid of the node and its capabilities
    hold in that namespace only. A pod of a cluster the ClusterContext says runs Kubernetes
    before v1.33 (``kubernetes_version``), or whose version it does not give, is taken to
    share the node's: the gate UserNamespacesSupport is off by default before v1.33, and the
    API server then drops ``hostUsers`` (an unknown version gets the conservative answer, as
    for AppArmor's default). The host namespaces the API server rejects together with
    ``hostUsers: false`` (hostPID, hostIPC; hostNetwork unless the alpha gate
    UserNamespacesHostNetworkSupport is on) are facts of their own, from which :func:`derive`
    makes ``host_users`` too: a control that turns one off is judged by what remains.
    """
    if host_users is not False:
        value = "unset" if host_users is None else "true"
        return True, f"hostUsers {value}: the pod runs in the node's user namespace"
    if not kubernetes_version:
        return True, (
            "hostUsers: false on a Kubernetes version the ClusterContext does not give: before "
            "v1.33 the UserNamespacesSupport gate is off by default and the API server then "
            "drops hostUsers; taken to share the node's user namespace (declare "
            "spec.kubernetesVersion)"
        )
    if _version_tuple(kubernetes_version) < (1, 33):
        return True, (
            f"hostUsers: false on Kubernetes {kubernetes_version} (ClusterContext): the "
            "UserNamespacesSupport gate is off by default before v1.33 and the API server then "
            "drops hostUsers; taken to share the node's user namespace"
        )
    return False, "hostUsers: false: a user namespace of the pod's own"


def _without_env_gpu(
    w: Workload, containers: tuple[ContainerFacts, ...], ev: dict[str, Evidence]
) -> tuple[ContainerFacts, ...]:
    """``containers`` without ``gpu`` where its only route is ``NVIDIA_VISIBLE_DEVICES``
    (``env``): that variable is read by the NVIDIA runtime's hook, which does not run for
    a pod whose nodes' default runtime is not ``nvidia`` and that names no ``nvidia``
    RuntimeClass (that would be a route of its own)."""
    out = []
    for cf in containers:
        routes = {g.route for g in w.pod.gpu_access if g.container in (None, cf.name)}
        if "gpu" in cf.facts and routes == {"env"}:
            cf = replace(cf, facts=cf.facts - {"gpu"})
            ev.pop(f"{cf.name}/gpu", None)
        out.append(cf)
    return tuple(out)


def nvidia_default_runtime(
    w: Workload,
    placement: Placement,
    ctx: ClusterContext | None,
    handlers: Mapping[str, str | None],
) -> tuple[bool | None, str, str]:
    """Whether the NVIDIA Container Toolkit's hook runs for ``w``'s containers because
    ``nvidia`` is the default runtime where they may run: ``(answer, field, why)``, the
    answer ``None`` when the ClusterContext does not say.

    A pod naming a RuntimeClass whose handler is among the inputs and is not ``nvidia*``
    runs that handler, not the default. Otherwise, without ``nodePools``, the cluster-wide
    ``nvidia.defaultRuntime`` holds for every pod (any node may be a GPU node). With them,
    each pool's ``nvidiaDefaultRuntime`` (else the cluster-wide setting) holds for its
    nodes, and the pod gets the answer of the pools its placement admits: yes when one of
    them says yes, unknown when one does not say, no only when all say no. A pod the
    placement cannot narrow (no constraint, or one no pool takes) may run on every pool.
    """
    if ctx is None:
        return None, "", ""
    name = w.pod.runtime_class_name
    handler = handlers.get(name) if name else None
    if name and handler and not handler.lower().startswith("nvidia"):
        return (
            False,
            "spec.runtimeClassName",
            f"RuntimeClass {name} (handler {handler}) replaces the default runtime",
        )
    cluster = ctx.spec.nvidia.default_runtime
    pools = ctx.spec.node_pools
    if not pools:
        return (
            cluster,
            "spec.nvidia.defaultRuntime",
            "nvidia is the default runtime; no node pools known: any node may be a GPU node",
        )
    classes = placement.of(str(w.ref))
    reach = {c.partition("/")[0] for c in classes}
    anywhere = not reach - {ANY_NODE} or str(w.ref) in placement.unplaced
    where = placement.why.get(str(w.ref), "")
    answers: list[tuple[bool | None, int, str]] = []
    for i, pool in enumerate(pools):
        if anywhere or pool.name in reach:
            own = pool.nvidia_default_runtime
            answers.append((own if own is not None else cluster, i, pool.name))
    on = [(i, p) for a, i, p in answers if a]
    if on:
        i, pool_name = on[0]
        own = pools[i].nvidia_default_runtime is not None
        return (
            True,
            f"spec.nodePools[{i}].nvidiaDefaultRuntime" if own else "spec.nvidia.defaultRuntime",
            f"may run on node pool {pool_name}, whose default runtime is nvidia"
            + ("" if own else " (spec.nvidia.defaultRuntime)")
            + (f" ({where})" if where else ""),
        )
    if any(a is None for a, _, _ in answers):
        return None, "", ""
    return (
        False,
        "spec.nodePools",
        "runs only on node pools whose default runtime is not nvidia: "
        + ", ".join(p for _, _, p in answers),
    )


def _version_tuple(version: str) -> tuple[int, ...]:
    """``v1.17.3-1`` -> (1, 17, 3); missing parts are 0 (``1.17`` = 1.17.0)."""
    parts = [int(p) for p in re.findall(r"\d+", version.lstrip("vV"))[:3]]
    return tuple(parts + [0] * (3 - len(parts)))


def extract(
    inventory: Inventory,
    *,
    assume_kernel_exploit: bool = False,
    seccomp_root: Path | None = None,
) -> FactBase:
    """Base facts of every workload of ``inventory`` and of its cluster context."""
    from attackmap.pss import AdmissionPolicy, most_permissive_admitted

    ctx = inventory.context
    ctx_facts: set[str] = set()
    ctx_ev: dict[str, Evidence] = {}
    ctx_path = "ClusterContext"
    if ctx is not None:
        ctx_path = f"ClusterContext/{ctx.metadata.name}"
        cves = _nvidia_vulnerable(ctx)
        if cves:
            ctx_facts.add("ctx:nvidia_toolkit_vulnerable")
            ctx_ev["ctx:nvidia_toolkit_vulnerable"] = Evidence(
                path=ctx_path, line=None, field="spec.nvidia", detail=", ".join(cves)
            )
    cloud = ctx.spec.cloud if ctx is not None else None
    if cloud is not None and cloud.provider is not None:
        ctx_facts.add("ctx:cloud_metadata")
        ctx_ev["ctx:cloud_metadata"] = Evidence(
            path=ctx_path, line=None, field="spec.cloud.provider", detail=cloud.provider
        )
        if cloud.reachable_from_pods:
            ctx_facts.add("ctx:cloud_metadata_pods")
            ctx_ev["ctx:cloud_metadata_pods"] = Evidence(
                path=ctx_path,
                line=None,
                field="spec.cloud",
                detail=f"token required: {cloud.token_required}, hop limit: "
                f"{cloud.hop_limit}, blocked for pods: {cloud.blocked_for_pods}",
            )
    if ctx is not None and _cgroup_release_agent_open(ctx):
        ctx_facts.add("ctx:cgroup_v1_release_agent")
        ctx_ev["ctx:cgroup_v1_release_agent"] = Evidence(
            path=ctx_path,
            line=None,
            field="spec.cgroupVersion",
            detail=f"cgroup v1, kernel {ctx.spec.kernel_version or 'unknown'}",
        )
    if assume_kernel_exploit:
        ctx_facts.add("ctx:kernel_exploitable")
        ctx_ev["ctx:kernel_exploitable"] = Evidence(
            path="<options>", line=None, field="assume_kernel_exploit", detail="assumed"
        )
    admission = AdmissionPolicy()
    for doc in inventory.admission:
        admission = AdmissionPolicy.from_config(doc)
        break
    ns_labels = {str(ns.ref.name): dict(ns.labels) for ns in inventory.namespaces}
    for w in inventory.workloads:
        ns_labels.setdefault(w.namespace, dict(w.namespace_labels))
    admitting = frozenset(
        ns
        for ns, labels in ns_labels.items()
        if most_permissive_admitted(labels, admission, namespace=ns).privileged
    )
    unknown_admit = most_permissive_admitted({}, admission, namespace=None).privileged
    known_namespaces = frozenset(ns_labels)

    def deploy_admits(
        namespace: str, sa_name: str | None, scope: Mapping[str, frozenset[str]]
    ) -> str:
        """Where the identity can create privileged pods ("" when nowhere); ``sa_name``
        None: no particular identity (no user exemption applies)."""
        create: set[str] = set()
        for right in DEPLOY_RIGHTS:
            create |= scope.get(right, frozenset())
        if not create:
            return ""
        username = f"system:serviceaccount:{namespace}:{sa_name}"
        if (
            sa_name is not None
            and most_permissive_admitted({}, admission, username=username).exempt == "user"
        ):
            return f"{username} is exempt from Pod Security"
        where = sorted(create & admitting)
        # A namespace absent from the manifests has no labels we know of: it admits
        # what the admission defaults admit (privileged, without a configuration).
        if unknown_admit and (ALL_NAMESPACES in create or create - known_namespaces):
            where.append("namespaces outside the manifests")
        elif ALL_NAMESPACES in create and admitting:
            where = sorted(admitting)
        return "privileged pods admitted in " + ", ".join(where) if where else ""

    handlers = {str(rc.ref.name): rc.handler for rc in inventory.runtime_classes}
    declared: Mapping[str, str] = ctx.spec.runtime_classes if ctx is not None else {}
    low_level = ctx.spec.container_runtime.low_level if ctx is not None else None
    bindings = {b.ref: b for b in inventory.bindings}
    from attackmap.model._links import _BindingIndex, _resolve_roles

    roles = _resolve_roles(inventory.roles)  # once, for the admins and the identities
    admins = cluster_admins(inventory, roles)
    index = _BindingIndex(inventory.bindings)  # one lookup per ServiceAccount, not a scan
    bound_memo: dict[tuple[str, str], tuple[Binding, ...]] = {}
    # a ServiceAccount's scope is the same for every workload using it (the link is shared
    # per ServiceAccount, so its identity is a key); nothing mutates a scope
    scope_memo: dict[tuple[tuple[str, str], int], dict[str, frozenset[str]]] = {}
    rights: dict[_RuleContent, _RuleRights] = {}  # rbac_scope's memo: by rule content
    no_rights: dict[str, frozenset[str]] | None = None  # the scope of no rules, no roles
    sa_names: dict[str | None, set[str]] = {}
    for account in inventory.service_accounts:
        sa_names.setdefault(account.ref.namespace, set()).add(str(account.ref.name))
    from attackmap.graph._network import build_index

    network = build_index(inventory.workloads, inventory.network_policies)
    pod_reach = (network.reaches(), network.reached())
    credentials = build_credential_index(inventory)
    stores = StoreIndex(tuple(m for w in inventory.workloads for m in store_mounts(w, str(w.ref))))
    placement = place(inventory.workloads, ctx)
    workloads: list[WorkloadFacts] = []
    sharing = _Shared()
    for w in inventory.workloads:
        ev: dict[str, Evidence] = {}
        loc = (w.source.path, w.source.line)
        sa = w.service_account
        key = (w.namespace, w.pod.service_account_name)
        own = bound_memo.get(key)
        if own is None:
            own = bound_memo[key] = tuple(index.of(*key))
        fresh = _dedicated_name(w.ref, sa_names.get(w.ref.namespace, set()))
        scope = {}
        group_scope: Mapping[str, frozenset[str]] = {}
        if sa is not None:
            scope_key = (key, id(sa))
            found = scope_memo.get(scope_key)
            if found is None:
                found = scope_memo[scope_key] = rbac_scope(
                    sa.permissions, admins, bound_roles(own), rights
                )
            scope = found
            rules = group_rules(sa.permissions, bindings, w.namespace, fresh)
            group_bound = bound_roles(b for b in own if b.binds(w.namespace, fresh))
            if rules or group_bound:
                group_scope = rbac_scope(rules, admins, group_bound, rights)
            else:  # most workloads: nothing bound to the namespace's groups
                if no_rights is None:
                    no_rights = rbac_scope((), admins, group_bound)
                group_scope = no_rights
        pod = set(_pod_facts(w, ev, loc, scope, group_scope, pod_reach))
        for fact, fld, detail in credential_facts(w, credentials):
            pod.add(fact)
            ev.setdefault(fact, Evidence(loc[0], loc[1], fld, detail))
        for fact, detail in credentials.readable_facts(scope):
            pod.add(fact)
            ev[fact] = Evidence(
                loc[0], loc[1], f"ServiceAccount {w.pod.service_account_name}", detail
            )
        detail = deploy_admits(w.namespace, w.pod.service_account_name, scope)
        if detail:
            pod.add("deploy_admits:privileged")
            ev["deploy_admits:privileged"] = Evidence(
                path=loc[0], line=loc[1], field="Namespace labels", detail=detail
            )
        isolation, why = runtime_isolation(w.pod.runtime_class_name, handlers, declared, low_level)
        if isolation == "none":
            pod.add("host_kernel")
            ev["host_kernel"] = Evidence(loc[0], loc[1], "spec.runtimeClassName", why)
        shared, why = host_user_namespace(
            w.pod.host_users,
            kubernetes_version=ctx.spec.kubernetes_version if ctx is not None else None,
        )
        if shared:
            pod.add("host_users:field")
            ev["host_users:field"] = Evidence(loc[0], loc[1], "spec.hostUsers", why)
        containers = tuple(
            _container_facts(w, c, i, ev, loc) for i, c in enumerate(w.pod.containers)
        )
        nvidia, nvidia_field, nvidia_why = nvidia_default_runtime(w, placement, ctx, handlers)
        if nvidia:
            pod.add("nvidia_default_runtime")
            ev["nvidia_default_runtime"] = Evidence(
                path=ctx_path, line=None, field=nvidia_field, detail=nvidia_why
            )
        elif nvidia is False:
            containers = _without_env_gpu(w, containers, ev)
        shape = workload_shape(w)
        containers = pid_peer_facts(shape, containers, ev, loc)
        containers = _with_store_facts(stores, str(w.ref), containers, ev, loc)
        containers = _with_kubeconfig_facts(held_kubeconfigs(w, credentials), containers, ev, loc)
        workloads.append(
            WorkloadFacts(
                ref=w.ref,
                source=w.source,
                shape=shape,
                pod=sharing.facts(pod),
                containers=tuple(replace(cf, facts=sharing.facts(cf.facts)) for cf in containers),
                evidence=sharing.evidence(ev),
                rbac_scope=scope,
                manifest=w,
            )
        )
    identities = _with_readable_secrets(
        _identities(inventory, deploy_admits, admins, roles, index, rights), credentials
    )
    namespace_admins = _with_readable_secrets(
        _namespace_admins(inventory, (*workloads, *identities), deploy_admits), credentials
    )
    spec = ctx.spec if ctx is not None else None
    options = DeriveOptions(
        kernel=spec.kernel_version if spec else None,
        kubernetes_version=spec.kubernetes_version if spec else None,
        node_apparmor=spec.app_armor if spec else None,
        kubelet_seccomp_default=bool(spec and spec.kubelet.seccomp_default),
        seccomp_root=seccomp_root,
    )
    return FactBase(
        workloads=tuple(workloads),
        context=frozenset(ctx_facts),
        context_evidence=ctx_ev,
        options=options,
        namespaces_admitting_privileged=admitting,
        unknown_namespaces_admit_privileged=unknown_admit,
        identities=identities,
        namespace_admins=namespace_admins,
        placement=placement,
        stores=stores,
        credentials=credentials,
        network_policies=inventory.network_policies,
        network=network,
    )


# -- derivation -------------------------------------------------------------------------


class _Shared:
    """Equal fact sets and strings of different workloads as one object each. The facts,
    evidence keys, fields and details are a small vocabulary every workload spells again
    (``cap_drop:NET_RAW``, ``containers[main].securityContext.capabilities.drop``), and
    workloads of one shape have equal sets: at 1k workloads, 25,174 pieces of evidence
    hold ~3,100 distinct keys, fields and details, 2,032 pod and container sets 432
    distinct ones (the fact base's 11.6 MB traced become 7.5)."""

    def __init__(self) -> None:
        self._sets: dict[frozenset[str], frozenset[str]] = {}

    def facts(self, facts: Iterable[str]) -> frozenset[str]:
        found = frozenset(map(intern, facts))
        return self._sets.setdefault(found, found)

    def evidence(self, evidence: Mapping[str, Evidence]) -> dict[str, Evidence]:
        return {
            intern(key): Evidence(ev.path, ev.line, intern(ev.field), intern(ev.detail))
            for key, ev in evidence.items()
        }


def effective_capabilities(facts: frozenset[str]) -> frozenset[str]:
    """The container's effective capability set from its base facts."""
    if "privileged" in facts:
        return frozenset(LINUX_CAPABILITIES)
    added = {f[8:] for f in facts if f.startswith("cap_add:")}
    if "cap_drop:ALL" in facts:
        return frozenset(added)
    dropped = {f[9:] for f in facts if f.startswith("cap_drop:")}
    return frozenset((DEFAULT_CAPABILITIES - dropped) | added)


def classify_hostpaths(
    facts: Iterable[str], memo: dict[Any, Any] | None = None
) -> dict[str, list[str]]:
    """``host_mount:<class>`` -> the ``hostpath:`` facts that give it (``memo``: an
    analysis' derivation memo, which keeps each fact's classes)."""
    out: dict[str, list[str]] = {}
    for fact in facts:
        if fact.startswith("hostpath:"):
            for cls in _memoised(memo, ("hostpath", fact), partial(_host_mounts, fact)):
                out.setdefault(cls, []).append(fact)
    return out


def _host_mounts(fact: str) -> tuple[str, ...]:
    """The ``host_mount:<class>`` facts of one ``hostpath:<path>:<mode>`` fact."""
    path, _, mode = fact[9:].rpartition(":")
    return tuple(f"host_mount:{cls}" for cls in _hostpath_classes(path, mode == "rw"))


def _run_path(path: str) -> str:
    """``/var/run/x`` -> ``/run/x`` (the same directory on every current distribution)."""
    if path == "/var/run" or path.startswith("/var/run/"):
        return "/run" + path[len("/var/run") :]
    return path


def _ancestors(path: str) -> set[str]:
    out = set()
    parent = Path(path).parent
    while True:
        out.add(str(parent))
        if parent == parent.parent:
            return out
        parent = parent.parent


_SOCKET_DIRS = frozenset({"/var"}.union(*(_ancestors(s) for s in _RUNTIME_SOCKETS)))


def _credential_patterns(paths: Iterable[str]) -> tuple[tuple[str, ...], ...]:
    """``paths`` (of :data:`HOST_CREDENTIAL_FILES`) as component patterns, ``~``
    expanded."""
    out: list[tuple[str, ...]] = []
    for path in paths:
        homes = ("/root/", "/home/*/", "/") if path.startswith("~/") else ("",)
        for home in homes:
            full = home + path[2:] if home else path
            out.append(tuple(full.strip("/").split("/")))
    return tuple(out)


_CREDENTIAL_PATTERNS = _credential_patterns(p for p, _ in HOST_CREDENTIAL_FILES)
_CREDENTIAL_LEAVES = _credential_patterns(HOST_CREDENTIAL_LEAVES)


def exposes_credential_files(path: str) -> bool:
    """Whether a hostPath of ``path`` exposes an entry of :data:`HOST_CREDENTIAL_FILES`:
    the path is the entry, lies inside it, or is one of its parents; a path below a file
    of the layout (:data:`HOST_CREDENTIAL_LEAVES`) exposes nothing of it."""
    parts = tuple(p for p in _run_path(path).split("/") if p)
    for leaf in _CREDENTIAL_LEAVES:
        if len(parts) > len(leaf) and all(
            fnmatch.fnmatchcase(parts[i], leaf[i]) for i in range(len(leaf))
        ):
            return False
    for pattern in _CREDENTIAL_PATTERNS:
        common = min(len(parts), len(pattern))
        if all(fnmatch.fnmatchcase(parts[i], pattern[i]) for i in range(common)):
            return True
    return False


def _hostpath_classes(path: str, rw: bool) -> list[str]:
    classes: list[str] = []
    run = _run_path(path)
    if path in ("/", "/home", "/root", "/proc", "/etc") or re.fullmatch(
        r"/(root|home/[^/]+)(/\.ssh)?|/etc/kubernetes(/.*)?|/var/lib/kubelet(/pki)?", path
    ):
        classes.append("sensitive_read")
    if exposes_credential_files(path):
        classes.append("credential_files")
    if path in ("/", "/var", "/var/lib", "/var/lib/kubelet") or path.startswith(
        "/var/lib/kubelet/pods"
    ):
        classes.append("kubelet_pods")
    if path in ("/", "/var", "/var/log", "/var/log/pods") or path.startswith("/var/log/pods/"):
        classes.append("var_log")
        if rw:
            classes.append("log_write")
    if rw and path in ("/", "/proc", "/proc/sys", "/proc/sys/kernel"):
        classes.append("proc_sys_write")
    runtime = (
        run in _RUNTIME_SOCKETS
        or _RUNTIME_SOCKET_NAME.fullmatch(run) is not None
        or run in _SOCKET_DIRS
    )
    if runtime:
        classes.append("runtime_socket")
    # connect(2) works through a read-only mount: the host's bus and init take orders
    # from root whatever the mount mode.
    host_control = run in _HOST_CONTROL_SOCKETS or run in {
        str(Path(s).parent) for s in _HOST_CONTROL_SOCKETS
    }
    safe = (
        path.startswith(("/tmp", "/mnt/", "/dev/nvidia"))
        or run.startswith("/run/")
        or path in ("/run/xtables.lock", "/var/tmp")
    ) and not runtime
    if host_control or (rw and not safe):
        classes.append("write")
        if not host_control and _ROOT_OWNED.fullmatch(path) is None:
            classes.append("write_unknown_owner")
    return classes


def _syscalls(
    seccomp_type: str | None,
    localhost: str | None,
    seccomp_default: bool,
    caps: frozenset[str],
    privileged: bool,
    kernel: str | None,
    seccomp_root: Path | None,
) -> tuple[frozenset[str], tuple[str, ...]]:
    from attackmap.seccomp import SeccompSpec, open_syscalls

    stype = seccomp_type if seccomp_type in ("RuntimeDefault", "Localhost", "Unconfined") else None
    access = open_syscalls(
        profile=SeccompSpec(
            type=stype,  # type: ignore[arg-type]  # narrowed to the Literal values above
            localhost_profile=localhost,
            kubelet_seccomp_default=seccomp_default,
        ),
        capabilities=caps,
        privileged=privileged,
        kernel=kernel,
        seccomp_root=seccomp_root,
    )
    return access.usable_set, access.warnings


def _apparmor(
    ptype: str | None, localhost: str | None, k8s: str | None, node: bool | None, privileged: bool
) -> tuple[bool, bool]:
    from attackmap.seccomp import apparmor_effect

    known = ptype if ptype in ("RuntimeDefault", "Localhost", "Unconfined") else None
    effect = apparmor_effect(
        known, localhost, kubernetes_version=k8s, node_apparmor=node, privileged=privileged
    )
    return (not effect.denies_mount, not effect.confined)


def _memoised(memo: dict[Any, Any] | None, key: tuple[Any, ...], compute: Any) -> Any:
    if memo is None:
        return compute()
    if key not in memo:
        memo[key] = compute()
    return memo[key]


def derive(
    base: frozenset[str],
    container: ContainerFacts | None,
    options: DeriveOptions,
    memo: dict[Any, Any] | None = None,
) -> tuple[frozenset[str], dict[str, tuple[str, ...]], tuple[str, ...]]:
    """Base facts plus derived facts; ``because`` maps each derived fact to the base facts
    it came from; the last item holds warnings (e.g. an unresolved Localhost profile)."""
    facts = set(base)
    because: dict[str, tuple[str, ...]] = {}
    warnings: tuple[str, ...] = ()

    def put(fact: str, sources: Iterable[str]) -> None:
        facts.add(fact)
        if fact not in because:
            because[fact] = tuple(sorted(set(sources) & base))

    if container is not None:
        # A function of the container families alone: scopes and what-ifs that differ in
        # pod-level facts (a NetworkPolicy, a route, a ServiceAccount) share it.
        inputs = frozenset(f for f in base if f.startswith(CONTAINER_INPUTS))
        own, explained, warnings = _memoised(
            memo,
            ("container", inputs, derive_key(container), options),
            partial(_derive_container, inputs, container, options, memo),
        )
        facts |= own
        because.update(explained)
    for fact in base:
        if fact.startswith(("rbac_sa:", "rbac_group:")):
            put("rbac:" + fact.partition(":")[2], [fact])
    # The node's user namespace: hostUsers not honoured, or a host namespace the API server
    # rejects together with hostUsers: false (such a pod is taken as the node's).
    userns = [f for f in ("host_users:field", "host_pid", "host_ipc", "host_network") if f in base]
    if userns:
        put("host_users", userns)
    # Exposure. A LoadBalancer/NodePort keeps the client's address (or the node's): it needs
    # ingress allowed from outside. An Ingress/Gateway route arrives from the controller's
    # pods: any allowed peer may be that controller.
    host = "route:host" in base
    open_in = "netpol:ingress_open" in base
    exposure: list[str] = []
    if host:
        exposure.append("route:host")
    if "route:external" in base and (open_in or "netpol:allows_external" in base):
        exposure += ["route:external", "netpol:ingress_open", "netpol:allows_external"]
    if "route:gateway" in base and (open_in or "netpol:allows_peers" in base):
        exposure += ["route:gateway", "netpol:ingress_open", "netpol:allows_peers"]
    if exposure:
        put("exposed:external", exposure)
    if host or open_in or "netpol:allows_any_pod" in base:
        put(
            "reachable:cluster",
            ["route:host", "netpol:ingress_open", "netpol:allows_any_pod"],
        )
    # Pod to pod (graph/_network.py decides which pod and port; these say whether any may).
    host_net = "host_network" in base
    if "pod_network:reaches" in base and (
        host_net or "netpol:egress_open" in base or "netpol:egress_allows_pods" in base
    ):
        put(
            "egress:pods",
            [
                "pod_network:reaches",
                "host_network",
                "netpol:egress_open",
                "netpol:egress_allows_pods",
            ],
        )
    if host_net or open_in or "netpol:ingress_allows_pods" in base:
        put("ingress:pods", ["host_network", "netpol:ingress_open", "netpol:ingress_allows_pods"])
    if "netpol:egress_open" in base or "netpol:egress_allows_any" in base:
        put("egress:open", ["netpol:egress_open", "netpol:egress_allows_any"])
    if "netpol:egress_open" in base or "netpol:egress_allows_metadata" in base:
        put("egress:metadata", ["netpol:egress_open", "netpol:egress_allows_metadata"])
    if (
        container is not None
        and {"gpu", "long_running"} <= base
        and "ai:inference_api" not in base
        and ("exposed:external" in facts or "reachable:cluster" in facts)
    ):
        # Exactness: say what is not assessed rather than stay silent about it.
        warnings = (*warnings, UNKNOWN_MODEL_SERVER)
    return frozenset(facts), because, warnings


CONTAINER_INPUTS = (
    "privileged",
    "cap",
    "uid_root",
    "allow_privilege_escalation",
    "seccomp:",
    "apparmor:",
    "rootfs:",
    "hostpath:",
    "syscall:",
)
"""The base-fact families (prefixes) the container rules of :func:`derive` read; its
container-level facts are a function of these, the container's profile names
(:func:`derive_key`) and the options. A rule that reads another family adds it here."""


def _derive_container(
    base: frozenset[str],
    container: ContainerFacts,
    options: DeriveOptions,
    memo: dict[Any, Any] | None,
) -> tuple[frozenset[str], dict[str, tuple[str, ...]], tuple[str, ...]]:
    """:func:`derive`'s container rules over ``base``, the scope's base facts of the
    :data:`CONTAINER_INPUTS` families: capabilities, syscalls, profiles, the root
    filesystem, host mounts."""
    facts = set(base)
    because: dict[str, tuple[str, ...]] = {}

    def put(fact: str, sources: Iterable[str]) -> None:
        fact = intern(fact)  # kept per distinct container (see _Shared)
        facts.add(fact)
        if fact not in because:
            because[fact] = tuple(sorted(set(sources) & base))

    privileged = "privileged" in base
    caps = effective_capabilities(base)
    cap_sources = [f for f in base if f.startswith(("cap_add:", "cap_drop:")) or f == "privileged"]
    escalation = ("allow_privilege_escalation", "allow_privilege_escalation:forced")
    usable = privileged or "uid_root" in base or any(f in base for f in escalation)
    usable_src = [f for f in ("privileged", "uid_root", *escalation) if f in base]
    for cap in caps:
        # exactly the base facts that decide this capability
        deciding = ("privileged", "cap_drop:ALL", f"cap_add:{cap}", f"cap_drop:{cap}")
        own = [f for f in cap_sources if f in deciding]
        put(f"cap:{cap}", own)
        if usable:
            put(f"cap_usable:{cap}", [*own, *usable_src])
    seccomp_type = next((f[8:] for f in base if f.startswith("seccomp:")), "unset")
    stype = None if seccomp_type == "unset" else seccomp_type
    local = container.seccomp_localhost if stype == "Localhost" else None
    sys_args = (
        stype,
        local,
        options.kubelet_seccomp_default,
        caps if usable else frozenset(),
        privileged,
        options.kernel,
        options.seccomp_root,
    )
    syscalls, warnings = _memoised(memo, ("syscalls", *sys_args), lambda: _syscalls(*sys_args))
    sc_sources = [*cap_sources, *usable_src, f"seccomp:{seccomp_type}"]
    if syscalls:
        # the same sources for every open syscall: intersect them once
        sc_because = tuple(sorted(set(sc_sources) & base))
        for name in syscalls:
            fact = intern(f"syscall:{name}")
            facts.add(fact)
            because.setdefault(fact, sc_because)
    apparmor_type = next((f[9:] for f in base if f.startswith("apparmor:")), "unset")
    atype = None if apparmor_type == "unset" else apparmor_type
    alocal = container.apparmor_localhost if atype == "Localhost" else None
    aa_args = (
        atype,
        alocal,
        options.kubernetes_version,
        options.node_apparmor,
        privileged,
    )
    allows_mount, allows_ptrace = _memoised(
        memo, ("apparmor", *aa_args), lambda: _apparmor(*aa_args)
    )
    aa_sources = [f"apparmor:{apparmor_type}", *(["privileged"] if privileged else [])]
    if allows_mount:
        put("apparmor:allows_mount", aa_sources)
    if allows_ptrace:
        put("apparmor:allows_ptrace", aa_sources)
    if "rootfs:rw" in base:
        put("rootfs:writable", ["rootfs:rw"])
    elif {"cap_usable:SYS_ADMIN", "syscall:mount"} <= facts and allows_mount:
        # a read-only root filesystem is remounted read-write from inside
        put(
            "rootfs:writable",
            [
                *because.get("cap_usable:SYS_ADMIN", ()),
                *because.get("syscall:mount", ()),
                *aa_sources,
            ],
        )
    for cls, sources in classify_hostpaths(base, memo).items():
        put(cls, sources)
    return frozenset(facts), because, warnings
