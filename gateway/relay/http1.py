"""HTTP/1.1 to the upstreams: keep-alive connections on asyncio protocols, parsed by httptools.

The relay sends one request at a time per connection to a few origins (the engines on
127.0.0.1, an external API) and needs a reply's status, content type and body, whole or as
it arrives. That is all this does, with the parser uvicorn's server side uses (httptools:
llhttp, Node's parser), the other way round. Measured against the minimal upstream on one
core, sequential requests (bench/http_clients.py), CPU a request against this: aiohttp (the
pool before) 2.4x, pyreqwest (Rust's reqwest) 1.5x, httpx 13x; streams 1.9x, 1.4x and 9.5x.
aiohttp's cost was most of what the gateway added to a request (docs/overhead.md).

- Pool: up to `limit` requests in flight per sender (one per variant), each on its own
  connection; a connection whose reply was read to its end goes back to the pool, newest
  first, unless idle for KEEPALIVE_S; any other is closed (an engine then aborts the
  request).
- Errors (`HttpError`): `ConnectError` (no connection, or no free slot, within the connect
  timeout), `Disconnected` (closed before any reply), `CutShort` (a reply began and did not
  end), `BadReply` (not HTTP as the parser reads it). gateway/relay/upstream.py names them to
  the client.
- A stream is read as it arrives: what arrived together is handed over together, and
  reading pauses while HIGH_WATER bytes wait for the relay (the engine then waits too).
- No redirects, cookies, proxies or compression: an upstream is a fixed OpenAI endpoint.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import httptools

# a pooled connection idle longer than this is not reused: the engines' servers (uvicorn, in
# llama-cpp-python and vLLM) close theirs after 5 s idle, and a request written as the server
# closes fails (a 502, seen in CI on a loaded machine)
KEEPALIVE_S = 2.0
HIGH_WATER = 256 * 1024  # bytes of a reply waiting for the relay before reading pauses


class HttpError(Exception):
    """What the network did to a request."""


class ConnectError(HttpError):
    """No connection: refused, unreachable, or none free within the connect timeout."""


class Disconnected(HttpError):
    """The server closed the connection before any reply."""


class CutShort(HttpError):
    """A reply began and did not end: the connection closed mid-body."""


class BadReply(HttpError):
    """Bytes that are not an HTTP/1.1 reply."""


@dataclass(frozen=True)
class Origin:
    host: str
    port: int
    tls: ssl.SSLContext | None
    target: str  # the request line's path and query
    host_header: str


def origin_of(url: str) -> Origin:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {url!r}")
    tls = ssl.create_default_context() if parts.scheme == "https" else None
    port = parts.port or (443 if tls else 80)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Origin(parts.hostname, port, tls, target, parts.netloc)


class Reply:
    """A reply whose status line and headers have arrived (the relay's `Incoming`)."""

    def __init__(self, connection: _Connection, sender: Http1Sender) -> None:
        self.status = 0
        self.reason = ""
        self.content_type = "application/json"
        self.keep_alive = False
        self.sized = False  # content-length or chunked: else the body ends when the server closes
        self.ended = False
        self._connection = connection
        self._sender = sender
        loop = asyncio.get_running_loop()
        self.head: asyncio.Future[None] = loop.create_future()
        self._body: list[bytes] = []
        self._buffered = 0
        self._paused = False
        self._error: HttpError | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._released = False

    async def read(self) -> bytes:
        if not self.ended:
            return b"".join([chunk async for chunk in self.chunks()])
        if self._error is not None:
            raise self._error
        return b"".join(self._body)

    async def chunks(self) -> AsyncIterator[bytes]:
        while True:
            if self._body:
                data = b"".join(self._body) if len(self._body) > 1 else self._body[0]
                self._body.clear()
                self._buffered = 0
                if self._paused:
                    self._paused = False
                    self._connection.resume()
                yield data
            elif self.ended:
                if self._error is not None:
                    raise self._error
                return
            else:
                self._waiter = asyncio.get_running_loop().create_future()
                await self._waiter

    async def aclose(self) -> None:
        """Give the connection back: to the pool when the reply was read to its end."""
        if not self._released:
            self._released = True
            whole = self.ended and self._error is None and self.keep_alive
            self._sender._release(self._connection, reuse=whole)

    # from the connection
    def _feed(self, data: bytes) -> None:
        self._body.append(data)
        self._buffered += len(data)
        if self._buffered > HIGH_WATER and not self._paused:
            self._paused = True
            self._connection.pause()
        self._wake()

    def _end(self, error: HttpError | None = None) -> None:
        if self.ended:
            return
        self.ended = True
        if not self.head.done():
            if error is None:  # (cannot happen: a body ends after its head)
                error = BadReply("a reply ended before its headers")
            self.head.set_exception(error)
            self.head.exception()  # retrieved: whoever waits for it raises it
        self._error = error
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


class _Connection(asyncio.Protocol):
    """One keep-alive connection; httptools calls the `on_*` methods as it parses."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.reply: Reply | None = None
        self.open = True
        self.idle_since = 0.0
        self.key: tuple[str, int] = ("", 0)  # its origin's host and port, in the pool

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if self.reply is None or self.reply.ended:  # nothing was asked: not ours to read
            self.close()
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self.reply._end(BadReply(f"{type(exc).__name__}: {exc}"))
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.open = False
        reply = self.reply
        if reply is None or reply.ended:
            return
        if reply.head.done() and not reply.sized and not reply.keep_alive:
            reply._end()  # a body without a length ends when the connection does
        elif reply.head.done():
            reply._end(CutShort("the connection closed before the reply's end"))
        else:
            reply._end(Disconnected("the connection closed before a reply"))

    def pause(self) -> None:
        if self.transport is not None and self.open:
            self.transport.pause_reading()

    def resume(self) -> None:
        if self.transport is not None and self.open:
            self.transport.resume_reading()

    def close(self) -> None:
        self.open = False
        if self.transport is not None:
            self.transport.close()

    # httptools' callbacks
    def on_status(self, status: bytes) -> None:
        self.reply.reason = status.decode("latin-1")  # type: ignore[union-attr]

    def on_header(self, name: bytes, value: bytes) -> None:
        name = name.lower()
        if name == b"content-type":
            self.reply.content_type = value.decode("latin-1")  # type: ignore[union-attr]
        elif name in (b"content-length", b"transfer-encoding"):
            self.reply.sized = True  # type: ignore[union-attr]

    def on_headers_complete(self) -> None:
        reply = self.reply
        assert reply is not None
        reply.status = self.parser.get_status_code()
        reply.keep_alive = self.parser.should_keep_alive()
        if not reply.head.done():
            reply.head.set_result(None)

    def on_body(self, body: bytes) -> None:
        self.reply._feed(body)  # type: ignore[union-attr]

    def on_message_complete(self) -> None:
        self.reply._end()  # type: ignore[union-attr]


class Http1Sender:
    """The relay's `Sender`: a pool of up to `limit` connections (per sender: one a variant)."""

    def __init__(self, limit: int, connect_timeout: float) -> None:
        self._timeout = connect_timeout
        self._slots = asyncio.Semaphore(limit)
        self._origins: dict[str, Origin] = {}
        self._idle: dict[tuple[str, int], list[_Connection]] = {}

    async def send(
        self, method: str, url: str, body: bytes | None, headers: Mapping[str, str]
    ) -> Reply:
        origin = self._origins.get(url)
        if origin is None:
            origin = self._origins[url] = origin_of(url)
        head = _head(method, origin, body, headers)
        await self._slot()
        connection = None
        try:
            connection = self._pooled(origin) or await self._connect(origin)
            reply = connection.reply = Reply(connection, self)
            assert connection.transport is not None
            connection.transport.write(head if body is None else head + body)
            await reply.head
            return reply
        except BaseException:
            self._slots.release()
            if connection is not None:
                connection.close()
            raise

    async def aclose(self) -> None:
        for idle in self._idle.values():
            for connection in idle:
                connection.close()
        self._idle.clear()

    async def _slot(self) -> None:
        if not self._slots.locked():
            await self._slots.acquire()  # free: no timer needed
            return
        try:
            async with asyncio.timeout(self._timeout):
                await self._slots.acquire()
        except TimeoutError as exc:
            raise ConnectError(f"no free connection within {self._timeout:g} s") from exc

    def _pooled(self, origin: Origin) -> _Connection | None:
        idle = self._idle.get((origin.host, origin.port))
        if not idle:
            return None
        now = asyncio.get_running_loop().time()
        while idle:
            connection = idle.pop()  # the newest: the least likely to be closing
            if connection.open and now - connection.idle_since < KEEPALIVE_S:
                return connection
            connection.close()
        return None

    async def _connect(self, origin: Origin) -> _Connection:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self._timeout):
                _, connection = await loop.create_connection(
                    _Connection,
                    origin.host,
                    origin.port,
                    ssl=origin.tls,
                    server_hostname=origin.host if origin.tls else None,
                )
        except TimeoutError as exc:
            raise ConnectError(
                f"{origin.host}:{origin.port}: no connection within {self._timeout:g} s"
            ) from exc
        except OSError as exc:  # refused, unreachable, TLS (ssl.SSLError is an OSError)
            raise ConnectError(f"{origin.host}:{origin.port}: {exc}") from exc
        connection.key = (origin.host, origin.port)
        return connection

    def _release(self, connection: _Connection, *, reuse: bool) -> None:
        self._slots.release()
        connection.reply = None
        if reuse and connection.open:
            connection.idle_since = asyncio.get_running_loop().time()
            self._idle.setdefault(connection.key, []).append(connection)
        else:
            connection.close()


def _head(method: str, origin: Origin, body: bytes | None, headers: Mapping[str, str]) -> bytes:
    """The request line and headers; a header that would split the request is refused."""
    lines = [f"{method} {origin.target} HTTP/1.1", f"host: {origin.host_header}"]
    for name, value in headers.items():
        if "\r" in value or "\n" in value or "\r" in name or "\n" in name or ":" in name:
            raise ValueError(f"header {name!r} holds a line break")
        lines.append(f"{name}: {value}")
    if body is not None:
        lines.append(f"content-length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
