"""From a profile and its built artifacts to launch specs, ports and a memory check."""

from __future__ import annotations

import socket
from collections.abc import Mapping
from pathlib import Path

from gateway.engines import llamacpp, vllm
from gateway.engines.base import Artifact, LaunchSpec
from quantgate.errors import ConfigError, MemoryBudgetError
from quantgate.gguf_contents import describe
from quantgate.profile import ExternalEngine, Profile, resolve_path

GiB = 2**30


def resolve_artifacts(
    profile: Profile, built: Mapping[str, Artifact], base_dir: Path
) -> dict[str, Artifact]:
    """Each managed variant's artifact: a built artifact by name, or a path (profile-relative)."""
    paths = {}
    for variant in profile.variants:
        engine = variant.engine
        if isinstance(engine, ExternalEngine):
            continue
        if engine.artifact in profile.artifacts:
            if engine.artifact not in built:
                raise ConfigError(
                    f"variant {variant.name}: artifact {engine.artifact!r} "
                    f"is not built (run `quantgate build`)"
                )
            paths[variant.name] = built[engine.artifact]
        else:
            path = resolve_path(engine.artifact, base_dir)
            if not path.exists():
                raise ConfigError(
                    f"variant {variant.name}: artifact {engine.artifact!r} is "
                    f"neither declared under `artifacts` nor a file ({path})"
                )
            paths[variant.name] = Artifact(path, describe(path))
    return paths


def plan_engines(
    profile: Profile,
    artifacts: Mapping[str, Artifact],
    base_dir: Path,
    unsupported: dict[str, str] | None = None,
) -> dict[str, tuple[LaunchSpec, int]]:
    """A launch spec and a free port for every managed variant (paths are profile-relative).
    A variant whose engine cannot run on this machine gets none: it goes into `unsupported`
    (name -> why), and the supervisor keeps it down."""
    plan = {}
    python = None  # the vLLM interpreter, decided once (it may create the managed env)
    flags = None  # this CPU's flags, read once
    with Ports() as ports:
        for variant in profile.variants:
            if variant.name not in artifacts:
                continue
            if variant.engine.kind == "llamacpp":
                port = ports.take()
                spec = llamacpp.launch_spec(variant, artifacts[variant.name], port)
            else:
                python = python or vllm.vllm_python()
                why = None
                if vllm.on_cpu(python):
                    flags = vllm.cpu_flags() if flags is None else flags
                    why = vllm.unsupported_here(variant, flags)
                if why is not None:
                    if unsupported is not None:
                        unsupported[variant.name] = why
                    continue
                port = ports.take()
                spec = vllm.launch_spec(
                    variant, artifacts[variant.name], port, python=python, base_dir=base_dir
                )
            plan[variant.name] = (spec, port)
    return plan


def check_memory(plan: Mapping[str, tuple[LaunchSpec, int]], available: int | None = None) -> int:
    """Raise unless the engines' estimated peaks fit in the available memory; return the sum."""
    available = mem_available() if available is None else available
    need = sum(spec.memory_bytes for spec, _ in plan.values())
    if need > available:
        lines = "\n".join(
            f"  - {name}: {spec.memory_bytes / GiB:.1f} GiB ({spec.memory_detail})"
            for name, (spec, _) in plan.items()
        )
        raise MemoryBudgetError(
            f"the variants need about {need / GiB:.1f} GiB but {available / GiB:.1f} GiB is "
            f"available ({(need - available) / GiB:.1f} GiB short):\n{lines}\n"
            f"Serve fewer variants, lower max_context, or pass --no-memory-check."
        )
    return need


def mem_available() -> int:
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    raise OSError("MemAvailable not found in /proc/meminfo")


class Ports:
    """Free ports of 127.0.0.1, each held bound until the block ends: a port bound and closed at
    once may be handed out again by the next bind (two engines were given one port in a test
    run: the second could not bind it, and the first answered its readiness probe)."""

    def __init__(self) -> None:
        self._held: list[socket.socket] = []

    def take(self) -> int:
        s = socket.socket()
        self._held.append(s)
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])

    def __enter__(self) -> Ports:
        return self

    def __exit__(self, *exc: object) -> None:
        for s in self._held:
            s.close()
        self._held.clear()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
