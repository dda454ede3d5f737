"""How a relayed stream ends: complete (finish_reason, then [DONE]) or one error event.

The faults are the ones real engines show (llama-cpp-python's interrupt: `[DONE]` without a
finish chunk, then a connection closed mid-chunk), scripted at the network seam.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from gateway.app import create_app
from gateway.routing.router import Router
from gateway.routing.tokens import Counter, PromptCounter, Tokenizer, render_plain
from gateway.settings import GatewaySettings
from quantgate.profile import Profile
from tests.unit.fakes import FakeUpstreams, ScriptedStream, chunk, sse, streaming
from tests.unit.test_metrics import sample

pytestmark = pytest.mark.anyio

PINNED = {"model": "demo@w4", "messages": [{"role": "user", "content": "one two three"}]}


def events(text: str) -> list[str]:
    return [line.removeprefix("data: ") for line in text.splitlines() if line.startswith("data: ")]


async def stream_from(make_app: Any, upstreams: FakeUpstreams, pieces: list[Any], **body: Any):
    upstreams.set("w4", streaming(ScriptedStream(pieces)))
    app = make_app()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://g") as c:
        r = await c.post("/v1/chat/completions", json={**PINNED, "stream": True, **body})
        metrics = (await c.get("/metrics")).text
    return r, events(r.text), metrics


def assert_one_error_at_the_end(data: list[str], code: str) -> dict[str, Any]:
    assert "[DONE]" not in data, data
    errors = [d for d in data if "error" in json.loads(d)]
    assert errors == [data[-1]], data
    error: dict[str, Any] = json.loads(data[-1])["error"]
    assert error["code"] == code
    return error


async def test_done_before_the_finish_chunk_is_an_error_not_a_complete_answer(
    make_app, upstreams: FakeUpstreams
) -> None:
    # what llama-cpp-python sends when another request waits for its model lock
    pieces = [chunk("up-w4", "Hel"), chunk("up-w4", "lo"), sse("[DONE]")]
    r, data, metrics = await stream_from(make_app, upstreams, pieces)
    assert r.status_code == 200
    error = assert_one_error_at_the_end(data, "stream_incomplete")
    assert "w4 sent [DONE] before the choice finished" in error["message"]
    assert "2 token events" in error["message"]
    assert sample(
        metrics, "quantgate_upstream_errors_total", variant="w4", kind="stream_incomplete"
    )


async def test_done_then_a_broken_connection_gives_one_error_event(
    make_app, upstreams: FakeUpstreams
) -> None:
    pieces = [chunk("up-w4", "Hel"), sse("[DONE]"), httpx.RemoteProtocolError("incomplete chunk")]
    _, data, _ = await stream_from(make_app, upstreams, pieces)
    assert_one_error_at_the_end(data, "stream_incomplete")


async def test_close_without_done_is_an_error_even_after_the_finish_chunk(
    make_app, upstreams: FakeUpstreams
) -> None:
    _, data, _ = await stream_from(make_app, upstreams, [chunk("up-w4", "Hi", "stop")])
    error = assert_one_error_at_the_end(data, "stream_incomplete")
    assert "before [DONE]" in error["message"]


async def test_every_choice_must_finish(make_app, upstreams: FakeUpstreams) -> None:
    pieces = [chunk("up-w4", "a", "stop", index=0), chunk("up-w4", "b", index=1), sse("[DONE]")]
    _, data, _ = await stream_from(make_app, upstreams, pieces, n=2)
    error = assert_one_error_at_the_end(data, "stream_incomplete")
    assert "choice 1" in error["message"]
    pieces = [chunk("up-w4", "a", "stop", index=0), chunk("up-w4", "b", "length", 1), sse("[DONE]")]
    _, data, _ = await stream_from(make_app, upstreams, pieces, n=2)
    assert data[-1] == "[DONE]"


async def test_an_upstream_error_event_is_relayed_once_and_ends_the_stream(
    make_app, upstreams: FakeUpstreams
) -> None:
    failure = {"error": {"message": "engine OOM", "type": "x", "param": None, "code": 500}}
    pieces = [chunk("up-w4", "a"), sse(failure), sse("[DONE]")]
    _, data, metrics = await stream_from(make_app, upstreams, pieces)
    assert "[DONE]" not in data
    assert json.loads(data[-1])["error"]["message"] == "engine OOM"
    assert sample(metrics, "quantgate_upstream_errors_total", variant="w4", kind="bad_gateway")


async def test_complete_stream_ends_with_one_done(make_app, upstreams: FakeUpstreams) -> None:
    pieces = [chunk("up-w4", "a"), chunk("up-w4", "", "length"), sse("[DONE]"), sse("[DONE]")]
    _, data, _ = await stream_from(make_app, upstreams, pieces)
    assert data.count("[DONE]") == 1 and data[-1] == "[DONE]"


class Words(Tokenizer):
    """An exact tokenizer for the test: one token per word."""

    key = "words"
    exact = True

    def count(self, text: str) -> int:
        return len(text.split())


@pytest.mark.parametrize("asked", [True, False])
async def test_usage_is_filled_when_the_engine_sends_none(
    profile: Profile, upstreams: FakeUpstreams, asked: bool
) -> None:
    counter = PromptCounter(
        {v.name: Counter(Words(), render_plain, "plain") for v in profile.variants}
    )
    router = Router(profile, counter=counter)
    app = create_app(profile, GatewaySettings(), transport=upstreams, router=router)
    # like llama-cpp-python: no usage chunk even though the gateway asks for one
    pieces = [chunk("up-w4", " a"), chunk("up-w4", " b"), chunk("up-w4", "", "length")]
    upstreams.set("w4", streaming(ScriptedStream([*pieces, sse("[DONE]")])))
    body = {**PINNED, "stream": True, "stream_options": {"include_usage": asked}}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://g") as c:
        r = await c.post("/v1/chat/completions", json=body)
        metrics = (await c.get("/metrics")).text
    data = events(r.text)
    assert data[-1] == "[DONE]"
    usage = [json.loads(d)["usage"] for d in data[:-1] if "usage" in json.loads(d)]
    # the plain rendering "user: one two three" is 4 words
    expected = {"prompt_tokens": 4, "completion_tokens": 2, "total_tokens": 6}
    assert usage == ([expected] if asked else [])
    if asked:
        last = json.loads(data[-2])
        assert last["choices"] == [] and last["model"] == "demo@w4" and last["id"] == "c1"
    assert sample(metrics, "quantgate_completion_tokens_total", variant="w4") == 2
    assert sample(metrics, "quantgate_prompt_tokens_total", variant="w4") == 4
    assert sample(metrics, "quantgate_time_per_output_token_seconds_count", variant="w4") == 1


async def test_no_usage_is_made_up_from_an_estimated_count(
    make_app, upstreams: FakeUpstreams
) -> None:
    pieces = [chunk("up-w4", " a", "stop"), sse("[DONE]")]
    _, data, _ = await stream_from(
        make_app, upstreams, pieces, stream_options={"include_usage": True}
    )
    assert data[-1] == "[DONE]"
    assert not any("usage" in json.loads(d) for d in data[:-1])
