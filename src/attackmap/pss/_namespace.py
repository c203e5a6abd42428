"""Which Pod Security policy applies in a namespace: labels, defaults and exemptions.

* Namespace labels ``pod-security.kubernetes.io/{enforce,audit,warn}`` (level) and
  ``…/{enforce,audit,warn}-version`` (version), resolved like the API server: an absent label
  keeps the default; an invalid enforce level means ``restricted``, an invalid audit/warn level
  ``privileged`` (fail open); an invalid version means ``latest``. Invalid labels are kept in
  :attr:`NamespacePolicy.errors`.
* The API server's ``PodSecurityConfiguration`` (``pod-security.admission.config.k8s.io``
  v1/v1beta1/v1alpha1), alone or inside an ``AdmissionConfiguration``'s ``PodSecurity``
  plugin: defaults (``privileged``/``latest`` when unset) and exemptions by username,
  namespace and runtimeClass. A malformed configuration is a :class:`PSSError` (the API
  server would refuse to start).
"""

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict

from attackmap.errors import PSSError
from attackmap.pss._versions import LATEST, LEVELS, parse_level, parse_version

LABEL_PREFIX = "pod-security.kubernetes.io/"
MODES: tuple[str, ...] = ("enforce", "audit", "warn")
CONFIG_API_GROUP = "pod-security.admission.config.k8s.io"
CONFIG_API_VERSIONS: tuple[str, ...] = tuple(
    f"{CONFIG_API_GROUP}/{v}" for v in ("v1", "v1beta1", "v1alpha1")
)
ADMISSION_CONFIG_API_VERSIONS: tuple[str, ...] = (
    "apiserver.config.k8s.io/v1",
    "apiserver.config.k8s.io/v1alpha1",
    "apiserver.k8s.io/v1alpha1",
)


class LevelVersion(BaseModel):
    """A level and a version, e.g. ``baseline:v1.29`` (``str()`` gives that form)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    level: str = "privileged"
    version: str = LATEST

    def __str__(self) -> str:
        return f"{self.level}:{self.version}"


class NamespacePolicy(BaseModel):
    """The enforce/audit/warn policies of one namespace."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enforce: LevelVersion = LevelVersion()
    audit: LevelVersion = LevelVersion()
    warn: LevelVersion = LevelVersion()
    errors: tuple[str, ...] = ()
    """Invalid labels (``label=value: why``); the API server resolves them as documented."""

    @classmethod
    def from_labels(
        cls, labels: Mapping[str, str] | None, defaults: "NamespacePolicy | None" = None
    ) -> "NamespacePolicy":
        """Resolve a namespace's labels over ``defaults`` (default: privileged:latest)."""
        base = defaults or cls()
        if not labels:
            return base
        errors: list[str] = []
        resolved: dict[str, LevelVersion] = {}
        for mode in MODES:
            current: LevelVersion = getattr(base, mode)
            level, version = current.level, current.version
            level_label = labels.get(LABEL_PREFIX + mode)
            if level_label is not None:
                if level_label in LEVELS:
                    level = level_label
                else:
                    level = "restricted" if mode == "enforce" else "privileged"
                    errors.append(
                        f"{LABEL_PREFIX}{mode}={level_label}: must be one of {', '.join(LEVELS)}"
                    )
            version_label = labels.get(f"{LABEL_PREFIX}{mode}-version")
            if version_label is not None:
                try:
                    version = parse_version(version_label)
                except PSSError:
                    version = LATEST
                    errors.append(
                        f'{LABEL_PREFIX}{mode}-version={version_label}: must be "latest" or "v1.x"'
                    )
            resolved[mode] = LevelVersion(level=level, version=version)
        return cls(
            enforce=resolved["enforce"],
            audit=resolved["audit"],
            warn=resolved["warn"],
            errors=tuple(errors),
        )


