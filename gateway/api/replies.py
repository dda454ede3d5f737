"""Turn an upstream reply into the response the client gets."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping

import httpx
from starlette.requests import ClientDisconnect
from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from gateway.relay.sse import encode, error_event, rename_model
from gateway.relay.upstream import BufferedReply, Reply, StreamReply
from quantgate.errors import UpstreamError, UpstreamTimeout

log = logging.getLogger("quantgate.gateway")


def to_response(reply: Reply, model: str, headers: Mapping[str, str]) -> Response:
    if isinstance(reply, BufferedReply):
        return _buffered(reply, model, headers)
    return RelayedStream(reply, model, headers)


def _buffered(reply: BufferedReply, model: str, headers: Mapping[str, str]) -> Response:
    body = reply.body
    if 200 <= reply.status < 300 and "json" in reply.content_type:
        body = rename_model(body.decode("utf-8", "replace"), model).encode()
    return Response(
        body, status_code=reply.status, headers=dict(headers), media_type=reply.content_type
    )


class RelayedStream(StreamingResponse):
    """Relays events one by one as they arrive; the upstream is closed however it ends.

    The status line is sent with the first event, so an error after it arrives as an error
    event in the stream (as vLLM does), which the OpenAI SDKs raise as an APIError.
    """

    def __init__(self, reply: StreamReply, model: str, headers: Mapping[str, str]) -> None:
        self.reply = reply
        self.model = model
        super().__init__(
            self._relay(),
            headers={**headers, "cache-control": "no-cache"},
            media_type="text/event-stream",
        )

    async def _relay(self) -> AsyncIterator[bytes]:
        try:
            async for event in self.reply.events():
                yield encode(event, self.model)
        except TimeoutError:
            err: UpstreamError = UpstreamTimeout(
                f"variant stalled: no event for {self.reply.idle_timeout:g} s"
            )
            log.warning("stream aborted: %s", err)
            yield error_event(err.envelope())
        except httpx.HTTPError as exc:
            err = UpstreamError(f"variant stream broke: {exc or type(exc).__name__}")
            log.warning("stream aborted: %s", err)
            yield error_event(err.envelope())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        except ClientDisconnect:
            log.info("client disconnected mid-stream; upstream closed")
        finally:
            await self.reply.aclose()
