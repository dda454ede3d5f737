"""Fake upstreams at the network seam: an httpx transport that answers per host."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import anyio
import httpx

from quantgate.mock import MockConfig, create_mock_app

Handler = Callable[[httpx.Request], Awaitable[httpx.Response]]


class ScriptedStream(httpx.AsyncByteStream):
    """An SSE body sent piece by piece; a piece may be an event to wait for or an error."""

    def __init__(self, pieces: list[bytes | anyio.Event | Exception]) -> None:
        self.pieces = pieces
        self.sent: list[bytes] = []
        self.closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for piece in self.pieces:
            if isinstance(piece, anyio.Event):
                await piece.wait()
            elif isinstance(piece, Exception):
                raise piece
            else:
                self.sent.append(piece)
                yield piece

    async def aclose(self) -> None:
        self.closed = True


def sse(data: dict[str, Any] | str) -> bytes:
    text = data if isinstance(data, str) else json.dumps(data)
    return f"data: {text}\n\n".encode()


def chunk(model: str, content: str, finish: str | None = None, index: int = 0) -> bytes:
    return sse(
        {
            "id": "c1",
            "object": "chat.completion.chunk",
            "model": model,
            "choices": [{"index": index, "delta": {"content": content}, "finish_reason": finish}],
        }
    )


class FakeUpstreams(httpx.AsyncBaseTransport):
    """Routes each request by host (`<variant>.test`) to that variant's behaviour.

    By default a variant is the mock OpenAI server serving the model `up-<variant>`;
    `set(variant, handler)` replaces it. Every JSON request body is recorded per variant.
    """

    def __init__(self, variants: list[str]) -> None:
        self.handlers: dict[str, Handler] = {v: self._mock(v) for v in variants}
        self.received: dict[str, list[dict[str, Any]]] = {v: [] for v in variants}
        self.headers: dict[str, list[httpx.Headers]] = {v: [] for v in variants}

    @staticmethod
    def _mock(variant: str) -> Handler:
        transport = httpx.ASGITransport(app=create_mock_app(MockConfig(model=f"up-{variant}")))

        async def handle(request: httpx.Request) -> httpx.Response:
            return await transport.handle_async_request(request)

        return handle

    def set(self, variant: str, handler: Handler) -> None:
        self.handlers[variant] = handler

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        variant = request.url.host.removesuffix(".test")
        if request.method == "POST":
            self.received[variant].append(json.loads(await request.aread()))
            self.headers[variant].append(request.headers)
        return await self.handlers[variant](request)


def down(message: str = "connection refused") -> Handler:
    async def handle(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(message, request=request)

    return handle


def status(code: int, message: str = "boom") -> Handler:
    async def handle(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return httpx.Response(200, json={"data": [{"id": "x"}]})
        body = {"error": {"message": message, "type": "x", "param": None, "code": code}}
        return httpx.Response(code, json=body)

    return handle


def hang() -> Handler:
    async def handle(request: httpx.Request) -> httpx.Response:
        await anyio.sleep_forever()
        raise AssertionError("unreachable")

    return handle


def streaming(stream: ScriptedStream) -> Handler:
    async def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=stream)

    return handle


class AsgiCall:
    """A client at the ASGI level (httpx's ASGITransport buffers whole responses and cannot
    disconnect early): it sends `body`, then waits; `disconnected.set()` makes it leave."""

    def __init__(self, app: Any, body: dict[str, Any], spec_version: str) -> None:
        self.app = app
        self.pending = [
            {"type": "http.request", "body": json.dumps(body).encode(), "more_body": False}
        ]
        self.disconnected = anyio.Event()
        self.bodies: list[bytes] = []
        self.status: int | None = None
        self.scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": spec_version},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": "/v1/chat/completions",
            "raw_path": b"/v1/chat/completions",
            "query_string": b"",
            "root_path": "",
            "client": ("127.0.0.1", 5000),
            "server": ("gw", 80),
            "headers": [(b"content-type", b"application/json")],
        }

    async def receive(self) -> dict[str, Any]:
        if self.pending:
            return self.pending.pop(0)
        await self.disconnected.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: dict[str, Any]) -> None:
        if self.disconnected.is_set():
            raise OSError("client went away")
        if message["type"] == "http.response.start":
            self.status = message["status"]
        elif message.get("body"):
            self.bodies.append(message["body"])
            await self.on_body(message["body"])

    async def on_body(self, body: bytes) -> None:
        pass

    async def run(self) -> None:
        await self.app(self.scope, self.receive, self.send)
