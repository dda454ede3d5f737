"""The relay in-process: model rewriting, pass-through, streaming, failover."""

from __future__ import annotations

import json

import anyio
import httpx
import pytest

from tests.unit.fakes import (
    FakeUpstreams,
    ScriptedStream,
    chunk,
    down,
    hang,
    sse,
    status,
    streaming,
)

pytestmark = pytest.mark.anyio

CHAT = {"model": "demo", "messages": [{"role": "user", "content": "hello there"}]}


def events(text: str) -> list[str]:
    return [line.removeprefix("data: ") for line in text.splitlines() if line.startswith("data: ")]


async def test_chat_goes_to_default_variant_and_model_is_rewritten(
    client: httpx.AsyncClient, upstreams: FakeUpstreams
) -> None:
    r = await client.post("/v1/chat/completions", json={**CHAT, "max_tokens": 3})
    assert r.status_code == 200
    assert r.headers["x-quantgate-variant"] == "w4"
    body = r.json()
    assert body["model"] == "demo"
    assert body["choices"][0]["message"]["content"] == " tok0 tok1 tok2"
    assert upstreams.received["w4"][0]["model"] == "up-w4"
    assert upstreams.received["ref"] == []


async def test_pinned_variant_is_served_and_named(
    client: httpx.AsyncClient, upstreams: FakeUpstreams
) -> None:
    r = await client.post("/v1/completions", json={"model": "demo@ref", "prompt": "a b c"})
    assert r.status_code == 200
    assert r.headers["x-quantgate-variant"] == "ref"
    assert r.json()["model"] == "demo@ref"
    assert r.json()["usage"]["prompt_tokens"] == 3
    assert upstreams.received["ref"][0]["model"] == "up-ref"


async def test_unknown_fields_pass_through_untouched(
    client: httpx.AsyncClient, upstreams: FakeUpstreams
) -> None:
    extra = {
        "top_k": 7,
        "guided_json": {"type": "object"},
        "logit_bias": {"50256": -100},
        "metadata": {"user": "bob"},
        "seed": 3,
    }
    sent = {**CHAT, **extra, "messages": [{"role": "user", "content": "hi", "name": "bob"}]}
    r = await client.post("/v1/chat/completions", json=sent)
    assert r.status_code == 200
    received = upstreams.received["w4"][0]
    assert received == {**sent, "model": "up-w4"}


async def test_stream_relays_every_event_in_order_with_usage(client: httpx.AsyncClient) -> None:
    body = {**CHAT, "stream": True, "max_tokens": 4, "stream_options": {"include_usage": True}}
    r = await client.post("/v1/chat/completions", json=body)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/event-stream")
    data = events(r.text)
    assert data[-1] == "[DONE]"
    chunks = [json.loads(d) for d in data[:-1]]
    assert all(c["model"] == "demo" for c in chunks)
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    assert text == " tok0 tok1 tok2 tok3"
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"]["completion_tokens"] == 4


async def test_stream_without_include_usage_has_no_usage_chunk(client: httpx.AsyncClient) -> None:
    r = await client.post("/v1/chat/completions", json={**CHAT, "stream": True, "max_tokens": 2})
    chunks = [json.loads(d) for d in events(r.text)[:-1]]
    assert all("usage" not in c for c in chunks)


