"""The network under the relay: send one request, then read the reply's status, headers and
body, whole or chunk by chunk.

Two senders behind one small seam:
- `Http1Sender` (gateway/relay/http1.py), what the gateway uses: keep-alive connections on
  asyncio, parsed by httptools, under half aiohttp's cost a request (bench/http_clients.py);
- `HttpxSender`, any httpx transport: what tests hand in (fakes at the network seam), and what
  a caller who brings its own transport gets.

Each raises its own errors; `Upstream` names them (`BROKEN` lists what a stream cut mid-way
can raise).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Protocol

import httpx

from gateway.relay.http1 import HttpError

BROKEN = (httpx.HTTPError, HttpError)  # what reading a reply's body can raise


class Incoming(Protocol):
    """A reply whose status line and headers have arrived."""

    status: int
    reason: str
    content_type: str

    async def read(self) -> bytes: ...

    def chunks(self) -> AsyncIterator[bytes]: ...

    async def aclose(self) -> None: ...


class Sender(Protocol):
    async def send(
        self, method: str, url: str, body: bytes | None, headers: Mapping[str, str]
    ) -> Incoming: ...

    async def aclose(self) -> None: ...


class _HttpxIncoming:
    def __init__(self, response: httpx.Response) -> None:
        self._response = response
        self.status = response.status_code
        self.reason = response.reason_phrase
        self.content_type = response.headers.get("content-type", "application/json")

    async def read(self) -> bytes:
        return await self._response.aread()

    def chunks(self) -> AsyncIterator[bytes]:
        return self._response.aiter_bytes()

    async def aclose(self) -> None:
        await self._response.aclose()


class HttpxSender:
    def __init__(self, transport: httpx.AsyncBaseTransport, connect_timeout: float) -> None:
        self.transport = transport
        self._extensions = {
            "timeout": {"connect": connect_timeout, "pool": connect_timeout, "read": None}
        }

    async def send(
        self, method: str, url: str, body: bytes | None, headers: Mapping[str, str]
    ) -> Incoming:
        request = httpx.Request(
            method, url, content=body, headers=headers, extensions=self._extensions
        )
        return _HttpxIncoming(await self.transport.handle_async_request(request))

    async def aclose(self) -> None:
        await self.transport.aclose()
