"""AppArmor: the kubelet applies the container field, then the annotation, then the pod field."""

from __future__ import annotations

import attackmap

POD = """
apiVersion: v1
kind: Pod
metadata:
  name: aa
  annotations:
    container.apparmor.security.beta.kubernetes.io/annotated: unconfined
spec:
  securityContext:
    appArmorProfile: {type: RuntimeDefault}
  containers:
  - name: annotated
    image: busybox
  - name: plain
    image: busybox
  - name: own-field
    image: busybox
    securityContext:
      appArmorProfile: {type: Localhost, localhostProfile: k8s-nim}
"""


def test_precedence_container_field_then_annotation_then_pod_field() -> None:
    (workload,) = attackmap.load(POD).workloads
    profiles = {c.name: c.apparmor_profile for c in workload.pod.containers}
    assert profiles["own-field"] is not None and profiles["own-field"].type == "Localhost"
    assert profiles["own-field"].source == "container"
    assert profiles["annotated"] is not None and profiles["annotated"].type == "Unconfined"
    assert profiles["annotated"].source == "annotation"
    assert profiles["plain"] is not None and profiles["plain"].type == "RuntimeDefault"
    assert profiles["plain"].source == "pod"
