"""A small OpenAI-compatible server with latency and fault knobs, for tests and benchmarks.

It speaks `/v1/models`, `/v1/completions` and `/v1/chat/completions`, streaming or not, the
way vLLM does: a chat stream starts with a role-only chunk, content tokens follow after
`ttft_ms` and then one chunk every `itl_ms * tokens_per_chunk`, and with
`stream_options.include_usage` the last chunk carries `usage` and no choices.

Prompt tokens are counted as whitespace-separated words; the completion is the words
`tok0 tok1 ...`, one per token, so a client can check what it received. It honours `n`, `stop`
(the text ends before the first stop string, `finish_reason: stop`), `logprobs` (a fixed -0.5
per token), `echo`, `max_completion_tokens` and a JSON `response_format`; it is deterministic,
so any `seed` holds. `/metrics` shows vLLM's scheduler gauges: with `max_running`, generations
beyond it wait (`vllm:num_requests_waiting`) as they would in vLLM's queue.
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
    max_running: int | None = Field(
        None, ge=1, description="generations at once, as vLLM's max_num_seqs; more wait"
    )


class _Dropped(Exception):
    """Raised inside a stream to cut the connection like a crashed engine."""


def create_mock_app(config: MockConfig | None = None) -> Starlette:
    cfg = config or MockConfig()
    created = int(time.time())
    slots = asyncio.Semaphore(cfg.max_running or 2**31)
    counts = {"running": 0, "waiting": 0}

    async def metrics(_: Request) -> Response:
        """vLLM's scheduler gauges (what gateway/engines/load.py reads)."""
        lines = []
        for state in ("running", "waiting"):
            name = f"vllm:num_requests_{state}"
            lines += [
                f"# HELP {name} Number of requests {state}.",
                f"# TYPE {name} gauge",
                f'{name}{{engine="0",model_name="{cfg.model}"}} {float(counts[state])}',
            ]
        return Response("\n".join(lines) + "\n", media_type="text/plain; version=0.0.4")

    async def take_slot() -> None:
        counts["waiting"] += 1
        try:
            await slots.acquire()
        finally:
            counts["waiting"] -= 1
        counts["running"] += 1

    def free_slot() -> None:
        counts["running"] -= 1
        slots.release()

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
        pieces, finish = _generate_pieces(n_out, body.get("stop"), _wants_json(body))
        choices: int = body["n"] if isinstance(body.get("n"), int) else 1
        usage = {
            "prompt_tokens": n_in,
            "completion_tokens": len(pieces) * choices,
            "total_tokens": n_in + len(pieces) * choices,
        }
        rid = f"{'chatcmpl' if chat else 'cmpl'}-{uuid.uuid4().hex[:16]}"
        prompt = body.get("prompt")
        echo = prompt if not chat and body.get("echo") and isinstance(prompt, str) else ""
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            stream = _stream(rid, chat, pieces, finish, usage if include_usage else None, body)
            return StreamingResponse(_freeing(stream), media_type="text/event-stream")
        await take_slot()
        try:
            await asyncio.sleep((cfg.ttft_ms + cfg.itl_ms * (max(len(pieces), 1) - 1)) / 1000)
        finally:
            free_slot()
        text = "".join(pieces)
        out = []
        for index in range(choices):
            choice: dict[str, Any] = {
                "index": index,
                "finish_reason": finish,
                "logprobs": _logprobs(pieces, body, chat),
            }
            if chat:
                choice["message"] = {"role": "assistant", "content": text}
            else:
                choice["text"] = echo + text
            out.append(choice)
        return JSONResponse(
            {
                "id": rid,
                "object": "chat.completion" if chat else "text_completion",
                "created": int(time.time()),
                "model": cfg.model,
                "choices": out,
                "usage": usage,
            }
        )

    async def _freeing(stream: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        await take_slot()  # here, not before the response: a stream that never starts holds none
        try:
            async for part in stream:
                yield part
        finally:
            free_slot()

    async def _stream(
        rid: str,
        chat: bool,
        pieces: list[str],
        finish: str,
        usage: dict[str, int] | None,
        body: dict[str, Any],
    ) -> AsyncIterator[bytes]:
        obj = "chat.completion.chunk" if chat else "text_completion"
        choices: int = body["n"] if isinstance(body.get("n"), int) else 1

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

        def choice(index: int, text: str, end: str | None, role: bool = False) -> dict[str, Any]:
            part: dict[str, Any] = {"index": index, "finish_reason": end}
            logprobs = _logprobs([text], body, chat) if text else None
            if chat:
                part["delta"] = (
                    {"role": "assistant", "content": text} if role else {"content": text}
                )
            else:
                part["text"] = text
            part["logprobs"] = logprobs
            return part

        if chat:
            for index in range(choices):
                yield chunk([choice(index, "", None, role=True)])
        prompt = body.get("prompt")
        if not chat and body.get("echo") and isinstance(prompt, str):
            for index in range(choices):
                yield chunk([{"index": index, "text": prompt, "finish_reason": None}])
        await asyncio.sleep(cfg.ttft_ms / 1000)
        sent = 0
        if not pieces:
            for index in range(choices):
                yield chunk([choice(index, "", finish)])
        while sent < len(pieces):
            if cfg.fail_after_tokens is not None and sent >= cfg.fail_after_tokens:
                raise _Dropped(f"mock dropped the stream after {sent} tokens")
            if sent:
                await asyncio.sleep(cfg.itl_ms * cfg.tokens_per_chunk / 1000)
            k = min(cfg.tokens_per_chunk, len(pieces) - sent)
            text = "".join(pieces[sent : sent + k])
            sent += k
            end = finish if sent == len(pieces) else None
            for index in range(choices):
                yield chunk([choice(index, text, end)])
        if usage is not None:
            yield chunk([], usage=usage)
        yield b"data: [DONE]\n\n"

    routes = [
        Route("/v1/models", models, methods=["GET"]),
        Route("/v1/chat/completions", chat, methods=["POST"]),
        Route("/v1/completions", completions, methods=["POST"]),
        Route("/health", lambda _: JSONResponse({"status": "ok"}), methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
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


def _wants_json(body: dict[str, Any]) -> bool:
    fmt = body.get("response_format")
    return isinstance(fmt, dict) and fmt.get("type") in ("json_object", "json_schema")


def _generate_pieces(n_out: int, stop: Any, as_json: bool = False) -> tuple[list[str], str]:
    """The tokens ` tok0 tok1 ...` up to `n_out`, cut before the first `stop` string; as a
    JSON object `{"text": "tok0 tok1 ..."}` that fits `n_out` when JSON is asked for."""
    if as_json:
        words = [f"{' ' if i else ''}tok{i}" for i in range(max(n_out - 2, 0))]
        return ['{"text": "', *words, '"}'][:n_out], "stop" if n_out >= 2 else "length"
    stops = [stop] if isinstance(stop, str) else [s for s in stop or () if isinstance(s, str)]
    text, pieces = "", []
    for i in range(n_out):
        candidate = text + f" tok{i}"
        hits = [candidate.find(s) for s in stops if s and s in candidate]
        if hits:
            if min(hits) > len(text):
                pieces.append(candidate[len(text) : min(hits)])
            return pieces, "stop"
        pieces.append(candidate[len(text) :])
        text = candidate
    return pieces, "length"


def _logprobs(pieces: list[str], body: dict[str, Any], chat: bool) -> dict[str, Any] | None:
    """A fixed log-probability of -0.5 per token, in the completions or the chat shape."""
    if chat:
        if not body.get("logprobs"):
            return None
        top = int(body.get("top_logprobs") or 0)
        entry = [{"token": p, "logprob": -0.5, "bytes": list(p.encode())} for p in pieces]
        return {"content": [{**e, "top_logprobs": [e] * top} for e in entry]}
    if body.get("logprobs") is None:
        return None
    return {
        "tokens": pieces,
        "token_logprobs": [-0.5] * len(pieces),
        "top_logprobs": [{p: -0.5} for p in pieces],
        "text_offset": [sum(len(q) for q in pieces[:i]) for i in range(len(pieces))],
    }


def _error(status: int, message: str, param: str | None = None) -> JSONResponse:
    kind = "invalid_request_error" if status < 500 else "server_error"
    return JSONResponse(
        {"error": {"message": message, "type": kind, "param": param, "code": status}},
        status_code=status,
    )
