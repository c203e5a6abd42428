"""Benchmark: load a directory of 10,000 generated workload documents.

Target: < 5 s and < 500 MB peak RSS. Run alone: ``python benchmarks/bench_load.py``.
Prints JSON with the machine, the timings and the peak memory.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

DOCS = 10_000
PER_FILE = 100

TEMPLATE = """\
# Source: bench/templates/deployment.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app-{i}
  namespace: ns-{ns}
  labels: {{app: app-{i}, tier: web}}
spec:
  replicas: 2
  selector: {{matchLabels: {{app: app-{i}}}}}
  template:
    metadata:
      labels: {{app: app-{i}, tier: web}}
      annotations: {{prometheus.io/scrape: "true"}}
    spec:
      serviceAccountName: sa-{ns}
      securityContext: {{runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000}}
      containers:
      - name: main
        image: nvcr.io/nim/meta/llama3-8b-instruct:1.0.{i}
        ports: [{{containerPort: 8000, name: http}}]
        env:
        - {{name: NGC_API_KEY, valueFrom: {{secretKeyRef: {{name: ngc-api, key: NGC_API_KEY}}}}}}
        - {{name: NIM_CACHE_PATH, value: /model-store}}
        resources:
          limits: {{nvidia.com/gpu: 1, cpu: "4", memory: 16Gi}}
          requests: {{cpu: 500m, memory: 8Gi}}
        securityContext:
          allowPrivilegeEscalation: false
          capabilities: {{drop: [ALL]}}
        volumeMounts:
        - {{name: dshm, mountPath: /dev/shm}}
        - {{name: cache, mountPath: /model-store}}
        readinessProbe: {{httpGet: {{path: /v1/health/ready, port: http}}}}
      volumes:
      - {{name: dshm, emptyDir: {{medium: Memory}}}}
      - {{name: cache, persistentVolumeClaim: {{claimName: cache-{ns}}}}}
"""

SERVICE = """\
apiVersion: v1
kind: Service
metadata: {{name: app-{i}, namespace: ns-{ns}}}
spec:
  selector: {{app: app-{i}}}
  ports: [{{port: 80, targetPort: http}}]
"""


def generate(root: Path) -> None:
    """Deterministic: DOCS Deployments in DOCS/PER_FILE files, plus a Service for every
    tenth Deployment (context objects to link against)."""
    for f in range(DOCS // PER_FILE):
        chunks = []
        for j in range(PER_FILE):
            i = f * PER_FILE + j
            chunks.append(TEMPLATE.format(i=i, ns=f % 20))
            if i % 10 == 0:
                chunks.append(SERVICE.format(i=i, ns=f % 20))
        (root / f"part-{f:04d}.yaml").write_text("---\n".join(chunks), encoding="utf-8")


def main() -> int:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from attackmap.model import load

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        generate(root)
        size = sum(p.stat().st_size for p in root.iterdir())
        start = time.perf_counter()
        inventory = load(root)
        elapsed = time.perf_counter() - start
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result = {
        "benchmark": "load 10k workload documents",
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(),
        },
        "documents": DOCS + DOCS // 10,
        "workloads": len(inventory.workloads),
        "services": len(inventory.services),
        "input_bytes": size,
        "seconds": round(elapsed, 3),
        "workloads_per_second": round(len(inventory.workloads) / elapsed),
        "peak_rss_mb": round(peak_kb / 1024, 1),
        "target": {"seconds": 5, "peak_rss_mb": 500},
        "ok": elapsed < 5 and peak_kb / 1024 < 500,
    }
    print(json.dumps(result, indent=2))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
