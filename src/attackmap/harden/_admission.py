"""Tailored admission: the hardened pod's privileges as a policy the API server enforces.

Pod Security admits *levels*; a NIM that must stay at ``baseline`` (or a GPU device plugin
at ``privileged``) gets everything that level allows. The tailored policy admits the
workload's pods only with exactly what hardening kept: each rule below is read off the
*hardened* pod template (as attackmap's model renders it, so a NIMService's pods too) and
names the field it checks. Rules are plain data — an id, the field, a message, one CEL
expression over the Pod (``object``) and the controls whose effect it keeps — rendered as:

* a ``ValidatingAdmissionPolicy`` + ``ValidatingAdmissionPolicyBinding``
  (``admissionregistration.k8s.io/v1``, Kubernetes >= 1.30), matched to the workload's pods
  by namespace and labels;
* a Kyverno ``ClusterPolicy``: a ``mutate`` rule that injects the seccomp profile, drops
  capabilities and sets ``allowPrivilegeEscalation: false`` where the hardened pod has them,
  and a ``validate.cel`` rule with the same expressions;
* the namespace's Pod Security labels at the level the hardened pod reaches, paired, when
  that level is ``privileged``, with a namespace guard policy: a pod that is not one of the
  tailored workloads (by labels) is refused, so the lowered level never stands alone.

The library does not evaluate CEL (no runtime dependency); the tests evaluate every
expression with ``cel-python`` against :attr:`AdmissionResult.cases`: the original pod
(denied, by the rules keeping the applied controls), the hardened pod (admitted) and, per
applied control, the hardened pod with that one control left out (denied by its rules).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict

from attackmap.harden._cel import all_of, any_of, field, has_path, lit, str_list
from attackmap.pss._table import SELINUX_TYPES_ADDED

ENGINES = ("vap", "kyverno")
VAP_FILE = "attackmap-admission-vap.yaml"
KYVERNO_FILE = "attackmap-admission-kyverno.yaml"
NAMESPACE_FILE = "attackmap-admission-namespaces.yaml"
PSA_CONFIG_FILE = "attackmap-admission-podsecurity.yaml"

_PSA = "pod-security.kubernetes.io/"
_APPARMOR_ANNOTATION = "container.apparmor.security.beta.kubernetes.io/"
_RANK = {"privileged": 0, "baseline": 1, "restricted": 2}
# The SELinux types Pod Security baseline allows at the newest version (its own table).
_SELINUX_TYPES = tuple(
    sorted(t for _, types in SELINUX_TYPES_ADDED for t in types if t)  # "" is type unset
)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class AdmissionRule(_Frozen):
    """One check of a tailored policy: a CEL expression over the Pod, true when admitted."""

    id: str
    """``<check>`` or ``<check>:<container>``; unique within the policy."""
    field: str
    """The Pod field checked (``spec.containers[nim-llm].securityContext.privileged``)."""
    message: str
    expression: str
    keeps: tuple[str, ...] = ()
    """Control names (without ``@target``) whose effect this rule keeps in place."""


class WorkloadPolicy(_Frozen):
    """The tailored policy of one workload."""

    workload: str
    name: str
    """Object name of the policy and its binding (DNS-1123, cluster-unique)."""
    namespace: str
    match_labels: dict[str, str]
    level: str
    """The Pod Security level the hardened pod reaches (the namespace enforces the lowest)."""
    rules: tuple[AdmissionRule, ...]
    inject: dict[str, dict[str, Any]] = {}
    """Container name -> the securityContext fields the Kyverno mutate rule injects."""
    runtime_class: str | None = None
    """The hardened pod's ``runtimeClassName``."""

    def rule(self, rule_id: str) -> AdmissionRule:
        return next(r for r in self.rules if r.id == rule_id)

    def keeping(self, control: str) -> tuple[AdmissionRule, ...]:
        """The rules that keep ``control`` (``name[:arg]``) in place."""
        base = control.split(":", 1)[0]
        return tuple(r for r in self.rules if base in r.keeps)


