"""The gateway's upstream pool (gateway/relay/http1.py) against raw socket servers: requests
as written on the wire, replies whole, chunked or cut, connections reused or not."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import pytest

from gateway.relay import http1
from gateway.relay.http1 import ConnectError, CutShort, Disconnected, Http1Sender

pytestmark = pytest.mark.anyio

UVICORN_KEEPALIVE_S = 5.0  # uvicorn's default, which llama-cpp-python's and vLLM's servers keep
OK = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}"
Serve = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@dataclass
class Served:
    url: str
    heads: list[bytes] = field(default_factory=list)  # every request's head, in order
    connections: int = 0  # accepted so far


@asynccontextmanager
async def server(serve: Serve) -> AsyncIterator[Served]:
    """A server running `serve` per connection; yields its URL, the requests' heads and how
    many connections it accepted."""
    served = Served("")

    async def recorded(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        served.connections += 1
        try:
            await serve(_Recording(reader, served.heads), writer)  # type: ignore[arg-type]
        finally:
            writer.close()

    srv = await asyncio.start_server(recorded, "127.0.0.1", 0)
    served.url = f"http://127.0.0.1:{srv.sockets[0].getsockname()[1]}/v1/chat/completions"
    try:
        yield served
    finally:
        srv.close()


class _Recording:
    """A reader whose `request()` reads one request (head and body) and records its head."""

    def __init__(self, reader: asyncio.StreamReader, heads: list[bytes]) -> None:
        self.reader, self.heads = reader, heads

    async def request(self) -> bytes:
        head = await self.reader.readuntil(b"\r\n\r\n")
        self.heads.append(head)
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        return await self.reader.readexactly(length)


async def answer_ok_forever(reader: _Recording, writer: asyncio.StreamWriter) -> None:
    while True:
        try:
            await reader.request()
        except asyncio.IncompleteReadError:
            return
        writer.write(OK)
        await writer.drain()


async def test_a_request_is_written_as_http_1_1_and_its_reply_read_whole() -> None:
    async with server(answer_ok_forever) as served:
        url, heads = served.url, served.heads
        sender = Http1Sender(4, 2)
        reply = await sender.send(
            "POST", url, b'{"a": 1}', {"content-type": "application/json", "x-request-id": "r1"}
        )
        assert (reply.status, reply.reason, reply.content_type) == (200, "OK", "application/json")
        assert await reply.read() == b"{}"
        await reply.aclose()
        await sender.aclose()
    lines = heads[0].decode().split("\r\n")
    assert lines[0] == "POST /v1/chat/completions HTTP/1.1"
    assert f"host: {url.split('/')[2]}" in lines
    assert {"content-type: application/json", "x-request-id: r1", "content-length: 8"} <= set(lines)


async def test_a_connection_is_reused_after_a_whole_reply_and_not_after_a_partial_one() -> None:
    async def partial_fourth(reader: _Recording, writer: asyncio.StreamWriter) -> None:
        for _ in range(3):
            await reader.request()
            writer.write(OK)
        await reader.request()  # the fourth: a stream that has not ended
        writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n")
        await answer_ok_forever(reader, writer)

    async with server(partial_fourth) as served:
        url = served.url
        sender = Http1Sender(4, 2)
        for _ in range(3):
            reply = await sender.send("GET", url, None, {})
            assert await reply.read() == b"{}"
            await reply.aclose()
        assert served.connections == 1
        reply = await sender.send("GET", url, None, {})
        await reply.aclose()  # before its end: the connection cannot carry another request
        reply = await sender.send("GET", url, None, {})
        assert await reply.read() == b"{}"
        await reply.aclose()
        await sender.aclose()
    assert served.connections == 2


async def test_idle_connections_are_dropped_before_the_engines_close_them() -> None:
    assert http1.KEEPALIVE_S <= UVICORN_KEEPALIVE_S / 2  # margin for a loaded machine's delays
    async with server(answer_ok_forever) as served:
        url = served.url
        sender = Http1Sender(4, 2)
        reply = await sender.send("GET", url, None, {})
        await reply.read()
        await reply.aclose()
        for idle in sender._idle.values():  # as if idle for KEEPALIVE_S
            for connection in idle:
                connection.idle_since -= http1.KEEPALIVE_S
        reply = await sender.send("GET", url, None, {})
        await reply.read()
        await reply.aclose()
        await sender.aclose()
    assert served.connections == 2


async def test_a_chunked_stream_is_read_as_it_arrives() -> None:
    release = asyncio.Event()

    async def stream(reader: _Recording, writer: asyncio.StreamWriter) -> None:
        await reader.request()
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n")
        writer.write(b"transfer-encoding: chunked\r\n\r\n5\r\none\n\n\r\n")
        await writer.drain()
        await release.wait()  # the second chunk only once the first was read
        writer.write(b"5\r\ntwo\n\n\r\n0\r\n\r\n")
        await writer.drain()
        await answer_ok_forever(reader, writer)

    async with server(stream) as served:
        url = served.url
        sender = Http1Sender(4, 2)
        reply = await sender.send("POST", url, b"{}", {})
        assert reply.content_type == "text/event-stream"
        got = []
        async for chunk in reply.chunks():
            got.append(chunk)
            release.set()
        assert got == [b"one\n\n", b"two\n\n"]
        await reply.aclose()
        reply = await sender.send("GET", url, None, {})  # the same connection, still usable
        assert await reply.read() == b"{}"
        await reply.aclose()
        await sender.aclose()


async def test_a_large_reply_pauses_reading_until_it_is_taken(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(http1, "HIGH_WATER", 1000)
    body = b"x" * 200_000

    async def big(reader: _Recording, writer: asyncio.StreamWriter) -> None:
        await reader.request()
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % len(body) + body)
        await writer.drain()

    async with server(big) as served:
        url = served.url
        sender = Http1Sender(4, 2)
        reply = await sender.send("GET", url, None, {})
        for _ in range(20):
            await asyncio.sleep(0.01)  # let it arrive, as far as it may
        assert reply._paused and not reply.ended
        assert await reply.read() == body
        await reply.aclose()
        await sender.aclose()


async def test_a_body_without_a_length_ends_with_the_connection() -> None:
    async def until_close(reader: _Recording, writer: asyncio.StreamWriter) -> None:
        await reader.request()
        writer.write(b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nall of it")
        await writer.drain()

    async with server(until_close) as served:
        url = served.url
        sender = Http1Sender(4, 2)
        reply = await sender.send("GET", url, None, {})
        assert await reply.read() == b"all of it"
        await reply.aclose()
        assert not sender._idle.get(("127.0.0.1", int(url.split(":")[2].split("/")[0])))
        await sender.aclose()


async def test_a_reply_cut_mid_body_or_before_it_is_named() -> None:
    async def cut(reader: _Recording, writer: asyncio.StreamWriter) -> None:
        await reader.request()
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc")
        await writer.drain()

    async def hang_up(reader: _Recording, writer: asyncio.StreamWriter) -> None:
        await reader.request()

    sender = Http1Sender(4, 2)
    async with server(cut) as served:
        url = served.url
        reply = await sender.send("GET", url, None, {})
        with pytest.raises(CutShort):
            await reply.read()
        await reply.aclose()
    async with server(hang_up) as served:
        url = served.url
        with pytest.raises(Disconnected):
            await sender.send("GET", url, None, {})
    await sender.aclose()


async def test_no_free_connection_within_the_connect_timeout_is_a_connect_error() -> None:
    async with server(answer_ok_forever) as served:
        url = served.url
        sender = Http1Sender(1, 0.2)
        held = await sender.send("GET", url, None, {})
        with pytest.raises(ConnectError, match="no free connection"):
            await sender.send("GET", url, None, {})
        await held.aclose()
        reply = await sender.send("GET", url, None, {})  # the slot came back
        await reply.aclose()
        await sender.aclose()


async def test_a_cancelled_request_gives_its_slot_back() -> None:
    async def silent(reader: _Recording, writer: asyncio.StreamWriter) -> None:
        await reader.request()
        await asyncio.sleep(10)

    async with server(silent) as served:
        url = served.url
        sender = Http1Sender(1, 0.5)
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.1):
                await sender.send("GET", url, None, {})
        assert not sender._slots.locked()
        await sender.aclose()


async def test_a_header_that_would_split_the_request_is_refused() -> None:
    sender = Http1Sender(1, 0.5)
    with pytest.raises(ValueError, match="line break"):
        await sender.send("GET", "http://127.0.0.1:1/", None, {"x-id": "a\r\nx-evil: 1"})
    assert not sender._slots.locked()
