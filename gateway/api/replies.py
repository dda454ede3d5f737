"""Turn an upstream reply into the response the client gets."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

from httpx_sse import ServerSentEvent
from starlette.requests import ClientDisconnect
from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from gateway.api.disconnect import unless_disconnected
from gateway.metrics.record import RequestRecord
from gateway.relay.sse import (
    data_event,
    encode,
    error_event,
    is_usage_only,
    parse,
    rename_model,
)
from gateway.relay.transport import BROKEN
from gateway.relay.upstream import BufferedReply, Reply, StreamReply
from quantgate.errors import StreamIncomplete, UpstreamError, UpstreamTimeout
from quantgate.streams import DONE, StreamTally

log = logging.getLogger("quantgate.gateway")

PromptCount = Callable[[], Awaitable[int | None]]  # the exact prompt tokens, when known


def to_response(
    reply: Reply,
    model: str,
    headers: Mapping[str, str],
    record: RequestRecord,
    *,
    keep_usage: bool = True,
    choices: int = 1,
    prompt_tokens: PromptCount | None = None,
) -> Response:
    """The client's response; `keep_usage=False` drops the usage-only last chunk of a stream
    (the gateway asked for it for its metrics; the client did not). A stream must finish
    `choices` choices; `prompt_tokens` counts the prompt when the upstream sends no usage."""
    if isinstance(reply, BufferedReply):
        return _buffered(reply, model, headers, record)
    return RelayedStream(
        reply,
        model,
        headers,
        record,
        keep_usage=keep_usage,
        choices=choices,
        prompt_tokens=prompt_tokens,
    )


def _buffered(
    reply: BufferedReply, model: str, headers: Mapping[str, str], record: RequestRecord
) -> Response:
    body = reply.body
    if 200 <= reply.status < 300 and "json" in reply.content_type:
        obj = parse(body)
        record.observe(obj)
        body = rename_model(body, obj, model)
    return Response(
        body, status_code=reply.status, headers=dict(headers), media_type=reply.content_type
    )


class RelayedStream(StreamingResponse):
    """Relays events one by one as they arrive; the upstream is closed however it ends.

    The status line is sent with the first event, so an error after it arrives as an error
    event in the stream (as vLLM does), which the OpenAI SDKs raise as an APIError. A stream
    ends either complete (every choice finished, then `[DONE]`) or with exactly one error
    event and nothing after it: the upstream's `[DONE]` is held back until the stream is known
    to be complete, so a cut answer never looks like a finished one.
    """

    def __init__(
        self,
        reply: StreamReply,
        model: str,
        headers: Mapping[str, str],
        record: RequestRecord,
        *,
        keep_usage: bool,
        choices: int = 1,
        prompt_tokens: PromptCount | None = None,
    ) -> None:
        self.reply = reply
        self.model = model
        self.record = record
        self.keep_usage = keep_usage
        self.tally = StreamTally(choices=choices)
        self.prompt_tokens = prompt_tokens
        super().__init__(
            self._relay(),
            headers={**headers, "cache-control": "no-cache"},
            media_type="text/event-stream",
        )

    async def _relay(self) -> AsyncIterator[bytes]:
        err: UpstreamError | None = None
        done = False
        try:
            async for batch in self.reply.batches():
                out, done, aborted = self._relay_batch(batch)
                if out:
                    yield b"".join(out)
                if done or aborted:
                    break
        except TimeoutError:
            err = UpstreamTimeout(f"variant stalled: no event for {self.reply.idle_timeout:g} s")
        except BROKEN as exc:
            err = UpstreamError(f"variant stream broke: {exc or type(exc).__name__}")
        if self.record.stream_error is not None:  # the upstream's own error event: relayed
            return
        if err is None and not self.tally.complete:
            end = "sent [DONE]" if done else "closed the stream"
            err = StreamIncomplete(
                f"variant {self.record.variant} {end} before {self.tally.missing()} finished "
                f"(no finish_reason after {self.tally.tokens} token events)"
            )
        elif err is None and not done:
            err = StreamIncomplete(f"variant {self.record.variant} closed the stream before [DONE]")
        if err is not None:
            log.warning("stream aborted: %s", err)
            self.record.stream_error = err.code
            yield error_event(err.envelope())
            return
        if self.tally.usage is None:
            chunk = await self._usage_chunk()
            if chunk is not None and self.keep_usage:
                yield data_event(chunk)
        yield f"data: {DONE}\n\n".encode()

    def _relay_batch(self, batch: list[ServerSentEvent]) -> tuple[list[bytes], bool, bool]:
        """The bytes to send for events that arrived together; whether `[DONE]` came, and
        whether the upstream aborted the stream with an error event (relayed as the last)."""
        out: list[bytes] = []
        for event in batch:
            if event.data.strip() == DONE:
                return out, True, False
            obj = parse(event.data)
            if isinstance(obj, dict) and "error" in obj:  # the upstream's own error event
                self.record.stream_error = UpstreamError.code
                log.warning("stream aborted by the variant: %s", event.data[:300])
                out.append(encode(event, obj, self.model))
                return out, False, True
            self.record.observe(obj)
            self.tally.observe(obj)
            if self.keep_usage or not is_usage_only(obj):
                out.append(encode(event, obj, self.model))
        return out, False, False

    async def _usage_chunk(self) -> dict[str, Any] | None:
        """The upstream sent no usage (llama-cpp-python never does): the gateway's own counts,
        when it has an exact prompt count for the variant."""
        prompt = await self.prompt_tokens() if self.prompt_tokens is not None else None
        if prompt is None:
            return None
        chunk = self.tally.usage_chunk(prompt, self.model)
        self.record.observe(chunk)
        return chunk

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:  # not Starlette's way, a task group per stream (see `unless_disconnected`)
            await unless_disconnected(receive, self.stream_response(send))
        except (ClientDisconnect, OSError):  # OSError: how ASGI 2.4 servers say it
            log.info("client disconnected mid-stream; upstream closed")
        finally:
            await self.reply.aclose()
