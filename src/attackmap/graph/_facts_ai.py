"""Facts about the AI system a container is: what it serves, how it gets its model, what it loads.

The ATLAS steps (``mappings/steps/atlas.yaml``) speak these facts; :mod:`._facts` calls
:func:`ai_facts` for every container, with the same evidence recorder as every other fact.
What a manifest cannot show (rate limits in a gateway, model signing in a pipeline, which
formats a model actually uses) is not guessed: the facts say what the manifest does show,
and docs/facts.md says where each one comes from.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from attackmap.graph._stores import is_model_store, norm_path
from attackmap.model import Workload
from attackmap.model._workload import Container

#: fact family -> meaning (merged into ``FACT_FAMILIES``, rendered into docs/facts.md)
AI_FACT_FAMILIES: dict[str, str] = {
    "ai:inference_api": "the container serves a model's inference API: the serving container of a NIMService or KServe InferenceService, or a long-running container with a declared port running a model server image attackmap knows (see Model server images)",
    "ai:output_scores": "the inference API returns log-probabilities or embeddings (NIM, vLLM, SGLang, TGI, Ollama, llama.cpp: OpenAI-compatible `logprobs` / embeddings endpoints; Triton: raw output tensors): the model's outputs can train a copy of it",
    "ai:loads_code": "the model server runs code that comes with the model: Triton's Python backend (model.py files of the model repository), or remote code enabled (`--trust-remote-code` in command/args, or a *TRUST_REMOTE_CODE variable set to true/1)",
    "image:unpinned": "the container image is referenced by a tag (or none: latest), not by a digest (`@sha256:`): whoever can push that tag decides what runs",
    "model_store:mounted": "a model store (/model-store, NIM_CACHE_PATH, /mnt/models...) is mounted, read-only or writable: the model's weights are files in the container",
    "model_files:rootfs": "the container serves a model's inference API (ai:inference_api) and keeps the model in its root filesystem: no model store is mounted, and neither NIM_CACHE_PATH nor a model path its command names lies in a mounted volume (the model is baked into the image, or downloaded there at start-up)",
    "model_source:unpinned": "the container downloads the model by name: a NIMCache's caching job (the NIM Operator pins no digest of the model files it pulls from NGC or Hugging Face), or NIM_MODEL_NAME naming a hub model (hf://, ngc://, org/model) without a 40-hex revision",
    "env:model_credential": "a model-registry credential in the environment: NGC_API_KEY, NGC_CLI_API_KEY, NVIDIA_API_KEY, HF_TOKEN, HUGGING_FACE_HUB_TOKEN, HF_API_TOKEN (with a value or from a Secret)",
}

#: Model server images: (pattern in ``registry/repository``, returns scores). Matched as a
#: substring of the lower-cased reference; documented in docs/facts.md.
MODEL_SERVER_IMAGES: tuple[tuple[str, bool], ...] = (
    ("nvcr.io/nim/", True),
    ("tritonserver", True),
    ("vllm", True),
    ("sglang", True),
    ("text-generation-inference", True),
    ("ollama", True),
    ("llama.cpp", True),
    ("llama-cpp", True),
    ("torchserve", False),
    ("tensorflow/serving", False),
    ("kserve/", False),
    ("seldonio/", False),
)
#: Kinds whose first container is the model server (the operator renders it so).
SERVING_KINDS = ("NIMService", "InferenceService")
MODEL_CREDENTIAL_NAMES = frozenset(
    {
        "NGC_API_KEY",
        "NGC_CLI_API_KEY",
        "NVIDIA_API_KEY",
        "HF_TOKEN",
        "HUGGING_FACE_HUB_TOKEN",
        "HF_API_TOKEN",
    }
)
_REVISION = re.compile(r"@[0-9a-f]{40}$")

Add = Callable[[str, str, str], None]


def _server(c: Container) -> tuple[str, bool] | None:
    if c.image is None:
        return None
    ref = f"{c.image.registry}/{c.image.repository}".lower()
    return next(((p, s) for p, s in MODEL_SERVER_IMAGES if p in ref), None)


def _raw_container(w: Workload, name: str) -> dict[str, Any]:
    spec = w.pod_template.get("spec") if isinstance(w.pod_template, dict) else None
    for key in ("containers", "initContainers"):
        for c in (spec or {}).get(key) or ():
            if isinstance(c, dict) and c.get("name") == name:
                return c
    return {}


def _words(raw: dict[str, Any]) -> list[str]:
    return [
        str(x)
        for key in ("command", "args")
        if isinstance(raw.get(key), list)
        for x in raw[key]
        if x is not None
    ]


def ai_facts(w: Workload, c: Container, index: int, base: str, add: Add) -> None:
    """Add the AI facts of container ``c`` (``index`` in the pod) of ``w`` through ``add``."""
    raw = _raw_container(w, c.name)
    serving = c.kind in ("regular", "sidecar")
    server = _server(c)
    api = serving and (
        (w.ref.kind in SERVING_KINDS and index == 0) or (server is not None and c.ports)
    )
    if api:
        why = f"{w.ref.kind} serving container" if server is None else f"image {c.image.raw}"  # type: ignore[union-attr]  # server is None unless the image is set
        add("ai:inference_api", f"{base}.image", why)
        if server is not None and server[1]:
            add("ai:output_scores", f"{base}.image", f"{server[0]} serves logprobs/embeddings")
    if serving and server is not None and server[0] == "tritonserver":
        add("ai:loads_code", f"{base}.image", "Triton runs model.py files (Python backend)")
    if any(wd.strip() == "--trust-remote-code" for wd in _words(raw)):
        add("ai:loads_code", f"{base}.args", "--trust-remote-code")
    env = raw.get("env")
    for e in env if isinstance(env, list) else ():
        if not isinstance(e, dict):
            continue
        name, value = str(e.get("name", "")), str(e.get("value", "")).strip().lower()
        if name.upper().endswith("TRUST_REMOTE_CODE") and value in ("true", "1", "yes"):
            add("ai:loads_code", f"{base}.env[{name}]", f"{name}={value}")
        pinned = bool(_REVISION.search(value))
        if name == "NIM_MODEL_NAME" and value and not value.startswith("/") and not pinned:
            add("model_source:unpinned", f"{base}.env[{name}]", str(e.get("value")))
    if c.image is not None and c.image.digest is None:
        add("image:unpinned", f"{base}.image", c.image.raw)
    if w.ref.kind == "NIMCache":
        add("model_source:unpinned", "spec.source", "NIMCache downloads the model by name")
    for e in c.env:
        if e.name in MODEL_CREDENTIAL_NAMES and (e.has_value or e.source == "secret"):
            origin = f" (from Secret {e.ref_name})" if e.source == "secret" else ""
            add("env:model_credential", f"{base}.env[{e.name}]", e.name + origin)
    stored = False
    for m in w.pod.mounts(c):
        if m.volume is not None and is_model_store(c, m):  # the rule of the model_store:* facts
            stored = True
            mode = "writable" if m.writable else "read-only"
            add(
                "model_store:mounted",
                f"{base}.volumeMounts[{m.mount.name}]",
                f"{m.volume.type} at {m.mount.mount_path} ({mode})",
            )
    if api and not stored:
        mounted = [m.mount.mount_path for m in w.pod.mounts(c) if m.volume is not None]
        entries = env if isinstance(env, list) else []
        cache = next(
            (
                str(e["value"])
                for e in entries
                if isinstance(e, dict) and e.get("name") == "NIM_CACHE_PATH" and e.get("value")
            ),
            None,
        )
        paths = [s.path for s in c.code_sources if s.kind == "model" and s.path is not None]
        if cache is not None:
            paths.append(cache)
        if not any(_inside(p, m) for p in paths for m in mounted):
            add(
                "model_files:rootfs",
                f"{base}.volumeMounts",
                "no model store mounted"
                + (f" (NIM_CACHE_PATH {cache} is in no volume)" if cache else "")
                + ": the model's files are in the root filesystem",
            )


def _inside(path: str, mount: str) -> bool:
    """Whether ``path`` is the mount point ``mount`` or lies under it."""
    a, b = norm_path(path), norm_path(mount)
    return a == b or a.startswith(b.rstrip("/") + "/")
