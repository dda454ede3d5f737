"""Turn an upstream reply into the response the client gets."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping

import httpx
from starlette.requests import ClientDisconnect
from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from gateway.metrics.record import RequestRecord
from gateway.relay.sse import encode, error_event, is_usage_only, parse, rename_model
from gateway.relay.upstream import BufferedReply, Reply, StreamReply
from quantgate.errors import UpstreamError, UpstreamTimeout

log = logging.getLogger("quantgate.gateway")


def to_response(
    reply: Reply,
    model: str,
    headers: Mapping[str, str],
    record: RequestRecord,
    *,
    keep_usage: bool = True,
) -> Response:
    """The client's response; `keep_usage=False` drops the usage-only last chunk of a stream
    (the gateway asked for it for its metrics; the client did not)."""
    if isinstance(reply, BufferedReply):
        return _buffered(reply, model, headers, record)
    return RelayedStream(reply, model, headers, record, keep_usage=keep_usage)


def _buffered(
    reply: BufferedReply, model: str, headers: Mapping[str, str], record: RequestRecord
) -> Response:
    body = reply.body
    if 200 <= reply.status < 300 and "json" in reply.content_type:
        text = body.decode("utf-8", "replace")
        obj = parse(text)
        record.observe(obj)
        body = rename_model(text, obj, model).encode()
    return Response(
        body, status_code=reply.status, headers=dict(headers), media_type=reply.content_type
    )


class RelayedStream(StreamingResponse):
    """Relays events one by one as they arrive; the upstream is closed however it ends.

    The status line is sent with the first event, so an error after it arrives as an error
    event in the stream (as vLLM does), which the OpenAI SDKs raise as an APIError.
    """

    def __init__(
        self,
        reply: StreamReply,
        model: str,
        headers: Mapping[str, str],
        record: RequestRecord,
        *,
        keep_usage: bool,
    ) -> None:
        self.reply = reply
        self.model = model
        self.record = record
        self.keep_usage = keep_usage
        super().__init__(
            self._relay(),
            headers={**headers, "cache-control": "no-cache"},
            media_type="text/event-stream",
        )

    async def _relay(self) -> AsyncIterator[bytes]:
        err: UpstreamError | None = None
        try:
            async for event in self.reply.events():
                obj = parse(event.data)
                self.record.observe(obj)
                if self.keep_usage or not is_usage_only(obj):
                    yield encode(event, obj, self.model)
        except TimeoutError:
            err = UpstreamTimeout(f"variant stalled: no event for {self.reply.idle_timeout:g} s")
        except httpx.HTTPError as exc:
            err = UpstreamError(f"variant stream broke: {exc or type(exc).__name__}")
        if err is not None:
            log.warning("stream aborted: %s", err)
            self.record.stream_error = err.code
            yield error_event(err.envelope())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        except ClientDisconnect:
            log.info("client disconnected mid-stream; upstream closed")
        finally:
            await self.reply.aclose()
