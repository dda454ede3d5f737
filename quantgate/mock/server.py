"""A small OpenAI-compatible server with latency and fault knobs, for tests and benchmarks.

It speaks `/v1/models`, `/v1/completions` and `/v1/chat/completions`, streaming or not, the
way vLLM does: a chat stream starts with a role-only chunk, content tokens follow after
`ttft_ms` and then one chunk every `itl_ms * tokens_per_chunk`, and with
`stream_options.include_usage` the last chunk carries `usage` and no choices.

Prompt tokens are counted as whitespace-separated words; the completion is the words
`tok0 tok1 ...`, one per token, so a client can check what it received.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from pydantic import BaseModel, Field
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route


class MockConfig(BaseModel):
    model: str = "mock-model"
    ttft_ms: float = Field(0.0, ge=0, description="delay before the first content token")
    itl_ms: float = Field(0.0, ge=0, description="delay between two content tokens")
    output_tokens: int = Field(16, ge=1, description="tokens generated when max_tokens is unset")
    tokens_per_chunk: int = Field(1, ge=1, description="tokens sent in one streamed chunk")
    fail_status: int | None = Field(None, description="answer every generation with this status")
    fail_after_tokens: int | None = Field(
        None, ge=0, description="drop the connection after this many streamed tokens"
    )


class _Dropped(Exception):
    """Raised inside a stream to cut the connection like a crashed engine."""


def create_mock_app(config: MockConfig | None = None) -> Starlette:
    cfg = config or MockConfig()
    created = int(time.time())

    async def models(_: Request) -> Response:
        card = {"id": cfg.model, "object": "model", "created": created, "owned_by": "mock"}
        return JSONResponse({"object": "list", "data": [card]})

    async def chat(request: Request) -> Response:
        return await _generate(request, chat=True)

    async def completions(request: Request) -> Response:
        return await _generate(request, chat=False)

    async def _generate(request: Request, *, chat: bool) -> Response:
        try:
            body = await request.json()
        except ValueError:
            return _error(400, "body is not JSON")
        if body.get("model") != cfg.model:
            return _error(404, f"The model `{body.get('model')}` does not exist.", "model")
        if cfg.fail_status is not None:
            return _error(cfg.fail_status, f"mock failure {cfg.fail_status}")
        n_out = int(
            body.get("max_tokens") or body.get("max_completion_tokens") or cfg.output_tokens
        )
        n_in = _count_prompt_words(body, chat)
        usage = {"prompt_tokens": n_in, "completion_tokens": n_out, "total_tokens": n_in + n_out}
        rid = f"{'chatcmpl' if chat else 'cmpl'}-{uuid.uuid4().hex[:16]}"
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            stream = _stream(rid, chat, n_out, usage if include_usage else None, body)
            return StreamingResponse(stream, media_type="text/event-stream")
        await asyncio.sleep((cfg.ttft_ms + cfg.itl_ms * (n_out - 1)) / 1000)
        text = _text(0, n_out)
        choice: dict[str, Any] = {"index": 0, "finish_reason": "length", "logprobs": None}
        if chat:
            choice["message"] = {"role": "assistant", "content": text}
        else:
            prompt = body.get("prompt")
            echo = prompt if body.get("echo") and isinstance(prompt, str) else ""
            choice["text"] = echo + text
        return JSONResponse(
            {
                "id": rid,
                "object": "chat.completion" if chat else "text_completion",
                "created": int(time.time()),
                "model": cfg.model,
                "choices": [choice],
                "usage": usage,
            }
        )

    async def _stream(
        rid: str, chat: bool, n_out: int, usage: dict[str, int] | None, body: dict[str, Any]
    ) -> AsyncIterator[bytes]:
        obj = "chat.completion.chunk" if chat else "text_completion"

        def chunk(choices: list[dict[str, Any]], **extra: Any) -> bytes:
            data = {
                "id": rid,
                "object": obj,
                "created": int(time.time()),
                "model": cfg.model,
                "choices": choices,
                **extra,
            }
            return f"data: {json.dumps(data)}\n\n".encode()

        if chat:
            yield chunk(
                [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]
            )
        await asyncio.sleep(cfg.ttft_ms / 1000)
        sent = 0
        while sent < n_out:
            if cfg.fail_after_tokens is not None and sent >= cfg.fail_after_tokens:
                raise _Dropped(f"mock dropped the stream after {sent} tokens")
            if sent:
                await asyncio.sleep(cfg.itl_ms * cfg.tokens_per_chunk / 1000)
            k = min(cfg.tokens_per_chunk, n_out - sent)
            text = _text(sent, k)
            sent += k
            finish = "length" if sent == n_out else None
            if chat:
                yield chunk([{"index": 0, "delta": {"content": text}, "finish_reason": finish}])
            else:
                yield chunk([{"index": 0, "text": text, "finish_reason": finish, "logprobs": None}])
        if usage is not None:
            yield chunk([], usage=usage)
        yield b"data: [DONE]\n\n"

    routes = [
        Route("/v1/models", models, methods=["GET"]),
        Route("/v1/chat/completions", chat, methods=["POST"]),
        Route("/v1/completions", completions, methods=["POST"]),
        Route("/health", lambda _: JSONResponse({"status": "ok"}), methods=["GET"]),
    ]
    return Starlette(routes=routes)


def _count_prompt_words(body: dict[str, Any], chat: bool) -> int:
    if chat:
        parts = [m.get("content") for m in body.get("messages", []) if isinstance(m, dict)]
        text = " ".join(p for p in parts if isinstance(p, str))
    else:
        prompt = body.get("prompt", "")
        text = prompt if isinstance(prompt, str) else " ".join(map(str, prompt))
    return len(text.split())


def _text(start: int, count: int) -> str:
    return "".join(f" tok{i}" for i in range(start, start + count))


def _error(status: int, message: str, param: str | None = None) -> JSONResponse:
    kind = "invalid_request_error" if status < 500 else "server_error"
    return JSONResponse(
        {"error": {"message": message, "type": kind, "param": param, "code": status}},
        status_code=status,
    )
