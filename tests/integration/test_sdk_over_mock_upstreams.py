"""The gateway under uvicorn, in front of real mock OpenAI servers, driven by the openai SDK."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import openai
import pytest

from tests.integration.conftest import start_gateway, start_mock
from tests.integration.processes import Process, free_port

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def stack(processes: Callable[..., Process], tmp_path_factory: pytest.TempPathFactory) -> dict:
    ref, _ = start_mock(processes, "ref", ttft_ms=20, itl_ms=2)
    w4, _ = start_mock(processes, "w4", ttft_ms=10, itl_ms=1, tokens_per_chunk=2)
    dead = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    profile = tmp_path_factory.mktemp("profile") / "demo.yaml"
    profile.write_text(f"""
model: demo
default_variant: w4
variants:
  - name: ref
    engine: {{kind: external, url: "{ref}"}}
  - name: w4
    engine: {{kind: external, url: "{w4}", served_model: up-w4}}
    quant: {{w_bits: 4, method: awq}}
  - name: gone
    engine: {{kind: external, url: "{dead}", served_model: up-gone}}
    quant: {{w_bits: 2, method: rtn}}
""")
    return {"url": start_gateway(processes, profile)}


@pytest.fixture
def client(stack: dict) -> openai.OpenAI:
    return openai.OpenAI(base_url=stack["url"], api_key="unused", max_retries=0)


def test_models_list(client: openai.OpenAI) -> None:
    assert [m.id for m in client.models.list()] == ["demo", "demo@ref", "demo@w4", "demo@gone"]
    assert client.models.retrieve("demo@w4").id == "demo@w4"
    with pytest.raises(openai.NotFoundError) as info:
        client.models.retrieve("other")
    assert info.value.code == "model_not_found"


def test_chat_completion(client: openai.OpenAI) -> None:
    raw = client.chat.completions.with_raw_response.create(
        model="demo", messages=[{"role": "user", "content": "two words"}], max_tokens=5
    )
    assert raw.headers["x-quantgate-variant"] == "w4"
    reply = raw.parse()
    assert reply.model == "demo"
    assert reply.choices[0].message.content == " tok0 tok1 tok2 tok3 tok4"
    assert reply.usage is not None and reply.usage.prompt_tokens == 2


def test_completion_pinned(client: openai.OpenAI) -> None:
    reply = client.completions.create(model="demo@ref", prompt="a b c", max_tokens=2)
    assert reply.model == "demo@ref"
    assert reply.choices[0].text == " tok0 tok1"


def test_chat_stream_with_include_usage(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model="demo",
        messages=[{"role": "user", "content": "hi"}],
        max_tokens=7,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert all(c.model == "demo" for c in chunks)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "".join(f" tok{i}" for i in range(7))
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 7


@pytest.mark.anyio
async def test_async_completion_stream(stack: dict) -> None:
    client = openai.AsyncOpenAI(base_url=stack["url"], api_key="unused", max_retries=0)
    stream = await client.completions.create(
        model="demo@ref", prompt="x", max_tokens=3, stream=True
    )
    texts = [c.choices[0].text async for c in stream]
    assert "".join(texts) == " tok0 tok1 tok2"
    await client.close()


def test_unknown_model_is_not_found(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as info:
        client.chat.completions.create(model="gpt-x", messages=[{"role": "user", "content": "x"}])
    assert info.value.code == "model_not_found"


def test_invalid_request_is_bad_request(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client.completions.create(model="demo", prompt="x", max_tokens=0)
    assert info.value.param == "max_tokens"


def test_pinned_dead_variant_is_503(client: openai.OpenAI) -> None:
    with pytest.raises(openai.InternalServerError) as info:
        client.completions.create(model="demo@gone", prompt="x")
    assert info.value.status_code == 503
    assert info.value.code == "upstream_unavailable"


def test_ready_reports_each_variant(stack: dict) -> None:
    r = httpx.get(stack["url"].removesuffix("/v1") + "/ready")
    assert r.status_code == 200
    assert r.json()["variants"] == {"ref": "up", "w4": "up", "gone": "down"}


def test_killed_default_fails_over_up_the_ladder(
    processes: Callable[..., Process], tmp_path: Path
) -> None:
    ref, _ = start_mock(processes, "ref2")
    w4, mock_w4 = start_mock(processes, "w4b")
    profile = tmp_path / "p.yaml"
    profile.write_text(f"""
model: demo
default_variant: w4
variants:
  - {{name: ref, engine: {{kind: external, url: "{ref}", served_model: up-ref2}}}}
  - name: w4
    engine: {{kind: external, url: "{w4}", served_model: up-w4b}}
    quant: {{w_bits: 4}}
""")
    client = openai.OpenAI(base_url=start_gateway(processes, profile), api_key="x", max_retries=0)
    msgs = [{"role": "user", "content": "x"}]
    general = {"X-Quantgate-Task": "general"}  # a task w4 is admissible for, whatever "x" reads as
    first = client.chat.completions.with_raw_response.create(
        model="demo", messages=msgs, extra_headers=general
    )
    assert first.headers["x-quantgate-variant"] == "w4"
    mock_w4.kill()
    after = client.chat.completions.with_raw_response.create(
        model="demo", messages=msgs, stream=True, extra_headers=general
    )
    assert after.headers["x-quantgate-variant"] == "ref"
    assert after.headers["x-quantgate-failover"] == "w4"
    assert "".join(c.choices[0].delta.content or "" for c in after.parse() if c.choices)
