"""Reading warnings reach ``Inventory.warnings`` (not only the linker's)."""

from __future__ import annotations

import attackmap

GLUED = """---apiVersion: v1
kind: Pod
metadata: {name: p, namespace: app}
spec:
  containers: [{name: c, image: busybox}]
"""


def test_glued_separator_is_read_as_helm_does_with_a_warning() -> None:
    inv = attackmap.load(GLUED)
    assert [str(w.ref) for w in inv.workloads] == ["Pod/app/p"]
    assert any("glued" in w.message for w in inv.warnings)


def test_relink_keeps_reading_warnings_once() -> None:
    from attackmap.model import relink

    inv = attackmap.load(GLUED)
    (workload,) = inv.workloads
    again = relink(inv, {workload.ref: workload.pod_template})
    assert sum("glued" in w.message for w in again.warnings) == 1