class AdmissionPolicy(BaseModel):
    """The API server's PodSecurity admission configuration: defaults and exemptions."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    defaults: NamespacePolicy = NamespacePolicy()
    exempt_usernames: tuple[str, ...] = ()
    exempt_namespaces: tuple[str, ...] = ()
    exempt_runtime_classes: tuple[str, ...] = ()

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> "AdmissionPolicy":
        """From a ``PodSecurityConfiguration`` or an ``AdmissionConfiguration`` mapping."""
        if not isinstance(config, Mapping):
            raise PSSError("an admission configuration must be a mapping")
        kind = config.get("kind")
        if kind == "AdmissionConfiguration":
            return cls._from_admission_configuration(config)
        if kind != "PodSecurityConfiguration":
            raise PSSError(
                f"unsupported kind {kind!r}",
                field="kind",
                hint="expected PodSecurityConfiguration or AdmissionConfiguration",
            )
        if config.get("apiVersion") not in CONFIG_API_VERSIONS:
            raise PSSError(
                f"unsupported apiVersion {config.get('apiVersion')!r}",
                field="apiVersion",
                hint="expected one of " + ", ".join(CONFIG_API_VERSIONS),
            )
        return cls._from_pod_security_configuration(config, "")

    @classmethod
    def _from_admission_configuration(cls, config: Mapping[str, Any]) -> "AdmissionPolicy":
        if config.get("apiVersion") not in ADMISSION_CONFIG_API_VERSIONS:
            raise PSSError(
                f"unsupported apiVersion {config.get('apiVersion')!r}",
                field="apiVersion",
                hint="expected one of " + ", ".join(ADMISSION_CONFIG_API_VERSIONS),
            )
        plugins = config.get("plugins") or []
        if not isinstance(plugins, list):
            raise PSSError("expected a list", field="plugins")
        for i, plugin in enumerate(plugins):
            if not isinstance(plugin, Mapping) or plugin.get("name") != "PodSecurity":
                continue
            path = f"plugins[{i}].configuration"
            inner = plugin.get("configuration")
            if inner is None:
                if plugin.get("path"):
                    raise PSSError(
                        "the PodSecurity plugin configuration is in a separate file",
                        field=f"plugins[{i}].path",
                        hint=f"load {plugin['path']!r} and pass its PodSecurityConfiguration",
                    )
                return cls()
            if not isinstance(inner, Mapping) or inner.get("kind") != "PodSecurityConfiguration":
                raise PSSError("expected a PodSecurityConfiguration", field=path)
            if inner.get("apiVersion") not in CONFIG_API_VERSIONS:
                raise PSSError(
                    f"unsupported apiVersion {inner.get('apiVersion')!r}",
                    field=f"{path}.apiVersion",
                )
            return cls._from_pod_security_configuration(inner, f"{path}.")
        return cls()  # no PodSecurity plugin configured: the built-in defaults

    @classmethod
    def _from_pod_security_configuration(
        cls, config: Mapping[str, Any], prefix: str
    ) -> "AdmissionPolicy":
        defaults = config.get("defaults") or {}
        exemptions = config.get("exemptions") or {}
        for name, value in (("defaults", defaults), ("exemptions", exemptions)):
            if not isinstance(value, Mapping):
                raise PSSError("expected a mapping", field=f"{prefix}{name}")
        modes = {}
        for mode in MODES:
            try:
                level = parse_level(defaults.get(mode, "privileged"))
            except PSSError as e:
                raise PSSError(e.message, field=f"{prefix}defaults.{mode}", hint=e.hint) from e
            try:
                version = parse_version(defaults.get(f"{mode}-version", LATEST))
            except PSSError as e:
                raise PSSError(
                    e.message, field=f"{prefix}defaults.{mode}-version", hint=e.hint
                ) from e
            modes[mode] = LevelVersion(level=level, version=version)

        def names(key: str) -> tuple[str, ...]:
            value = exemptions.get(key) or []
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise PSSError("expected a list of strings", field=f"{prefix}exemptions.{key}")
            return tuple(sorted(set(value)))

        return cls(
            defaults=NamespacePolicy(
                enforce=modes["enforce"], audit=modes["audit"], warn=modes["warn"]
            ),
            exempt_usernames=names("usernames"),
            exempt_namespaces=names("namespaces"),
            exempt_runtime_classes=names("runtimeClasses"),
        )
