"""Deadlines and the retry budget: a request ends by its deadline, failovers included, and
tries at most 1 + QUANTGATE_MAX_FAILOVERS variants."""

from __future__ import annotations

from collections.abc import Callable

import anyio
import httpx
import pytest
from fastapi import FastAPI

from tests.unit.fakes import AsgiCall, FakeUpstreams

pytestmark = pytest.mark.anyio

CHAT = {"model": "demo", "messages": [{"role": "user", "content": "hello there"}]}


async def test_the_deadline_header_bounds_the_wait_for_a_first_byte(
    make_app: Callable[..., FastAPI], upstreams: FakeUpstreams
) -> None:
    async def stuck(request: httpx.Request) -> httpx.Response:
        await anyio.sleep(30)
        raise AssertionError("never reached")

    for name in ("w4", "w8", "ref"):
        upstreams.set(name, stuck)
    app = make_app()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://g") as c:
        with anyio.fail_after(10):
            r = await c.post(
                "/v1/chat/completions", json=CHAT, headers={"X-Quantgate-Deadline": "0.3"}
            )
        bad = await c.post(
            "/v1/chat/completions", json=CHAT, headers={"X-Quantgate-Deadline": "soon"}
        )
    assert r.status_code == 504 and "0.3 s deadline" in r.json()["error"]["message"]
    assert app.state.gateway.admission.active["w4"] == 0  # the slot was given back
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "X-Quantgate-Deadline"


async def test_the_retry_budget_caps_the_variants_tried(
    make_app: Callable[..., FastAPI], upstreams: FakeUpstreams
) -> None:
    async def broken(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, json={"error": {"message": "down"}})

    for name in ("w4", "w8", "ref"):
        upstreams.set(name, broken)
    app = make_app(max_failovers=1)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://g") as c:
        r = await c.post("/v1/chat/completions", json=CHAT)
    assert r.status_code in (502, 503)
    tried = [n for n in ("w4", "w8", "ref") if upstreams.received[n]]
    assert len(tried) == 2, tried


@pytest.mark.parametrize("stream", [False, True])
async def test_a_client_that_leaves_before_the_answer_cancels_the_upstream_request(
    make_app: Callable[..., FastAPI], upstreams: FakeUpstreams, stream: bool
) -> None:
    """Non-streamed too: the upstream request is closed, its slot released, nothing sent."""
    started, cancelled = anyio.Event(), anyio.Event()

    async def generating(request: httpx.Request) -> httpx.Response:
        started.set()
        try:
            await anyio.sleep(30)
        finally:
            cancelled.set()
        raise AssertionError("never reached")

    upstreams.set("w4", generating)
    app = make_app()
    state = app.state.gateway
    call = AsgiCall(app, {**CHAT, "model": "demo@w4", "stream": stream}, "2.4")
    with anyio.fail_after(10):  # a hang guard: every step here is immediate
        async with anyio.create_task_group() as tg:
            tg.start_soon(call.run)
            await started.wait()
            assert state.admission.active["w4"] == 1
            call.disconnected.set()
            await cancelled.wait()
    assert call.status is None and call.bodies == []  # nobody to answer
    assert state.admission.active["w4"] == 0
    assert state.metrics.requests.labels("none", "none", "pinned", "chat", "499")._value.get() == 1
