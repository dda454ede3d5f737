"""Streaming at the ASGI level: events leave as they arrive; a disconnect closes the upstream.

httpx's ASGITransport buffers whole responses and cannot disconnect early, so these tests
drive the app with hand-made ASGI `receive`/`send` callables.
"""

from __future__ import annotations

import contextlib
import json

import anyio
import pytest

from tests.unit.fakes import AsgiCall, FakeUpstreams, ScriptedStream, chunk, sse, streaming

pytestmark = pytest.mark.anyio

BODY = {"model": "demo", "stream": True, "messages": [{"role": "user", "content": "hi"}]}


@pytest.mark.parametrize("spec_version", ["2.3", "2.4"])
async def test_events_reach_the_client_before_the_upstream_sends_the_next(
    make_app, upstreams: FakeUpstreams, spec_version: str
) -> None:
    released = anyio.Event()
    stream = ScriptedStream(
        [chunk("up-w4", "one"), released, chunk("up-w4", "two", "stop"), sse("[DONE]")]
    )
    upstreams.set("w4", streaming(stream))
    call = AsgiCall(make_app(), BODY, spec_version)

    async def on_body(body: bytes) -> None:
        # the upstream holds "two" back until the client has seen "one": a buffering relay
        # would wait forever here
        assert stream.sent == [chunk("up-w4", "one")]
        released.set()
        call.on_body = _noop  # type: ignore[method-assign]

    call.on_body = on_body  # type: ignore[method-assign]
    with anyio.fail_after(5):
        await call.run()
    assert call.status == 200
    contents = [
        json.loads(b.decode()[6:])["choices"][0]["delta"]["content"] for b in call.bodies[:2]
    ]
    assert contents == ["one", "two"]
    assert call.bodies[-1] == b"data: [DONE]\n\n"
    assert stream.closed


@pytest.mark.parametrize("spec_version", ["2.3", "2.4"])
async def test_client_disconnect_closes_the_upstream_stream(
    make_app, upstreams: FakeUpstreams, spec_version: str
) -> None:
    more = anyio.Event()
    stream = ScriptedStream([chunk("up-w4", "one"), more, chunk("up-w4", "two"), anyio.Event()])
    upstreams.set("w4", streaming(stream))
    call = AsgiCall(make_app(), BODY, spec_version)

    async def on_body(body: bytes) -> None:
        call.disconnected.set()  # the client goes away after the first event
        more.set()

    call.on_body = on_body  # type: ignore[method-assign]
    with anyio.fail_after(5):
        with contextlib.suppress(OSError):
            await call.run()
    assert len(call.bodies) == 1
    assert stream.closed


async def _noop(body: bytes) -> None:
    pass
