"""load(): kinds, effective security context, capabilities, env, GPU routes, links, relink."""

from __future__ import annotations

import copy
import json
import textwrap

import pytest

from attackmap.errors import InputError
from attackmap.model import LINUX_CAPABILITIES, ObjectRef, load, relink


def y(text: str) -> str:
    return textwrap.dedent(text)


POD = y(
    """\
    apiVersion: v1
    kind: Pod
    metadata:
      name: web
      namespace: apps
      labels: {app: web}
      annotations:
        container.apparmor.security.beta.kubernetes.io/main: unconfined
        cdi.k8s.io/gpu: nvidia.com/gpu=all
    spec:
      hostPID: true
      securityContext:
        runAsUser: 1000
        runAsNonRoot: true
        seccompProfile: {type: RuntimeDefault}
      initContainers:
      - name: proxy
        image: envoy
        restartPolicy: Always
      containers:
      - name: main
        image: nvcr.io/nim/meta/llama:1.0@sha256:abc
        ports: [{containerPort: 8000, name: http}]
        securityContext:
          runAsUser: 0
          capabilities: {add: [cap_sys_admin, NET_ADMIN], drop: [ALL]}
        env:
        - {name: NGC_API_KEY, value: "nvapi-SECRET-VALUE"}
        - {name: MODE, value: fast}
        - {name: NVIDIA_VISIBLE_DEVICES, value: all}
        - name: HF_TOKEN
          valueFrom: {secretKeyRef: {name: hf, key: token}}
        resources:
          limits: {nvidia.com/gpu: 2, nvidia.com/mig-1g.5gb: "1", cpu: 500m, memory: 16Gi}
        volumeMounts:
        - {name: dev, mountPath: /dev/nvidia0}
        - {name: cache, mountPath: /cache, readOnly: true}
      - name: side
        image: busybox
        securityContext: {privileged: true}
      volumes:
      - name: dev
        hostPath: {path: /dev/nvidia0}
      - name: cache
        persistentVolumeClaim: {claimName: cache}
      - name: nosource
    """
)


def test_effective_security_context_and_capabilities() -> None:
    inv = load(POD)
    (w,) = inv.workloads
    assert str(w.ref) == "Pod/apps/web"
    proxy, main, side = w.pod.containers
    assert (proxy.kind, main.kind, side.kind) == ("sidecar", "regular", "regular")
    assert main.run_as_user == 0 and proxy.run_as_user == 1000  # container wins
    assert main.run_as_non_root is True
    assert main.seccomp_profile is not None and main.seccomp_profile.source == "pod"
    assert main.apparmor_profile is not None
    assert (main.apparmor_profile.type, main.apparmor_profile.source) == (
        "Unconfined",
        "annotation",
    )
    assert proxy.apparmor_profile is None
    assert main.capabilities.add == ("NET_ADMIN", "SYS_ADMIN")
    assert main.capabilities.add_raw == ("cap_sys_admin", "NET_ADMIN")
    assert main.capabilities.drop == LINUX_CAPABILITIES
    assert main.effective_capabilities == frozenset({"NET_ADMIN", "SYS_ADMIN"})
    assert side.privileged and side.effective_capabilities == frozenset(LINUX_CAPABILITIES)
    assert len(LINUX_CAPABILITIES) == 41 and {"BPF", "PERFMON", "CHECKPOINT_RESTORE"} <= set(
        LINUX_CAPABILITIES
    )
    assert main.image is not None
    assert (main.image.registry, main.image.repository, main.image.tag, main.image.digest) == (
        "nvcr.io", "nim/meta/llama", "1.0", "sha256:abc",
    )  # fmt: skip
    assert main.resources.gpu == 3 and main.resources.cpu_limit == 0.5
    assert main.resources.memory_limit == 16 * 2**30
    assert w.pod.host_pid and w.pod.volume("nosource") is not None
    assert w.pod.volume("nosource").type == "emptyDir"  # type: ignore[union-attr]  # asserted above
    mounts = {m.mount.name: m for m in w.pod.mounts(main)}
    assert mounts["dev"].writable and not mounts["cache"].writable