class AdmissionCase(_Frozen):
    """A Pod the tailored policy must judge: expected verdict and the rules that deny it."""

    workload: str
    name: str
    """``original``, ``hardened`` or ``without <control>`` (that privilege re-added)."""
    pod: dict[str, Any]
    admitted: bool
    denied_by: tuple[str, ...] = ()
    """Rule ids expected to deny (each deny of the case must be one of these)."""


class PathKept(_Frozen):
    """A goal path hardening broke, the controls that broke it and what keeps it broken."""

    workload: str
    path: str
    controls: tuple[str, ...]
    kept_by: tuple[str, ...]
    """``ValidatingAdmissionPolicy <name>: <rule id>`` or why no pod policy can keep it."""


class Comparison(_Frozen):
    """Per workload: the techniques each admission set-up admits (side by side)."""

    workload: str
    level: str
    pss_alone: tuple[str, ...]
    """Techniques of the widest pod of this workload Pod Security ``level`` admits."""
    restricted_alone: tuple[str, ...]
    """The same under Pod Security ``restricted``."""
    tailored: tuple[str, ...]
    """Techniques of the hardened pod: all that ``level`` + the tailored policy + profile admit."""


class AdmissionResult(_Frozen):
    """What ``harden(..., admission=...)`` emitted and the cases that verify it."""

    engines: tuple[str, ...]
    policies: tuple[WorkloadPolicy, ...]
    cases: tuple[AdmissionCase, ...]
    paths: tuple[PathKept, ...] = ()
    comparisons: tuple[Comparison, ...] = ()
    techniques: dict[str, str] = {}
    """Technique id -> name, for every id in :attr:`comparisons`."""
    files: dict[str, str] = {}
    notes: tuple[str, ...] = ()

    def policy(self, workload: str) -> WorkloadPolicy:
        return next(p for p in self.policies if p.workload == workload)


# -- names -------------------------------------------------------------------------------------


def object_name(*parts: str, limit: int = 63) -> str:
    """A DNS-1123 label from ``parts`` (lower case, ``-``-joined), cut with a digest when long."""
    raw = "-".join(p for p in parts if p)
    name = re.sub(r"[^a-z0-9-]+", "-", raw.lower()).strip("-") or "workload"
    if len(name) > limit:
        digest = hashlib.sha256(raw.encode()).hexdigest()[:8]
        name = name[: limit - 9].rstrip("-") + "-" + digest
    return name


