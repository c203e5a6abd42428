"""How long open_syscalls() takes per container (RuntimeDefault, unknown kernel).

Run alone: ``.venv/bin/python benchmarks/bench_seccomp.py``; prints JSON with the machine.
"""

from __future__ import annotations

import json
import os
import platform
import time

from attackmap.seccomp import SeccompSpec, generate_profile, load_profile, open_syscalls


def main() -> None:
    spec = SeccompSpec(type="RuntimeDefault")
    caps = frozenset({"SYS_ADMIN"})
    open_syscalls(profile=spec, capabilities=caps, privileged=False)  # warm the table cache
    n = 2000
    start = time.perf_counter()
    for _ in range(n):
        open_syscalls(profile=spec, capabilities=caps, privileged=False)
    per_call = (time.perf_counter() - start) / n
    generated = generate_profile(["read", "write", "mount"]).profile
    start = time.perf_counter()
    for _ in range(200):
        load_profile(generated)
    per_load = (time.perf_counter() - start) / 200
    print(
        json.dumps(
            {
                "machine": f"{platform.machine()} {platform.processor() or ''} {os.cpu_count()} cpus".strip(),
                "python": platform.python_version(),
                "open_syscalls_ms": round(per_call * 1000, 3),
                "load_profile_small_ms": round(per_load * 1000, 3),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
