"""Least-privilege hardening, proven by re-analysis.

:func:`harden` takes the graph engine's minimal control set for the goal techniques,
applies it to the manifests (comments and key order kept), optionally adds the controls a
Pod Security level asks for, keeps every privilege an API-server audit log shows a workload
needs (and says which need blocks which goal or level), then re-analyses the written text:
:class:`HardenResult` carries the documents, added objects, per-control changes and the
:class:`Verification`. With ``admission=``, it also emits the policies that keep the cluster
that way (a ValidatingAdmissionPolicy or Kyverno ClusterPolicy per workload, namespace Pod
Security labels, seccomp profiles for the security-profiles-operator) and the cases that
verify them (:class:`AdmissionResult`). See ``docs/harden.md``.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from attackmap.harden._admission import (
    AdmissionCase,
    AdmissionResult,
    AdmissionRule,
    Comparison,
    PathKept,
    WorkloadPolicy,
)
from attackmap.harden._needs import Need
from attackmap.harden._plan import LEVELS, harden
from attackmap.harden._profiles import InjectedProfile
from attackmap.harden._result import (
    AppliedControl,
    Conflict,
    OutputFile,
    Verification,
    WorkloadVerification,
)

__all__ = [
    "LEVELS",
    "AdmissionCase",
    "AdmissionResult",
    "AdmissionRule",
    "AppliedControl",
    "Comparison",
    "Conflict",
    "HardenResult",
    "InjectedProfile",
    "Need",
    "OutputFile",
    "PathKept",
    "Verification",
    "WorkloadPolicy",
    "WorkloadVerification",
    "harden",
]


class HardenResult(BaseModel):
    """What :func:`harden` produced and proved."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    documents: tuple[OutputFile, ...]
    """One per input file, same base name."""
    added: tuple[str, ...]
    """New objects (NetworkPolicies, ServiceAccounts, Namespaces...), one YAML text each."""
    changes: tuple[AppliedControl, ...]
    verification: Verification
    needs: tuple[Need, ...] = ()
    conflicts: tuple[Conflict, ...] = ()
    notes: tuple[str, ...] = ()
    context: str | None = None
    """The patched ClusterContext (YAML) when a control changed it."""
    profiles: tuple[InjectedProfile, ...] = ()
    """Localhost seccomp profiles generated from recordings and set in the manifests."""
    admission: AdmissionResult | None = None
    """The tailored admission policies and their verification cases (``admission=``)."""

    @property
    def verified(self) -> bool:
        return self.verification.verified

    def to_yaml(self) -> str:
        """All hardened documents and the added objects, one YAML stream."""
        from attackmap.harden._render import to_yaml

        return to_yaml(self)

    def to_diff(self) -> str:
        """What changed and why, control by control (unified diffs)."""
        from attackmap.harden._render import to_diff

        return to_diff(self)

    def summary(self) -> str:
        """The ``HARDENING.md`` text."""
        from attackmap.harden._render import summary_markdown

        return summary_markdown(self)

    def files(self) -> dict[str, str]:
        """File name -> text for an output directory (inputs' base names, added, summary;
        with profiles ``seccomp/operator/<name>.json``, a path below the directory)."""
        from attackmap.harden._render import output_files

        return output_files(self)