# -- reading the hardened pod template ----------------------------------------------------------


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def containers_of(spec: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(list field, container) for init then regular containers."""
    return [
        (key, c)
        for key in ("initContainers", "containers")
        for c in _list(spec.get(key))
        if isinstance(c, dict)
    ]


def _effective(c: Mapping[str, Any], spec: Mapping[str, Any], key: str) -> Any:
    """A container's security setting, else the pod's."""
    sc = _dict(c.get("securityContext"))
    if key in sc:
        return sc[key]
    return _dict(spec.get("securityContext")).get(key)


# -- CEL pieces over `object` (a Pod) -----------------------------------------------------------

_SPEC = "object.spec"


def _in_container(list_field: str, name: str, cond: str) -> str:
    """``cond`` (over ``c``) holds for the container ``name`` of ``spec.<list_field>``."""
    lst = f"{_SPEC}.{list_field}"
    return f"!has({lst}) || {lst}.all(c, c.name != {lit(name)} || ({cond}))"


def _sc(*keys: str, default: str) -> str:
    return field("c", "securityContext", *keys, default=default)


def _pod_sc(*keys: str, default: str) -> str:
    return field(_SPEC, "securityContext", *keys, default=default)


def _profile_type(key: str) -> str:
    """The effective ``<key>.type`` (container over pod), ``""`` when neither sets it."""
    return (
        f"({has_path('c', 'securityContext', key)} ? c.securityContext.{key}.type : "
        f"{_pod_sc(key, 'type', default=lit(''))})"
    )


def _profile_localhost(key: str) -> str:
    return (
        f"({has_path('c', 'securityContext', key)} ? "
        f"{_sc(key, 'localhostProfile', default=lit(''))} : "
        f"{_pod_sc(key, 'localhostProfile', default=lit(''))})"
    )


# -- rules ---------------------------------------------------------------------------------------


def build_rules(
    workload: str,
    hardened: Mapping[str, Any],
    original: Mapping[str, Any] | None,
) -> tuple[AdmissionRule, ...]:
    """The rules admitting ``workload``'s pods only with what the ``hardened`` pod template
    has (``original``: the template before hardening, for the env names it removed)."""
    spec = _dict(hardened.get("spec"))
    meta = _dict(hardened.get("metadata"))
    rules: list[AdmissionRule] = []

    def add(rule_id: str, fld: str, message: str, expression: str, *keeps: str) -> None:
        rules.append(
            AdmissionRule(
                id=rule_id,
                field=fld,
                message=f"{workload}: {fld} {message}",
                expression=expression,
                keeps=tuple(sorted(keeps)),
            )
        )

    # which containers may exist (a new container would bring its own privileges)
    for key in ("containers", "initContainers"):
        names = [str(c.get("name")) for c in _list(spec.get(key)) if isinstance(c, dict)]
        lst = f"{_SPEC}.{key}"
        if key == "containers":
            expr = f"{lst}.all(c, c.name in {str_list(names)})"
        else:
            expr = f"!has({lst}) || {lst}.all(c, c.name in {str_list(names)})"
        shown = ", ".join(sorted(names)) or "none"
        add(key, f"spec.{key}", f"may only be the hardened containers ({shown})", expr)
    add(
        "ephemeralContainers",
        "spec.ephemeralContainers",
        "must be empty (a debug container would bring its own privileges)",
        f"!has({_SPEC}.ephemeralContainers) || {_SPEC}.ephemeralContainers.size() == 0",
    )
    # pod-level privileges
    for key, control in (
        ("hostNetwork", "no-host-network"),
        ("hostPID", "no-host-pid"),
        ("hostIPC", ""),
        ("shareProcessNamespace", "no-share-process-namespace"),
    ):
        if spec.get(key) is not True:
            add(
                key,
                f"spec.{key}",
                "must not be true",
                f"!has({_SPEC}.{key}) || {_SPEC}.{key} == false",
                *([control] if control else []),
            )
    host_paths = sorted(
        (str(v.get("name")), str(_dict(v.get("hostPath")).get("path", "")))
        for v in _list(spec.get("volumes"))
        if isinstance(v, dict) and isinstance(v.get("hostPath"), dict)
    )
    allowed = any_of(f"v.name == {lit(n)} && v.hostPath.path == {lit(p)}" for n, p in host_paths)
    shown = ", ".join(f"{n}={p}" for n, p in host_paths) or "none"
    add(
        "hostPath",
        "spec.volumes[].hostPath",
        f"may only be the kept hostPath volumes ({shown})",
        f"!has({_SPEC}.volumes) || {_SPEC}.volumes.all(v, !has(v.hostPath) || ({allowed}))",
        "remove-hostpath",
    )
    if spec.get("automountServiceAccountToken") is False:
        add(
            "automountServiceAccountToken",
            "spec.automountServiceAccountToken",
            "must be false, with no projected serviceAccountToken volume",
            f"{has_path(_SPEC, 'automountServiceAccountToken')} && "
            f"{_SPEC}.automountServiceAccountToken == false && "
            f"(!has({_SPEC}.volumes) || {_SPEC}.volumes.all(v, !has(v.projected) || "
            "!has(v.projected.sources) || v.projected.sources.all(s, !has(s.serviceAccountToken))))",
            "disable-token-automount",
        )
    account = str(spec.get("serviceAccountName") or spec.get("serviceAccount") or "default")
    add(
        "serviceAccountName",
        "spec.serviceAccountName",
        f"must be {account}",
        f"{field(_SPEC, 'serviceAccountName', default=lit('default'))} == {lit(account)}",
        "dedicated-service-account",
    )
    sysctls = [
        str(s.get("name"))
        for s in _list(_dict(spec.get("securityContext")).get("sysctls"))
        if isinstance(s, dict)
    ]
    add(
        "sysctls",
        "spec.securityContext.sysctls",
        f"may only set {', '.join(sorted(sysctls)) or 'none'}",
        f"!{has_path(_SPEC, 'securityContext', 'sysctls')} || "
        f"{_SPEC}.securityContext.sysctls.all(s, s.name in {str_list(sysctls)})",
    )
    for v in _list(spec.get("volumes")):
        empty = _dict(_dict(v).get("emptyDir"))
        if empty.get("medium") == "Memory" and empty.get("sizeLimit") is not None:
            name, size = str(v.get("name")), str(empty["sizeLimit"])
            add(
                f"sizeLimit:{name}",
                f"spec.volumes[{name}].emptyDir.sizeLimit",
                f"must be {size}",
                f"!has({_SPEC}.volumes) || {_SPEC}.volumes.all(v, v.name != {lit(name)} || "
                f"({has_path('v', 'emptyDir', 'sizeLimit')} && string(v.emptyDir.sizeLimit) == {lit(size)}))",
                "shm-size-limit",
            )
    annotations = _dict(meta.get("annotations"))
    original_envs = {
        str(c.get("name")): {str(_dict(e).get("name")) for e in _list(c.get("env"))}
        for _, c in containers_of(_dict(_dict(original).get("spec")))
    }
    for key, c in containers_of(spec):
        rules.extend(_container_rules(workload, spec, key, c, annotations, original_envs))
    return tuple(rules)


def _container_rules(
    workload: str,
    spec: Mapping[str, Any],
    key: str,
    c: Mapping[str, Any],
    annotations: Mapping[str, Any],
    original_envs: Mapping[str, set[str]],
) -> list[AdmissionRule]:
    name = str(c.get("name"))
    sc = _dict(c.get("securityContext"))
    caps = _dict(sc.get("capabilities"))
    where = f"spec.{key}[{name}]"
    out: list[AdmissionRule] = []

    def add(check: str, fld: str, message: str, cond: str, *keeps: str) -> None:
        out.append(
            AdmissionRule(
                id=f"{check}:{name}",
                field=f"{where}.{fld}",
                message=f"{workload}: {where}.{fld} {message}",
                expression=_in_container(key, name, cond),
                keeps=tuple(sorted(keeps)),
            )
        )

    if sc.get("privileged") is not True:
        add(
            "privileged",
            "securityContext.privileged",
            "must not be true",
            f"{_sc('privileged', default='false')} == false",
            "unprivileged",
        )
    added = [str(x) for x in _list(caps.get("add"))]
    add(
        "capabilities.add",
        "securityContext.capabilities.add",
        f"may only hold {', '.join(sorted(added)) or 'nothing'}",
        f"!{has_path('c', 'securityContext', 'capabilities', 'add')} || "
        f"c.securityContext.capabilities.add.all(x, x in {str_list(added)})",
        "drop-capability",
        "drop-all-capabilities",
    )
    if "ALL" in [str(x) for x in _list(caps.get("drop"))]:
        add(
            "capabilities.drop",
            "securityContext.capabilities.drop",
            "must include ALL",
            f"{has_path('c', 'securityContext', 'capabilities', 'drop')} && "
            '"ALL" in c.securityContext.capabilities.drop',
            "drop-all-capabilities",
        )
    if sc.get("allowPrivilegeEscalation") is False:
        add(
            "allowPrivilegeEscalation",
            "securityContext.allowPrivilegeEscalation",
            "must be false",
            f"{_sc('allowPrivilegeEscalation', default='true')} == false",
            "no-privilege-escalation",
        )
    if _effective(c, spec, "runAsNonRoot") is True:
        add(
            "runAsNonRoot",
            "securityContext.runAsNonRoot",
            "must be true (container or pod)",
            f"{_sc('runAsNonRoot', default=_pod_sc('runAsNonRoot', default='false'))} == true",
            "run-as-non-root",
        )
    uid = _effective(c, spec, "runAsUser")
    if isinstance(uid, int) and uid != 0:
        add(
            "runAsUser",
            "securityContext.runAsUser",
            "must be set and not 0 (container or pod; unset runs as the image's user)",
            f"{_sc('runAsUser', default=_pod_sc('runAsUser', default='0'))} != 0",
            "run-as-non-root",
        )
    for profile, control in (
        ("seccompProfile", "seccomp-runtime-default"),
        ("appArmorProfile", "apparmor-runtime-default"),
    ):
        effective = _dict(_effective(c, spec, profile))
        ptype = effective.get("type")
        if ptype not in ("RuntimeDefault", "Localhost"):
            continue
        cond = f"{_profile_type(profile)} == {lit(str(ptype))}"
        shown = str(ptype)
        if ptype == "Localhost":
            local = str(effective.get("localhostProfile", ""))
            cond += f" && {_profile_localhost(profile)} == {lit(local)}"
            shown = f"Localhost {local}"
        keeps = [control, "seccomp-localhost"] if profile == "seccompProfile" else [control]
        add(profile, f"securityContext.{profile}", f"must be {shown}", cond, *keeps)
        if profile == "appArmorProfile":
            annotation = _APPARMOR_ANNOTATION + name
            value = "runtime/default" if ptype == "RuntimeDefault" else f"localhost/{local}"
            if annotations.get(annotation, value) == value:
                out.append(
                    AdmissionRule(
                        id=f"appArmorAnnotation:{name}",
                        field=f"metadata.annotations[{annotation}]",
                        message=f"{workload}: metadata.annotations[{annotation}] must be absent or {value}",
                        expression=(
                            f"!has(object.metadata.annotations) || !({lit(annotation)} in object.metadata.annotations) || "
                            f"object.metadata.annotations[{lit(annotation)}] == {lit(value)}"
                        ),
                        keeps=(control,),
                    )
                )
    if sc.get("procMount") in (None, "Default"):
        add(
            "procMount",
            "securityContext.procMount",
            "must be Default",
            f"{_sc('procMount', default=lit('Default'))} == {lit('Default')}",
        )
    # what Pod Security baseline also forbids, for a namespace that must enforce privileged
    if _dict(_effective(c, spec, "windowsOptions")).get("hostProcess") is not True:
        add(
            "windowsHostProcess",
            "securityContext.windowsOptions.hostProcess",
            "must not be true (container or pod)",
            f"{_sc('windowsOptions', 'hostProcess', default=_pod_sc('windowsOptions', 'hostProcess', default='false'))} == false",
        )
    if not _effective(c, spec, "seLinuxOptions"):
        selinux = []
        for base, keys in (("c", ("securityContext",)), (_SPEC, ("securityContext",))):
            path = f"{base}.{'.'.join(keys)}.seLinuxOptions"
            selinux.append(
                f"!{has_path(base, *keys, 'seLinuxOptions')} || "
                f"((!has({path}.type) || {path}.type in {str_list(_SELINUX_TYPES)}) && "
                f"!has({path}.user) && !has({path}.role))"
            )
        add(
            "seLinuxOptions",
            "securityContext.seLinuxOptions",
            f"may set only level, and type one of {', '.join(_SELINUX_TYPES)} (container or pod)",
            all_of(selinux),
        )
    read_only = sorted(
        str(m.get("name"))
        for m in _list(c.get("volumeMounts"))
        if isinstance(m, dict) and m.get("readOnly") is True
    )
    if read_only:
        add(
            "readOnlyMounts",
            "volumeMounts[].readOnly",
            f"must be true for {', '.join(read_only)}",
            f"!has(c.volumeMounts) || c.volumeMounts.all(m, !(m.name in {str_list(read_only)}) || "
            f"({has_path('m', 'readOnly')} && m.readOnly == true))",
            "read-only-model-store",
            "hostpath-read-only",
        )
    kept_env = {str(_dict(e).get("name")) for e in _list(c.get("env"))}
    removed = sorted(original_envs.get(name, set()) - kept_env)
    has_secret_from = any("secretRef" in _dict(e) for e in _list(c.get("envFrom")))
    if removed:
        add(
            "env",
            "env",
            f"must not set {', '.join(removed)}",
            f"!has(c.env) || c.env.all(e, !(e.name in {str_list(removed)}))",
            "remove-credential-env",
        )
    if not has_secret_from:
        add(
            "envFrom",
            "envFrom",
            "must not read a Secret",
            "!has(c.envFrom) || c.envFrom.all(e, !has(e.secretRef))",
            "remove-credential-env",
        )
    if not any(isinstance(p, dict) and p.get("hostPort") for p in _list(c.get("ports"))):
        add(
            "hostPort",
            "ports[].hostPort",
            "must not be set",
            "!has(c.ports) || c.ports.all(p, !has(p.hostPort) || p.hostPort == 0)",
            "no-host-network",
        )
    limits = _dict(_dict(c.get("resources")).get("limits"))
    needed = [k for k in ("cpu", "memory") if k in limits]
    if needed:
        add(
            "limits",
            "resources.limits",
            f"must set {', '.join(needed)}",
            f"{has_path('c', 'resources', 'limits')} && "
            + " && ".join(f"{lit(k)} in c.resources.limits" for k in needed),
            "memory-limits",
        )
    return out


def mutation_patch(hardened: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Container name -> the securityContext fields a mutating policy can inject to bring
    a pod to the hardened one (seccomp profile, drop ALL, allowPrivilegeEscalation)."""
    spec = _dict(hardened.get("spec"))
    out: dict[str, dict[str, Any]] = {}
    for _, c in containers_of(spec):
        sc = _dict(c.get("securityContext"))
        inject: dict[str, Any] = {}
        seccomp = _dict(_effective(c, spec, "seccompProfile"))
        if seccomp.get("type") in ("RuntimeDefault", "Localhost"):
            inject["seccompProfile"] = dict(seccomp)
        if "ALL" in [str(x) for x in _list(_dict(sc.get("capabilities")).get("drop"))]:
            inject["capabilities"] = {"drop": ["ALL"]}
        if sc.get("allowPrivilegeEscalation") is False:
            inject["allowPrivilegeEscalation"] = False
        if inject:
            out[str(c.get("name"))] = inject
    return out


def build_policy(workload: Any, level: str, rules: Sequence[AdmissionRule]) -> WorkloadPolicy:
    """The policy of one hardened ``workload`` (a model :class:`~attackmap.model.Workload`)."""
    template = workload.pod_template
    labels = {
        str(k): str(v) for k, v in _dict(_dict(template.get("metadata")).get("labels")).items()
    }
    return WorkloadPolicy(
        workload=str(workload.ref),
        name=object_name("attackmap", workload.namespace, workload.ref.kind, workload.ref.name),
        namespace=workload.namespace,
        match_labels=dict(sorted(labels.items())),
        level=level,
        rules=tuple(rules),
        inject=mutation_patch(template),
        runtime_class=workload.pod.runtime_class_name,
    )


def _pruned(value: Any) -> Any:
    """``value`` without null fields: the API server decodes ``initContainers: null`` (a Helm
    render's empty list) into an absent field, and CEL sees it absent."""
    if isinstance(value, Mapping):
        return {str(k): _pruned(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_pruned(v) for v in value if v is not None]
    return value


def pod_object(workload: Any, template: Mapping[str, Any]) -> dict[str, Any]:
    """The Pod the API server sees for one of ``workload``'s replicas."""
    template = _pruned(template)
    meta = _dict(template.get("metadata"))
    pod_meta: dict[str, Any] = {"name": f"{workload.ref.name}-0", "namespace": workload.namespace}
    for key in ("labels", "annotations"):
        if meta.get(key):
            pod_meta[key] = dict(meta[key])
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": pod_meta,
        "spec": template.get("spec") or {},
    }


# -- rendering -----------------------------------------------------------------------------------


def _match_pods(policy: WorkloadPolicy) -> dict[str, Any]:
    return {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": policy.namespace}},
        "objectSelector": {"matchLabels": dict(policy.match_labels)},
        "resourceRules": [
            {
                "apiGroups": [""],
                "apiVersions": ["v1"],
                "operations": ["CREATE", "UPDATE"],
                "resources": ["pods", "pods/ephemeralcontainers"],
            }
        ],
    }


def vap_documents(policy: WorkloadPolicy) -> list[dict[str, Any]]:
    """``ValidatingAdmissionPolicy`` + its binding for one workload."""
    annotations = {"attackmap.io/workload": policy.workload}
    return [
        {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingAdmissionPolicy",
            "metadata": {"name": policy.name, "annotations": annotations},
            "spec": {
                "failurePolicy": "Fail",
                "matchConstraints": _match_pods(policy),
                "validations": [
                    {"expression": r.expression, "message": r.message, "reason": "Forbidden"}
                    for r in policy.rules
                ],
            },
        },
        {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingAdmissionPolicyBinding",
            "metadata": {"name": policy.name, "annotations": annotations},
            "spec": {"policyName": policy.name, "validationActions": ["Deny", "Audit"]},
        },
    ]


def _kyverno_match(policy: WorkloadPolicy) -> dict[str, Any]:
    resources: dict[str, Any] = {
        "kinds": ["Pod"],
        "namespaces": [policy.namespace],
        "operations": ["CREATE", "UPDATE"],
    }
    if policy.match_labels:
        resources["selector"] = {"matchLabels": dict(policy.match_labels)}
    return {"any": [{"resources": resources}]}


def kyverno_document(policy: WorkloadPolicy, template: Mapping[str, Any]) -> dict[str, Any]:
    """A Kyverno ``ClusterPolicy``: mutate (inject), then validate (the same CEL)."""
    rules: list[dict[str, Any]] = []
    if policy.inject:
        spec = _dict(template.get("spec"))
        patch: dict[str, Any] = {}
        for key, c in containers_of(spec):
            inject = policy.inject.get(str(c.get("name")))
            if inject:
                patch.setdefault(key, []).append(
                    {"(name)": str(c.get("name")), "securityContext": inject}
                )
        rules.append(
            {
                "name": "inject-runtime-profile",
                "match": _kyverno_match(policy),
                "mutate": {"patchStrategicMerge": {"spec": patch}},
            }
        )
    rules.append(
        {
            "name": "tailored-privileges",
            "match": _kyverno_match(policy),
            "validate": {
                "failureAction": "Enforce",
                "cel": {
                    "expressions": [
                        {"expression": r.expression, "message": r.message} for r in policy.rules
                    ]
                },
            },
        }
    )
    return {
        "apiVersion": "kyverno.io/v1",
        "kind": "ClusterPolicy",
        "metadata": {
            "name": policy.name,
            "annotations": {
                "attackmap.io/workload": policy.workload,
                "policies.kyverno.io/title": f"Tailored privileges of {policy.workload}",
                "policies.kyverno.io/subject": "Pod",
            },
        },
        "spec": {"background": True, "rules": rules},
    }


def _labels_match(policy: WorkloadPolicy) -> str:
    return all_of(
        f"has(object.metadata.labels) && {lit(k)} in object.metadata.labels && "
        f"object.metadata.labels[{lit(k)}] == {lit(v)}"
        for k, v in policy.match_labels.items()
    )


def namespace_documents(
    policies: Sequence[WorkloadPolicy], engines: Sequence[str]
) -> tuple[list[dict[str, Any]], dict[str, Any] | None, list[str]]:
    """Pod Security for each namespace holding tailored workloads, never left on its own.

    The namespace enforces the lowest level its tailored pods reach, and where that is
    ``privileged`` a guard admits only the tailored workloads' pods there. When the
    namespace also holds workloads that reach a stricter level and every privileged one runs
    under its own ``runtimeClassName``, the namespace keeps the stricter level and the
    privileged ones are exempted by runtimeClass instead (a ``PodSecurityConfiguration``,
    returned second): the exemption holds in every namespace, so its guard is cluster-wide
    (a pod with that runtimeClass must be one of the tailored workloads). Returns the
    documents, the configuration (or None) and notes."""
    docs: list[dict[str, Any]] = []
    notes: list[str] = []
    exempt: dict[str, list[WorkloadPolicy]] = {}
    by_ns: dict[str, list[WorkloadPolicy]] = {}
    for p in policies:
        by_ns.setdefault(p.namespace, []).append(p)
    for ns, members in sorted(by_ns.items()):
        low = [p for p in members if p.level == "privileged"]
        rest = [p for p in members if p.level != "privileged"]
        if low and rest and all(p.runtime_class for p in low):
            for p in low:
                exempt.setdefault(str(p.runtime_class), []).append(p)
            members = rest
        level = min((p.level for p in members), key=lambda lv: _RANK[lv])
        labels = {
            f"{_PSA}enforce": level,
            f"{_PSA}enforce-version": "latest",
            f"{_PSA}audit": "restricted",
            f"{_PSA}audit-version": "latest",
            f"{_PSA}warn": "restricted",
            f"{_PSA}warn-version": "latest",
        }
        docs.append(
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": labels}}
        )
        if level != "privileged":
            continue
        names = ", ".join(p.workload for p in members)
        name = object_name("attackmap", ns, "guard")
        notes.append(
            f"namespace {ns}: Pod Security privileged, paired with the guard {name} "
            f"(only {names} may run there, each under its tailored policy)"
        )
        docs.extend(
            _guard_documents(
                name,
                {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ns}}},
                f"namespace {ns} enforces Pod Security privileged only for its tailored "
                f"workloads ({names}): a pod must carry the labels of one of them",
                any_of(_labels_match(p) for p in members),
                engines,
                kyverno_match={"namespaces": [ns]},
            )
        )
    config = None
    if exempt:
        config = {
            "apiVersion": "pod-security.admission.config.k8s.io/v1",
            "kind": "PodSecurityConfiguration",
            "exemptions": {"runtimeClasses": sorted(exempt)},
        }
    for rc, members in sorted(exempt.items()):
        names = ", ".join(p.workload for p in members)
        name = object_name("attackmap", "runtimeclass", rc, "guard")
        notes.append(
            f"runtimeClass {rc}: exempt from Pod Security (PodSecurityConfiguration), paired "
            f"with the cluster-wide guard {name}: only {names} may use it; give the exempt "
            "workload a RuntimeClass of its own (same handler), never a shared one"
        )
        condition = (
            f"has(object.spec.runtimeClassName) && object.spec.runtimeClassName == {lit(rc)}"
        )
        docs.extend(
            _guard_documents(
                name,
                {},
                f"runtimeClass {rc} is exempt from Pod Security only for {names}: a pod using "
                "it must be one of them (namespace and labels)",
                f"!({condition}) || ("
                + any_of(
                    f"object.metadata.namespace == {lit(p.namespace)} && ({_labels_match(p)})"
                    for p in members
                )
                + ")",
                engines,
                kyverno_match={},
            )
        )
    return docs, config, notes


