"""How the relay names what the network raised: the gateway's own sender's errors (against
real sockets that misbehave), and httpx's (a caller's transport, which may wrap the cause
that names the failure: then the relay reads the cause)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest

from gateway.relay.http1 import ConnectError, Disconnected, Http1Sender
from gateway.relay.transport import BROKEN, HttpxSender
from gateway.relay.upstream import StreamReply, Timeouts, Upstream
from quantgate.errors import UpstreamError, UpstreamUnavailable

pytestmark = pytest.mark.anyio


class Raising(httpx.AsyncBaseTransport):
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        raise self.exc


def mapped(cause: BaseException, as_: type[httpx.TransportError]) -> httpx.TransportError:
    """An httpx error raised from another library's (what a wrapping transport raises)."""
    try:
        raise as_(str(cause)) from cause
    except httpx.TransportError as exc:
        return exc


async def open_with(exc: BaseException) -> UpstreamError:
    upstream = Upstream(
        "w4",
        "http://up/v1",
        HttpxSender(Raising(exc), 1),
        timeouts=Timeouts(1, 1, 1),
        served_model="m",
    )
    with pytest.raises(UpstreamError) as caught:
        await upstream.open("chat/completions", {"model": "x"}, stream=False)
    return caught.value


async def test_a_dropped_connection_is_a_failure_not_an_unreachable_variant() -> None:
    err = await open_with(mapped(Disconnected("closed"), httpx.ConnectTimeout))
    assert type(err) is UpstreamError
    assert "failed (Disconnected)" in err.message


async def test_a_refused_connection_is_an_unreachable_variant() -> None:
    err = await open_with(mapped(ConnectError("refused"), httpx.ConnectError))
    assert isinstance(err, UpstreamUnavailable)
    assert "unreachable (ConnectError)" in err.message


async def test_a_plain_httpx_error_keeps_its_own_name() -> None:
    err = await open_with(httpx.ConnectError("refused"))
    assert isinstance(err, UpstreamUnavailable) and "ConnectError" in err.message


Serve = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def served_by(serve: Serve) -> AsyncIterator[Upstream]:
    """An Upstream over the gateway's own sender, to a raw socket server running `serve`."""
    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    upstream = Upstream(
        "w4",
        f"http://127.0.0.1:{port}/v1",
        Http1Sender(4, 2),
        timeouts=Timeouts(2, 2, 2),
        served_model="m",
    )
    try:
        yield upstream
    finally:
        await upstream.aclose()
        server.close()


async def headers_then(writer: asyncio.StreamWriter, head: bytes, body: bytes) -> None:
    writer.write(head + b"\r\n\r\n" + body)
    await writer.drain()
    writer.close()


async def test_own_sender_a_refused_connection_is_an_unreachable_variant() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    upstream = Upstream(
        "w4", f"http://127.0.0.1:{port}/v1", Http1Sender(4, 2), timeouts=Timeouts(2, 2, 2)
    )
    with pytest.raises(UpstreamUnavailable, match=r"unreachable \(ConnectError\)"):
        await upstream.open("chat/completions", {"model": "x"}, stream=False)
    await upstream.aclose()


async def test_own_sender_a_connection_closed_without_an_answer_is_a_failure() -> None:
    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.close()

    async for upstream in served_by(hang_up):
        with pytest.raises(UpstreamError) as caught:
            await upstream.open("chat/completions", {"model": "x"}, stream=False)
        assert type(caught.value) is UpstreamError
        assert "failed (Disconnected)" in caught.value.message


async def test_own_sender_a_body_cut_short_is_a_failure() -> None:
    async def short(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        head = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 50"
        await headers_then(writer, head, b'{"choices": [')

    async for upstream in served_by(short):
        with pytest.raises(UpstreamError, match=r"failed \(CutShort\)"):
            await upstream.open("chat/completions", {"model": "x"}, stream=False)


async def test_own_sender_a_stream_cut_mid_way_raises_what_the_relay_catches() -> None:
    async def cut(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        head = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
        head += b"transfer-encoding: chunked"
        first = b'data: {"choices": []}\n\n'
        await headers_then(writer, head, b"%x\r\n%s\r\n" % (len(first), first))

    async for upstream in served_by(cut):
        reply = await upstream.open("chat/completions", {"model": "x"}, stream=True)
        assert isinstance(reply, StreamReply)
        with pytest.raises(BROKEN):
            async for _ in reply.batches():
                pass
        await reply.aclose()


async def test_own_sender_the_served_model_and_a_whole_body_arrive() -> None:
    async def ok(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await reader.readuntil(b"\r\n\r\n")
        length = int(request.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
        sent = await reader.readexactly(length)
        body = b'{"echo": ' + sent + b"}"
        head = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
        head += b"content-length: %d" % len(body)
        await headers_then(writer, head, body)

    async for upstream in served_by(ok):
        reply = await upstream.open("chat/completions", {"model": "x", "n": 1}, stream=False)
        assert reply.status == 200 and reply.content_type == "application/json"
        assert reply.body == b'{"echo": {"model":"m","n":1}}'  # the served name, sent as JSON
