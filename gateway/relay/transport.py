"""The network under the relay: send one request, then read the reply's status, headers and
body, whole or chunk by chunk.

Two senders behind one small seam:
- `AiohttpSender`, what the gateway uses: aiohttp's pool, called directly. httpx's request and
  response objects around it (httpx-aiohttp) cost ~55 us of CPU a request, as much as the
  pool itself (bench/overhead.py, docs/overhead.md), and a relay needs nothing they add.
- `HttpxSender`, any httpx transport: what tests hand in (fakes at the network seam), and what
  a caller who brings its own transport gets.

Each raises its library's own errors; `Upstream` names them (`BROKEN` lists what a stream
cut mid-way can raise).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Protocol

import aiohttp
import httpx
from yarl import URL

BROKEN = (httpx.HTTPError, aiohttp.ClientError)  # what reading a reply's body can raise
# a pooled connection idle longer than this is not reused: the engines' servers (uvicorn, in
# llama-cpp-python and vLLM) close theirs after 5 s idle, and a request written as the server
# closes fails ("Can not write request body": a 502, seen in CI on a loaded machine); aiohttp's
# own default, 15 s, left that window open
KEEPALIVE_S = 2.0


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


class _AiohttpIncoming:
    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response
        self.status = response.status
        self.reason = response.reason or ""
        self.content_type = response.headers.get("content-type", "application/json")

    async def read(self) -> bytes:
        return await self._response.read()

    async def chunks(self) -> AsyncIterator[bytes]:
        async for chunk in self._response.content.iter_any():
            yield chunk

    async def aclose(self) -> None:
        # a body not read to its end closes the connection (vLLM then aborts the request);
        # a complete one goes back to the pool
        self._response.release()
        await self._response.wait_for_close()


class AiohttpSender:
    """One aiohttp pool of up to `limit` connections (made on first use: it needs the loop)."""

    def __init__(self, limit: int, connect_timeout: float) -> None:
        self._limit = limit
        # connect: waiting for a pooled connection included; no read timeout here, the relay
        # keeps its own (first byte, idle)
        self._timeout = aiohttp.ClientTimeout(sock_connect=connect_timeout, connect=connect_timeout)
        self._session: aiohttp.ClientSession | None = None
        self._urls: dict[str, URL] = {}

    async def send(
        self, method: str, url: str, body: bytes | None, headers: Mapping[str, str]
    ) -> Incoming:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._limit, keepalive_timeout=KEEPALIVE_S),
                # no Accept-Encoding: an upstream answers uncompressed, and a relay that must
                # parse every event does not inflate them first
                skip_auto_headers=("Accept-Encoding",),
            )
        parsed = self._urls.get(url)
        if parsed is None:
            parsed = self._urls[url] = URL(url)
        response = await self._session.request(
            method,
            parsed,
            data=body,
            headers=headers,
            timeout=self._timeout,
            allow_redirects=False,
        )
        return _AiohttpIncoming(response)

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()


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
