"""One upstream variant: a pooled sender and the call that opens a reply from it.

`Upstream.open` returns only once the reply can be committed to the client: for a buffered
reply its whole body, for a stream its first event. Everything that goes wrong before that is
raised as an `UpstreamError` so that the caller can fail over; a 4xx from the upstream is the
caller's fault, not the variant's, and is returned as a reply to pass through.
"""

from __future__ import annotations

import asyncio
import codecs
import json
import logging
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import anyio
import httpx
import orjson
from httpx_sse import ServerSentEvent
from httpx_sse._decoders import SSEDecoder, SSELineDecoder  # pinned: constraints.txt

from gateway.relay.http1 import ConnectError, HttpError
from gateway.relay.sse import dumps
from gateway.relay.transport import Incoming, Sender
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
    response: Incoming
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
    """A variant's OpenAI-compatible server, reached through one pooled sender
    (gateway/relay/transport.py: the gateway's own pool in production, an httpx transport in
    tests)."""

    def __init__(
        self,
        name: str,
        url: str,
        sender: Sender,
        *,
        timeouts: Timeouts,
        headers: Mapping[str, str] | None = None,
        served_model: str | None = None,
    ) -> None:
        self.name = name
        self.url = url.rstrip("/") + "/"
        self.sender = sender
        self.timeouts = timeouts
        self.headers = dict(headers or {})
        self._json_headers = {**self.headers, "content-type": "application/json"}
        self._served_model = served_model

    async def _send(
        self,
        method: str,
        path: str,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Incoming:
        merged = self.headers if content is None else self._json_headers
        if headers:
            merged = {**merged, **headers}
        return await self.sender.send(method, self.url + path, content, merged)

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
        try:
            async with asyncio.timeout(self.timeouts.first_byte):  # anyio's costs 3x as much
                response = await self._send("POST", path, payload, headers)
                try:
                    return await self._first_reply(response, stream)
                except BaseException:
                    with anyio.CancelScope(shield=True):
                        await response.aclose()
                    raise
        except (httpx.TransportError, HttpError) as exc:
            raise self._transport_error(exc) from exc
        except TimeoutError as exc:
            raise UpstreamTimeout(
                f"variant {self.name} sent nothing within {self.timeouts.first_byte:g} s"
            ) from exc

    async def _first_reply(self, response: Incoming, stream: bool) -> Reply:
        content_type = response.content_type
        if response.status >= 500:
            detail = _error_message(await response.read()) or response.reason
            await response.aclose()
            error = UpstreamUnavailable if response.status == 503 else UpstreamError
            raise error(f"variant {self.name} answered {response.status}: {detail}")
        if not stream or response.status >= 300 or "text/event-stream" not in content_type:
            body = await response.read()
            await response.aclose()
            return BufferedReply(response.status, body, content_type)
        rest = _event_batches(response)
        try:
            first = await anext(rest)
        except StopAsyncIteration as exc:
            raise UpstreamError(f"variant {self.name} closed the stream without an event") from exc
        return StreamReply(first, rest, response, self.timeouts.idle)

    async def _request_json(self, method: str, path: str) -> Any:
        try:
            async with asyncio.timeout(self.timeouts.connect + self.timeouts.idle):
                response = await self._send(method, path)
                try:
                    body = await response.read()
                finally:
                    await response.aclose()
        except (httpx.TransportError, HttpError) as exc:
            raise self._transport_error(exc) from exc
        except TimeoutError as exc:
            raise UpstreamTimeout(f"variant {self.name}: {path} timed out") from exc
        if response.status != 200:
            raise UpstreamUnavailable(f"variant {self.name}: {path} answered {response.status}")
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise UpstreamError(f"variant {self.name}: {path} did not answer JSON") from exc

    def _transport_error(self, exc: httpx.TransportError | HttpError) -> UpstreamError:
        """The client's message names the variant and the kind of failure; the address and
        the OS's reason go to the log only. httpx's errors (a caller's transport) may wrap
        the cause that names it."""
        cause = exc.__cause__ if isinstance(exc, httpx.TransportError) else exc
        kind = type(cause or exc).__name__
        log.warning("variant %s at %s: %s: %s", self.name, self.url, kind, cause or exc)
        if isinstance(cause, HttpError) and not isinstance(cause, ConnectError):
            return UpstreamError(f"variant {self.name} failed ({kind})")
        if isinstance(
            exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout | ConnectError
        ):
            return UpstreamUnavailable(f"variant {self.name} unreachable ({kind})")
        if isinstance(exc, httpx.TimeoutException):
            return UpstreamTimeout(f"variant {self.name} timed out ({kind})")
        return UpstreamError(f"variant {self.name} failed ({kind})")

    async def aclose(self) -> None:
        await self.sender.aclose()


async def _event_batches(response: Incoming) -> AsyncIterator[list[ServerSentEvent]]:
    """The stream's events, one list per read that completed any (httpx-sse's decoders, which
    its own `aiter_sse` uses one event at a time)."""
    text, lines, events = (
        codecs.getincrementaldecoder("utf-8")("replace"),
        SSELineDecoder(),
        SSEDecoder(),
    )
    async for chunk in response.chunks():
        batch = [
            e for line in lines.decode(text.decode(chunk)) if (e := events.decode(line)) is not None
        ]
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