def _guard_documents(
    name: str,
    selector: dict[str, Any],
    message: str,
    expression: str,
    engines: Sequence[str],
    *,
    kyverno_match: dict[str, Any],
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if "vap" in engines:
        out.append(
            {
                "apiVersion": "admissionregistration.k8s.io/v1",
                "kind": "ValidatingAdmissionPolicy",
                "metadata": {"name": name},
                "spec": {
                    "failurePolicy": "Fail",
                    "matchConstraints": {
                        **selector,
                        "resourceRules": [
                            {
                                "apiGroups": [""],
                                "apiVersions": ["v1"],
                                "operations": ["CREATE", "UPDATE"],
                                "resources": ["pods"],
                            }
                        ],
                    },
                    "validations": [
                        {"expression": expression, "message": message, "reason": "Forbidden"}
                    ],
                },
            }
        )
        out.append(
            {
                "apiVersion": "admissionregistration.k8s.io/v1",
                "kind": "ValidatingAdmissionPolicyBinding",
                "metadata": {"name": name},
                "spec": {"policyName": name, "validationActions": ["Deny", "Audit"]},
            }
        )
    if "kyverno" in engines:
        out.append(
            {
                "apiVersion": "kyverno.io/v1",
                "kind": "ClusterPolicy",
                "metadata": {"name": name},
                "spec": {
                    "background": True,
                    "rules": [
                        {
                            "name": "tailored-workloads-only",
                            "match": {
                                "any": [
                                    {
                                        "resources": {
                                            "kinds": ["Pod"],
                                            **kyverno_match,
                                            "operations": ["CREATE", "UPDATE"],
                                        }
                                    }
                                ]
                            },
                            "validate": {
                                "failureAction": "Enforce",
                                "cel": {
                                    "expressions": [{"expression": expression, "message": message}]
                                },
                            },
                        }
                    ],
                },
            }
        )
    return out