@pytest.mark.parametrize(
    ("failure", "settings"),
    [(down(), {}), (status(500), {}), (status(503), {}), (hang(), {"first_byte_timeout": 0.2})],
    ids=["connect-refused", "500", "503", "first-byte-timeout"],
)
async def test_failover_before_first_byte(
    make_app, upstreams: FakeUpstreams, failure, settings
) -> None:
    upstreams.set("w4", failure)
    app = make_app(**settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://g") as c:
        r = await c.post("/v1/chat/completions", json={**CHAT, "stream": True})
    assert r.status_code == 200
    # the default is w4; the next rung up the precision ladder is w8
    assert r.headers["x-quantgate-variant"] == "w8"
    assert r.headers["x-quantgate-failover"] == "w4"
    assert events(r.text)[-1] == "[DONE]"


async def test_no_failover_after_first_byte(make_app, upstreams: FakeUpstreams) -> None:
    stream = ScriptedStream([chunk("up-w4", "Hel"), httpx.ReadError("engine died")])
    upstreams.set("w4", streaming(stream))
    app = make_app()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://g") as c:
        r = await c.post("/v1/chat/completions", json={**CHAT, "stream": True})
    assert r.status_code == 200
    data = events(r.text)
    assert json.loads(data[0])["choices"][0]["delta"]["content"] == "Hel"
    assert json.loads(data[-1])["error"]["code"] == "bad_gateway"
    assert "engine died" in json.loads(data[-1])["error"]["message"]
    assert upstreams.received["ref"] == [] and upstreams.received["w8"] == []
    assert stream.closed


async def test_stalled_stream_ends_with_timeout_error_event(
    make_app, upstreams: FakeUpstreams
) -> None:
    import anyio

    stream = ScriptedStream([chunk("up-w4", "a"), anyio.Event()])  # never set: stalls
    upstreams.set("w4", streaming(stream))
    app = make_app(idle_timeout=0.2)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://g") as c:
        r = await c.post("/v1/chat/completions", json={**CHAT, "stream": True})
    data = events(r.text)
    assert json.loads(data[0])["model"] == "demo"
    assert json.loads(data[-1])["error"]["code"] == "upstream_timeout"
    assert stream.closed


async def test_non_json_events_and_done_are_relayed_verbatim(
    make_app, upstreams: FakeUpstreams
) -> None:
    stream = ScriptedStream(
        [b"event: ping\ndata: not json\n\n", chunk("up-w4", "x", "stop"), sse("[DONE]")]
    )
    upstreams.set("w4", streaming(stream))
    app = make_app()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://g") as c:
        r = await c.post("/v1/chat/completions", json={**CHAT, "stream": True})
    assert r.text.startswith("event: ping\ndata: not json\n\n")
    assert r.text.endswith("data: [DONE]\n\n")


async def test_pinned_variant_does_not_fail_over(make_app, upstreams: FakeUpstreams) -> None:
    upstreams.set("w4", down())
    app = make_app()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://g") as c:
        r = await c.post("/v1/chat/completions", json={**CHAT, "model": "demo@w4"})
    assert r.status_code == 503
    assert r.json()["error"]["code"] == "upstream_unavailable"
    assert upstreams.received["ref"] == [] and upstreams.received["w8"] == []


async def test_served_model_is_discovered_when_not_configured(
    profile, upstreams: FakeUpstreams
) -> None:
    from gateway.app import create_app
    from quantgate.profile import parse_profile

    text = (
        "model: m\ndefault_variant: w8\nvariants:\n"
        "  - name: w8\n    engine: {kind: external, url: 'http://w8.test/v1'}\n"
    )
    app = create_app(parse_profile(text), transport=upstreams)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://g") as c:
        r = await c.post("/v1/completions", json={"model": "m", "prompt": "x"})
    assert r.status_code == 200
    assert upstreams.received["w8"][0]["model"] == "up-w8"
    assert r.json()["model"] == "m"


class _Supervisor:
    def __init__(self, down: set[str]) -> None:
        self.down = down
        self.unsupported: dict[str, str] = {}

    def healthy(self, name: str) -> bool:
        return name not in self.down


async def test_unhealthy_variants_are_skipped_and_named(make_app, upstreams) -> None:
    app = make_app()
    app.state.gateway.supervisor = _Supervisor({"w4"})
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://g") as c:
        r = await c.post("/v1/chat/completions", json=CHAT)
        assert r.status_code == 200
        assert r.headers["x-quantgate-variant"] == "w8"
        assert r.headers["x-quantgate-skipped"] == "w4"
        assert upstreams.received["w4"] == []
        pinned = await c.post("/v1/chat/completions", json={**CHAT, "model": "demo@w4"})
        assert pinned.status_code == 503
        assert "restarting" in pinned.json()["error"]["message"]


async def test_a_variant_is_busy_while_its_first_byte_is_awaited(
    make_app, upstreams: FakeUpstreams
) -> None:
    """The supervisor reads `busy`: an engine working on a request may miss its probes."""
    release = anyio.Event()
    seen: list[int] = []
    mock = FakeUpstreams._mock("w4")

    async def slow(request: httpx.Request) -> httpx.Response:
        seen.append(app.state.gateway.admission.active["w4"])
        await release.wait()
        return await mock(request)

    upstreams.set("w4", slow)
    app = make_app()
    busy = app.state.gateway.admission.active
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://g") as c,
        anyio.create_task_group() as tg,
    ):
        tg.start_soon(lambda: c.post("/v1/chat/completions", json=CHAT))
        with anyio.fail_after(5):
            while not seen:  # noqa: ASYNC110
                await anyio.sleep(0.01)
        assert busy["w4"] == 1
        release.set()
    assert seen == [1] and busy["w4"] == 0
