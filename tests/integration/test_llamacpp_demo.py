"""The llama.cpp demo profile end to end: real engines, the real gateway, the OpenAI SDK.

`quantgate serve` builds the variants (cached under ~/.cache/quantgate) and starts one
llama.cpp server per variant; the tests talk to the gateway only.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import openai
import pytest
import yaml

from tests.integration.processes import Process, free_port, quantgate

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
PROFILE = REPO / "profiles" / "demo-llamacpp.yaml"
MODEL = "gemma3-270m"
VARIANTS = [v["name"] for v in yaml.safe_load(PROFILE.read_text())["variants"]]
# fixed greedy prompts where a 270M base model has a confident answer
PROMPTS = [
    "The capital of France is Paris. The capital of Italy is",
    "2 + 3 =",
    "Q: What color is the sky?\nA:",
    "One, two, three, four,",
    "The opposite of hot is",
]


@pytest.fixture(scope="module")
def gateway(processes: Callable[..., Process]) -> dict[str, str]:
    port = free_port()
    proc = processes(
        "gateway-llamacpp", quantgate("serve", "--profile", str(PROFILE), "--port", str(port))
    )
    base = f"http://127.0.0.1:{port}"
    proc.wait_http(base + "/health", timeout=600)  # first run builds the variants
    return {"base": base, "url": base + "/v1"}


@pytest.fixture
def client(gateway: dict[str, str]) -> openai.OpenAI:
    return openai.OpenAI(base_url=gateway["url"], api_key="unused", max_retries=0, timeout=120)


def test_models_match_the_profile(client: openai.OpenAI) -> None:
    assert [m.id for m in client.models.list()] == [MODEL] + [f"{MODEL}@{v}" for v in VARIANTS]


@pytest.mark.parametrize("variant", VARIANTS)
def test_completion_with_logprobs(client: openai.OpenAI, variant: str) -> None:
    raw = client.completions.with_raw_response.create(
        model=f"{MODEL}@{variant}", prompt=PROMPTS[0], max_tokens=3, temperature=0, logprobs=1
    )
    assert raw.headers["x-quantgate-variant"] == variant
    reply = raw.parse()
    assert reply.model == f"{MODEL}@{variant}"
    logprobs = reply.choices[0].logprobs
    assert logprobs is not None and logprobs.token_logprobs
    assert len(logprobs.token_logprobs) == reply.usage.completion_tokens
    assert all(lp <= 0 for lp in logprobs.token_logprobs)
    assert "Rome" in reply.choices[0].text


@pytest.mark.parametrize("variant", VARIANTS)
def test_chat_and_stream(client: openai.OpenAI, variant: str) -> None:
    msgs = [{"role": "user", "content": "Say hello."}]
    reply = client.chat.completions.create(
        model=f"{MODEL}@{variant}", messages=msgs, max_tokens=6, temperature=0
    )
    assert reply.model == f"{MODEL}@{variant}"
    assert reply.choices[0].message.role == "assistant"
    assert reply.usage is not None and reply.usage.completion_tokens > 0
    chunks = list(
        client.chat.completions.create(
            model=f"{MODEL}@{variant}", messages=msgs, max_tokens=6, temperature=0, stream=True
        )
    )
    assert all(c.model == f"{MODEL}@{variant}" for c in chunks)
    streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    # greedy: both start alike (llama-cpp-python applies stop strings differently per mode)
    assert streamed and streamed[:5] == (reply.choices[0].message.content or "")[:5]


def test_lowest_bit_variant_differs_from_reference(client: openai.OpenAI) -> None:
    def greedy(variant: str) -> list[str]:
        return [
            client.completions.create(
                model=f"{MODEL}@{variant}", prompt=p, max_tokens=8, temperature=0
            )
            .choices[0]
            .text
            for p in PROMPTS
        ]

    reference, q8, low = greedy("f16"), greedy("q8_0"), greedy("q3k-mix")
    assert sum(a != b for a, b in zip(reference, low, strict=True)) >= 1
    # and W8 stays closer to the reference than the lowest-bit mix does
    assert sum(a == b for a, b in zip(reference, q8, strict=True)) >= sum(
        a == b for a, b in zip(reference, low, strict=True)
    )


def test_killed_engine_is_restarted_and_never_hangs_the_gateway(
    client: openai.OpenAI, gateway: dict[str, str]
) -> None:
    engines = httpx.get(gateway["base"] + "/ready").json()["engines"]
    victim = "q4_k_m"  # the default variant
    pid = engines[victim]["pid"]
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 120
    served_by, errors = [], []
    while time.monotonic() < deadline:
        try:
            raw = client.completions.with_raw_response.create(
                model=MODEL, prompt="2 + 3 =", max_tokens=2, temperature=0, timeout=30
            )
            served_by.append(raw.headers["x-quantgate-variant"])
        except openai.InternalServerError as exc:  # a clean 503 is acceptable, a hang is not
            assert exc.status_code == 503
            errors.append(exc.code)
        state = httpx.get(gateway["base"] + "/ready").json()["engines"][victim]
        if state["state"] == "healthy" and state["pid"] != pid:
            break
        time.sleep(0.5)
    else:
        pytest.fail(f"{victim} was not restarted within 120 s: {state}")
    assert state["restarts"] >= 1
    assert any(v != victim for v in served_by), "no request was served while it was down"
    pinned = client.completions.create(
        model=f"{MODEL}@{victim}", prompt="2 + 3 =", max_tokens=2, temperature=0
    )
    assert pinned.choices[0].text
