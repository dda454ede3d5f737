"""Send one request and record when each streamed content event arrived."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
from httpx_sse import EventSource

from loadtest.types import RequestResult
from quantgate.streams import DONE, StreamTally, expected_choices, has_content


async def send(
    client: httpx.AsyncClient,
    path: str,
    body: dict[str, Any],
    *,
    index: int,
    variant: str,
    scheduled: float,
) -> RequestResult:
    stream = bool(body.get("stream"))
    result = RequestResult(index, variant, scheduled, start=time.perf_counter(), stream=stream)
    try:
        if stream:
            await _streamed(client, path, body, result)
        else:
            await _buffered(client, path, body, result)
    except httpx.TimeoutException:
        result.status, result.error = "errored", "timeout"
    except httpx.ConnectError:
        result.status, result.error = "errored", "connect"
    except httpx.HTTPError as exc:
        result.status, result.error = "errored", f"transport:{type(exc).__name__}"
    finally:
        result.end = time.perf_counter()
    return result


async def _streamed(
    client: httpx.AsyncClient, path: str, body: dict[str, Any], result: RequestResult
) -> None:
    """Token times and usage of a stream; one that ends without finishing every choice, or
    without `[DONE]`, is an error: a cut answer is not a completed request."""
    tally = StreamTally(choices=expected_choices(body))
    done = False
    async with client.stream("POST", path, json=body) as response:
        result.http_status = response.status_code
        if response.status_code >= 400:
            await response.aread()
            result.status, result.error = "errored", f"http_{response.status_code}"
            return
        async for event in EventSource(response).aiter_sse():
            if event.data == DONE:
                done = True
                break
            now = time.perf_counter()
            try:
                obj = json.loads(event.data)
            except ValueError:
                continue
            if "error" in obj:
                result.status, result.error = "errored", "stream"
                return
            if any(has_content(c) for c in obj.get("choices") or ()):
                result.token_times.append(now)
            tally.observe(obj)
            _usage(obj, result)
    if not (done and tally.complete):
        result.status, result.error = "errored", "incomplete"


async def _buffered(
    client: httpx.AsyncClient, path: str, body: dict[str, Any], result: RequestResult
) -> None:
    response = await client.post(path, json=body)
    result.http_status = response.status_code
    if response.status_code >= 400:
        result.status, result.error = "errored", f"http_{response.status_code}"
        return
    _usage(response.json(), result)


def _usage(obj: dict[str, Any], result: RequestResult) -> None:
    usage = obj.get("usage")
    if isinstance(usage, dict):
        result.prompt_tokens = usage.get("prompt_tokens", result.prompt_tokens)
        result.completion_tokens = usage.get("completion_tokens", result.completion_tokens)
