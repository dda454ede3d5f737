"""One upstream variant: a pooled transport and the call that opens a reply from it.

`Upstream.open` returns only once the reply can be committed to the client: for a buffered
reply its whole body, for a stream its first event. Everything that goes wrong before that is
raised as an `UpstreamError` so that the caller can fail over; a 4xx from the upstream is the
caller's fault, not the variant's, and is returned as a reply to pass through.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
import anyio
import httpx
from httpx_sse import ServerSentEvent
from httpx_sse._decoders import SSEDecoder, SSELineDecoder  # pinned: constraints.txt

from gateway.relay.sse import dumps
from quantgate.errors import UpstreamError, UpstreamTimeout, UpstreamUnavailable

log = logging.getLogger("quantgate.gateway")


@dataclass
class Timeouts:
    connect: float
    first_byte: float
    idle: float


@dataclass
class BufferedReply:
    """A complete non-streamed answer (or an upstream 4xx to pass through)."""

    status: int
    body: bytes
    content_type: str


@dataclass
class StreamReply:
    """An SSE stream whose first event has arrived; the rest is read lazily, in batches: the
    events that arrived together (one read from the socket) are relayed together, in one
    write, so a fast upstream costs one write per read rather than one per token."""

    first: list[ServerSentEvent]
    rest: AsyncIterator[list[ServerSentEvent]]
    response: httpx.Response
    idle_timeout: float

    async def batches(self) -> AsyncIterator[list[ServerSentEvent]]:
        yield self.first
        while True:
            async with asyncio.timeout(self.idle_timeout):
                try:
                    batch = await anext(self.rest)
                except StopAsyncIteration:
                    return
            yield batch

    async def aclose(self) -> None:
        with anyio.CancelScope(shield=True):
            await self.response.aclose()


Reply = BufferedReply | StreamReply


class Upstream:
    """A variant's OpenAI-compatible server, reached through one pooled transport.

    Requests go straight to the transport (aiohttp's pool in production, a fake in tests):
    a relay needs neither cookies, redirects nor auth flows, and `httpx.AsyncClient`'s
    layers for them cost more than the rest of the relay's own work.
    """

    def __init__(
        self,
        name: str,
        url: str,
        transport: httpx.AsyncBaseTransport,
        *,
        timeouts: Timeouts,
        headers: Mapping[str, str] | None = None,
        served_model: str | None = None,
    ) -> None:
        self.name = name
        self.url = url.rstrip("/") + "/"
        self.transport = transport
        self.timeouts = timeouts
        self.headers = dict(headers or {})
        self._served_model = served_model
        self._urls: dict[str, httpx.URL] = {}
        self._extensions = {
            "timeout": {
                "connect": timeouts.connect,
                "pool": timeouts.connect,
                "read": None,
                "write": None,
            }
        }

    def _request(
        self,
        method: str,
        path: str,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Request:
        url = self._urls.get(path)
        if url is None:
            url = self._urls[path] = httpx.URL(self.url + path)
        merged = {**self.headers, **headers} if headers else self.headers
        if content is not None:
            merged = {**merged, "content-type": "application/json"}
        return httpx.Request(
            method, url, content=content, headers=merged, extensions=self._extensions
        )

    async def served_model(self) -> str:
        """The model name the upstream expects in requests (asked once, then kept)."""
        if self._served_model is None:
            reply = await self._request_json("GET", "models")
            try:
                self._served_model = str(reply["data"][0]["id"])
            except (KeyError, IndexError, TypeError) as exc:
                raise UpstreamError(f"variant {self.name}: /models lists no model") from exc
        return self._served_model

    async def probe(self) -> bool:
        """Is the upstream answering its model list right now?"""
        try:
            await self._request_json("GET", "models")
        except UpstreamError:
            return False
        return True

    async def open(
        self,
        path: str,
        body: dict[str, Any],
        *,
        stream: bool,
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        """Send `body` (its `model` replaced by the served name) and wait for the first byte."""
        payload = dumps({**body, "model": await self.served_model()})
        request = self._request("POST", path, payload, headers)
        try:
            async with asyncio.timeout(self.timeouts.first_byte):  # anyio's costs 3x as much
                response = await self.transport.handle_async_request(request)
                try:
                    return await self._first_reply(response, stream)
                except BaseException:
                    with anyio.CancelScope(shield=True):
                        await response.aclose()
                    raise
        except TimeoutError as exc:
            raise UpstreamTimeout(
                f"variant {self.name} sent nothing within {self.timeouts.first_byte:g} s"
            ) from exc
        except httpx.TransportError as exc:
            raise self._transport_error(exc) from exc

    async def _first_reply(self, response: httpx.Response, stream: bool) -> Reply:
        content_type = response.headers.get("content-type", "application/json")
        if response.status_code >= 500:
            await response.aread()
            detail = _error_message(response.content) or response.reason_phrase
            error = UpstreamUnavailable if response.status_code == 503 else UpstreamError
            raise error(f"variant {self.name} answered {response.status_code}: {detail}")
        if not stream or response.status_code >= 300 or "text/event-stream" not in content_type:
            await response.aread()
            await response.aclose()
            return BufferedReply(response.status_code, response.content, content_type)
        rest = _event_batches(response)
        try:
            first = await anext(rest)
        except StopAsyncIteration as exc:
            raise UpstreamError(f"variant {self.name} closed the stream without an event") from exc
        return StreamReply(first, rest, response, self.timeouts.idle)

    async def _request_json(self, method: str, path: str) -> Any:
        try:
            with anyio.fail_after(self.timeouts.connect + self.timeouts.idle):
                response = await self.transport.handle_async_request(self._request(method, path))
                try:
                    await response.aread()
                finally:
                    await response.aclose()
        except TimeoutError as exc:
            raise UpstreamTimeout(f"variant {self.name}: {path} timed out") from exc
        except httpx.TransportError as exc:
            raise self._transport_error(exc) from exc
        if response.status_code != 200:
            raise UpstreamUnavailable(
                f"variant {self.name}: {path} answered {response.status_code}"
            )
        try:
            return response.json()
        except ValueError as exc:
            raise UpstreamError(f"variant {self.name}: {path} did not answer JSON") from exc

    def _transport_error(self, exc: httpx.TransportError) -> UpstreamError:
        """The client's message names the variant and the kind of failure; the address and
        the OS's reason go to the log only."""
        cause = exc.__cause__  # the transport's own exception (aiohttp's), when it maps one
        kind = type(cause or exc).__name__
        log.warning("variant %s at %s: %s: %s", self.name, self.url, kind, cause or exc)
        if isinstance(cause, aiohttp.ServerDisconnectedError | aiohttp.ClientPayloadError):
            return UpstreamError(f"variant {self.name} failed ({kind})")
        if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
            return UpstreamUnavailable(f"variant {self.name} unreachable ({kind})")
        if isinstance(exc, httpx.TimeoutException):
            return UpstreamTimeout(f"variant {self.name} timed out ({kind})")
        return UpstreamError(f"variant {self.name} failed ({kind})")

    async def aclose(self) -> None:
        await self.transport.aclose()


async def _event_batches(response: httpx.Response) -> AsyncIterator[list[ServerSentEvent]]:
    """The stream's events, one list per read that completed any (httpx-sse's decoders, which
    its own `aiter_sse` uses one event at a time)."""
    lines, events = SSELineDecoder(), SSEDecoder()
    async for text in response.aiter_text():
        batch = [e for line in lines.decode(text) if (e := events.decode(line)) is not None]
        if batch:
            yield batch
    tail = [e for line in lines.flush() if (e := events.decode(line)) is not None]
    if tail:
        yield tail


def _error_message(body: bytes) -> str | None:
    """The message of an OpenAI error envelope, or the start of a non-JSON body."""
    try:
        data = json.loads(body)
    except ValueError:
        return body[:200].decode("utf-8", "replace").strip() or None
    if isinstance(data, dict):
        err = data.get("error", data)
        if isinstance(err, dict) and "message" in err:
            return str(err["message"])
        if isinstance(err, str):
            return err
        if "detail" in data:
            return str(data["detail"])
    return None
