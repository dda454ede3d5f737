"""llama.cpp through `llama-cpp-python[server]`: one process per variant.

The KV-cache type follows the variant's quant spec (kv_bits 8 -> q8_0, 4 -> q4_0; a quantized
V cache needs flash attention). `logits_all` (the server's default) is what makes logprobs
work; it keeps a float per vocabulary entry per context position, which dominates memory for
large vocabularies (Gemma 3: 262k entries = 1 MiB per position).

llama-cpp-python serves one request at a time behind a model lock. With its default
`interrupt_requests=True` it ends a running stream with `[DONE]` (no finish chunk) as soon as
another request waits for that lock, and `GET /v1/models` takes it: a probe or a second client
cut generations. So requests queue (`interrupt_requests False`), and readiness is read from
`/openapi.json`, which the server answers without the lock (the model is loaded before it
listens). The server runs through `gateway.engines.llamacpp_server`, which by default turns
off llama-cpp-python's KV prefix reuse so that greedy answers do not depend on the request
before (see there).
"""

from __future__ import annotations

import importlib.util
import os
import sys
from typing import Any

from gateway.engines.base import Artifact, LaunchSpec
from quantgate.errors import ConfigError
from quantgate.profile import LlamaCppEngine, Variant

KV_TYPES = {8: 8, 4: 2}  # kv_bits -> ggml type id (q8_0, q4_0)
OVERHEAD = 350 * 2**20  # interpreter, server, compute buffers
READY_PATH = "/openapi.json"  # answered without the model lock


def launch_spec(variant: Variant, artifact: Artifact, port: int) -> LaunchSpec:
    engine = variant.engine
    assert isinstance(engine, LlamaCppEngine)
    if importlib.util.find_spec("llama_cpp") is None:
        raise ConfigError(
            f"variant {variant.name} needs llama-cpp-python: run `make install` "
            "or pip install 'quantgate[llamacpp]'"
        )
    args: dict[str, Any] = {
        "model": str(artifact.path),
        "model_alias": variant.name,
        "host": "127.0.0.1",
        "port": port,
        "n_ctx": variant.max_context,
        "n_threads": os.cpu_count() or 1,
        "verbose": False,
        "interrupt_requests": False,
    }
    kv_bits = int(variant.quant.kv_bits)
    if kv_bits < 16:
        if kv_bits not in KV_TYPES:
            raise ConfigError(
                f"variant {variant.name}: llama.cpp has no {kv_bits}-bit KV "
                f"cache; use kv_bits 8 (q8_0) or 4 (q4_0)"
            )
        args.update(flash_attn=True, type_k=KV_TYPES[kv_bits], type_v=KV_TYPES[kv_bits])
    args.update(engine.args)
    args["prefix_cache"] = engine.prefix_cache  # read by our entry, not passed on
    argv = [sys.executable, "-m", "gateway.engines.llamacpp_server"]
    for key, value in args.items():
        argv += [f"--{key}", str(value)]
    memory, detail = estimate_memory(
        artifact, variant.max_context, kv_bits, logits_all=variant.logprobs
    )
    return LaunchSpec(
        argv=argv,
        served_model=variant.name,
        memory_bytes=memory,
        memory_detail=detail,
        ready_path=READY_PATH,
        start_timeout=120.0,
    )


def estimate_memory(
    artifact: Artifact, n_ctx: int, kv_bits: int, *, logits_all: bool
) -> tuple[int, str]:
    """Peak resident bytes: weights + KV cache + logits buffer + a fixed overhead."""
    shape = artifact.info.get("shape")
    if not shape:
        raise ConfigError(f"{artifact.path}: no GGUF shape recorded; is it a GGUF file?")
    weights = artifact.path.stat().st_size
    kv_bytes_per = {16: 2.0, 8: 34 / 32, 4: 18 / 32}.get(kv_bits, 2.0)
    per_position = (
        shape["layers"] * shape["kv_heads"] * (shape["key_length"] + shape["value_length"])
    )
    kv = int(n_ctx * per_position * kv_bytes_per)
    logits = (n_ctx if logits_all else 512) * shape["vocab"] * 4
    total = weights + kv + logits + OVERHEAD
    mib = 2**20
    detail = (
        f"weights {weights // mib} MiB + KV {kv // mib} MiB + logits {logits // mib} MiB "
        f"+ overhead {OVERHEAD // mib} MiB"
    )
    return total, detail