def test_field_names_are_the_api_names_only() -> None:
    """The API server knows ``hostNetwork``, not ``host_network``: a snake_case field is an
    unknown field (dropped, or refused under strict field validation), never the setting
    -- it used to be read as the setting, which made such a pod look host-networked."""
    snake = """
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  host_network: true
  hostPID: true
  security_context: {run_as_user: 0}
  containers:
  - name: c
    image: x
    security_context: {privileged: true}
    securityContext: {run_as_non_root: true, allowPrivilegeEscalation: false}
"""
    (w,) = load(snake).workloads
    assert not w.pod.host_network and w.pod.host_pid  # hostPID is the API's own spelling
    c = w.pod.containers[0]
    assert not c.privileged and c.run_as_user is None and c.run_as_non_root is None
    assert c.allow_privilege_escalation is False


def test_template_label_and_selector_scalars_read_as_strings() -> None:
    """Pod-template labels and nodeSelector values written as numbers or booleans are read
    as their string form (docs/model.md); a list there is an error at the exact key."""
    doc = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: a}
spec:
  template:
    metadata:
      labels: {app: a, version: 1, canary: true, ratio: 0.5}
    spec:
      nodeSelector: {gpu: true}
      containers: [{name: c, image: x}]
"""
    (w,) = load(doc).workloads
    assert w.labels == {"app": "a", "version": "1", "canary": "true", "ratio": "0.5"}
    assert w.pod.node_selector == {"gpu": "true"}
    with pytest.raises(InputError) as e:
        load(doc.replace("ratio: 0.5", "bad: [1]"))
    assert e.value.line == 8 and e.value.field == "spec.template.metadata.labels.bad"
    assert "expected a string, got a list" in str(e.value)


def test_env_values_never_stored() -> None:
    inv = load(POD)
    (w,) = inv.workloads
    main = w.pod.container("main")
    assert main is not None
    env = {e.name: e for e in main.env}
    assert env["NGC_API_KEY"].source == "literal" and env["NGC_API_KEY"].credential_like
    assert env["HF_TOKEN"].source == "secret" and (
        env["HF_TOKEN"].ref_name,
        env["HF_TOKEN"].ref_key,
    ) == ("hf", "token")
    assert not env["MODE"].credential_like
    dumped = json.dumps(inv.model_dump(mode="json"))
    assert "nvapi-SECRET-VALUE" not in dumped
    assert "fast" in json.dumps(w.pod_template)  # non-credential literals stay in the raw template
    assert "<redacted>" in json.dumps(w.pod_template)


def test_gpu_access_routes() -> None:
    (w,) = load(POD).workloads
    routes = {(g.route, g.container) for g in w.pod.gpu_access}
    assert routes == {
        ("resource", "main"),
        ("env", "main"),
        ("hostPath-device", "main"),
        ("cdi", None),
    }


def test_secrets_keep_no_values() -> None:
    text = y(
        """\
        apiVersion: v1
        kind: Secret
        metadata:
          name: s
          annotations:
            kubectl.kubernetes.io/last-applied-configuration: '{"data":{"k":"c2VjcmV0"}}'
        data: {k: c2VjcmV0}
        stringData: {pw: hunter2}
        """
    )
    inv = load(text)
    assert inv.secrets[0].keys == ("k", "pw")
    dumped = json.dumps(inv.model_dump(mode="json"))
    assert "c2VjcmV0" not in dumped and "hunter2" not in dumped


CRON = y(
    """\
    apiVersion: batch/v1
    kind: CronJob
    metadata: {name: nightly}
    spec:
      schedule: "* * * * *"
      jobTemplate:
        spec:
          template:
            metadata: {labels: {app: nightly}}
            spec:
              serviceAccountName: runner
              automountServiceAccountToken: false
              containers: [{name: c, image: busybox}]
    """
)


def test_core_kinds_owner_chain_and_namespace_default() -> None:
    inv = load(CRON, namespace="jobs")
    (w,) = inv.workloads
    assert str(w.ref) == "CronJob/jobs/nightly"
    assert [str(r) for r in w.owner_chain] == ["CronJob/jobs/nightly", "Job/jobs/nightly"]
    assert w.service_account is not None and not w.service_account.automount
    assert any("runner" in x.message for x in inv.warnings)


def test_unknown_kind_and_api_version_are_skipped() -> None:
    text = "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n---\napiVersion: example.com/v1\nkind: Deployment\nmetadata: {name: d}\n"
    inv = load(text)
    assert [(s.kind, s.reason.split()[0]) for s in inv.skipped] == [
        ("Widget", "kind"),
        ("Deployment", "unknown"),
    ]
    assert inv.skipped[0].source.line == 1 and inv.skipped[1].source.document == 1


def test_kind_list_and_json_and_dicts() -> None:
    doc = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "a"},
        "spec": {"containers": [{"name": "c"}]},
    }
    listed = {
        "apiVersion": "v1",
        "kind": "List",
        "items": [doc, {**doc, "metadata": {"name": "b"}}],
    }
    assert [str(w.ref) for w in load(json.dumps(listed, indent=1)).workloads] == [
        "Pod/default/a",
        "Pod/default/b",
    ]
    assert [w.source.line for w in load(json.dumps(listed, indent=1)).workloads] == [5, 19]
    assert len(load(doc, [copy.deepcopy(doc) | {"metadata": {"name": "z"}}]).workloads) == 2


LINKS = y(
    """\
    apiVersion: v1
    kind: Namespace
    metadata:
      name: nim
      labels: {pod-security.kubernetes.io/enforce: baseline, team: ml}
    ---
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: api, namespace: nim}
    spec:
      selector: {matchLabels: {app: api}}
      template:
        metadata: {labels: {app: api, tier: web}}
        spec:
          serviceAccountName: api
          containers:
          - name: c
            image: x
            ports: [{containerPort: 8000, name: http}]
            volumeMounts: [{name: data, mountPath: /data}]
          volumes: [{name: data, persistentVolumeClaim: {claimName: data}}]
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: api, namespace: nim}
    spec: {type: NodePort, selector: {app: api}, ports: [{port: 80, targetPort: http}]}
    ---
    apiVersion: networking.k8s.io/v1
    kind: Ingress
    metadata: {name: api, namespace: nim}
    spec:
      rules:
      - http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: api, port: {number: 80}}}}]}
    ---
    apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata: {name: only-monitoring, namespace: nim}
    spec:
      podSelector:
        matchExpressions: [{key: tier, operator: In, values: [web]}]
      ingress:
      - from:
        - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: monitoring}}
      - from:
        - ipBlock: {cidr: 0.0.0.0/0}
    ---
    apiVersion: v1
    kind: ServiceAccount
    metadata: {name: api, namespace: nim}
    automountServiceAccountToken: false
    ---
    apiVersion: rbac.authorization.k8s.io/v1
    kind: ClusterRole
    metadata: {name: agg}
    aggregationRule:
      clusterRoleSelectors: [{matchLabels: {rbac.example/aggregate: "true"}}]
    ---
    apiVersion: rbac.authorization.k8s.io/v1
    kind: ClusterRole
    metadata: {name: piece, labels: {rbac.example/aggregate: "true"}}
    rules: [{apiGroups: [""], resources: ["pods/exec"], verbs: [create]}]
    ---
    apiVersion: rbac.authorization.k8s.io/v1
    kind: RoleBinding
    metadata: {name: b, namespace: nim}
    roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: agg}
    subjects: [{kind: Group, name: "system:serviceaccounts:nim"}]
    ---
    apiVersion: rbac.authorization.k8s.io/v1
    kind: ClusterRoleBinding
    metadata: {name: admin}
    roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
    subjects: [{kind: ServiceAccount, name: api, namespace: nim}]
    ---
    apiVersion: v1
    kind: PersistentVolumeClaim
    metadata: {name: data, namespace: nim}
    spec: {accessModes: [ReadWriteMany], volumeName: pv1}
    ---
    apiVersion: v1
    kind: PersistentVolume
    metadata: {name: pv1}
    spec: {accessModes: [ReadWriteMany], nfs: {server: nfs.local, path: /exports}}
    """
)


def test_links() -> None:
    inv = load(LINKS)
    (w,) = inv.workloads
    assert w.exposure.level == "external"
    assert {(r.kind, r.port, r.target) for r in w.exposure.routes} == {
        ("Service", 80, "http"),
        ("Ingress", 80, "http"),
    }
    assert w.network.ingress_isolated and w.network.allows_from_external
    assert not w.network.allows_from_any_pod
    assert [str(p) for p in w.network.policies] == ["NetworkPolicy/nim/only-monitoring"]
    sa = w.service_account
    assert sa is not None and sa.exists and not sa.automount
    assert sa.can("create", "pods", subresource="exec", namespace="nim")
    assert not sa.can("create", "pods/exec", namespace="other") or any(
        r.namespace is None for r in sa.permissions
    )
    exec_rules = [r for r in sa.permissions if "pods/exec" in r.resources]
    assert (
        exec_rules
        and exec_rules[0].namespace == "nim"
        and str(exec_rules[0].role) == "ClusterRole/agg"
    )
    assert exec_rules[0].allows("create", "pods/exec", namespace="nim")
    assert not exec_rules[0].allows("create", "pods/exec", namespace="other")
    assert sa.can("delete", "nodes", namespace="")  # cluster-admin via ClusterRoleBinding
    data = w.pod.volume("data")
    assert data is not None and data.access_modes == ("ReadWriteMany",) and data.pv_backing == "nfs"
    assert w.pss.enforce == "baseline" and w.namespace_labels["team"] == "ml"


def _without_sources(value: object) -> object:
    if isinstance(value, dict):
        return {k: _without_sources(v) for k, v in value.items() if k not in ("source", "warnings")}
    if isinstance(value, list):
        return [_without_sources(v) for v in value]
    return value


def test_determinism_independent_of_document_order() -> None:
    docs = LINKS.split("---\n")
    a = _without_sources(load("---\n".join(docs)).model_dump(mode="json"))
    b = _without_sources(load("---\n".join(reversed(docs))).model_dump(mode="json"))
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
    assert load(LINKS).model_dump_json() == load(LINKS).model_dump_json()


def test_relink_after_patch() -> None:
    inv = load(LINKS)
    (w,) = inv.workloads
    patched = copy.deepcopy(w.pod_template)
    patched["spec"]["containers"][0]["securityContext"] = {"privileged": True}
    patched["spec"]["automountServiceAccountToken"] = True
    new = relink(inv, {w.ref: patched})
    (nw,) = new.workloads
    assert (
        nw.pod.containers[0].privileged
        and nw.service_account is not None
        and nw.service_account.automount
    )
    assert nw.exposure == w.exposure and nw.ref == w.ref and nw.source == w.source
    assert not w.pod.containers[0].privileged  # the original is untouched
    with pytest.raises(InputError):
        relink(inv, {ObjectRef(kind="Pod", namespace="x", name="y"): patched})
    broken = copy.deepcopy(w.pod_template)
    broken["spec"]["containers"][0]["securityContext"] = {"capabilities": {"add": "SYS_ADMIN"}}
    with pytest.raises(InputError, match="list of strings"):
        relink(inv, {w.ref: broken})


def test_cluster_context_document_and_argument(tmp_path: object) -> None:
    ctx = "apiVersion: attackmap/v1\nkind: ClusterContext\nmetadata: {name: gpu-prod}\nspec:\n  kubernetesVersion: '1.31'\n  containerRuntime: {name: containerd, version: 1.7.22, lowLevel: runc}\n  nvidia: {containerToolkit: 1.17.3, cdi: false}\n  kubelet: {seccompDefault: false}\n  appArmor: true\n"
    inv = load(ctx + "---\n" + CRON)
    assert inv.context is not None and inv.context.spec.nvidia.container_toolkit == "1.17.3"
    assert inv.context.spec.container_runtime.low_level == "runc"
    assert not inv.context.spec.assume_unknown_vulnerable
    with pytest.raises(InputError):
        load(ctx.replace("lowLevel: runc", "lowLevel: bogus"))
    other = load(CRON, context={"metadata": {"name": "x"}, "spec": {"appArmor": False}})
    assert other.context is not None and other.context.spec.app_armor is False
