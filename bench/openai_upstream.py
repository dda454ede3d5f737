"""A minimal OpenAI upstream on raw asyncio, fast enough never to be what a benchmark measures.

`POST .../chat/completions` answers at once: a chat completion of 16 tokens, or with
`"stream": true` a stream of 16 content chunks (the last with `finish_reason`), a usage chunk
when `stream_options.include_usage` asks for it, and `[DONE]`, each chunk its own write in
chunked encoding. `GET .../models` lists the one model; anything else is 404. HTTP/1.1
keep-alive, one request at a time per connection (what every client here sends).

    python bench/openai_upstream.py PORT [MODEL]
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

CHUNKS = 16


def _chat(model: str) -> bytes:
    return json.dumps(
        {
            "id": "chatcmpl-bench",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": " tok" * CHUNKS},
                    "finish_reason": "length",
                }
            ],
            "usage": {"prompt_tokens": 12, "completion_tokens": CHUNKS, "total_tokens": 28},
        },
        separators=(",", ":"),
    ).encode()


def _events(model: str, usage: bool) -> list[bytes]:
    head = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 0, "model": model}
    events = []
    for i in range(CHUNKS):
        last = i == CHUNKS - 1
        delta = {"role": "assistant", "content": " tok"} if i == 0 else {"content": " tok"}
        choice = {"index": 0, "delta": delta, "finish_reason": "length" if last else None}
        events.append({**head, "choices": [choice]})
    if usage:
        counts = {"prompt_tokens": 12, "completion_tokens": CHUNKS, "total_tokens": 28}
        events.append({**head, "choices": [], "usage": counts})
    out = [b"data: " + json.dumps(e, separators=(",", ":")).encode() + b"\n\n" for e in events]
    return [*out, b"data: [DONE]\n\n"]


def _chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


class Upstream(asyncio.Protocol):
    def __init__(self, model: str) -> None:
        self.model = model
        self.buffer = b""
        self.transport: asyncio.Transport | None = None
        self.models = json.dumps(
            {"object": "list", "data": [{"id": model, "object": "model", "owned_by": "bench"}]}
        ).encode()
        self.chat = _chat(model)
        self.streams = {usage: [_chunk(e) for e in _events(model, usage)] for usage in (0, 1)}

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end].decode("latin-1")
            length = 0
            for line in head.split("\r\n")[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            if len(self.buffer) < end + 4 + length:
                return
            body = self.buffer[end + 4 : end + 4 + length]
            self.buffer = self.buffer[end + 4 + length :]
            self._answer(head.split(" ", 2), body)

    def _answer(self, line: list[str], body: bytes) -> None:
        assert self.transport is not None
        method, path = line[0], line[1]
        if method == "GET" and path.endswith("/models"):
            self._send(b"200 OK", b"application/json", self.models)
        elif method == "GET" and path.endswith("/health"):
            self._send(b"200 OK", b"application/json", b"{}")
        elif method == "POST" and path.endswith("/chat/completions"):
            request = json.loads(body)
            if not request.get("stream"):
                self._send(b"200 OK", b"application/json", self.chat)
                return
            usage = int(bool((request.get("stream_options") or {}).get("include_usage")))
            self.transport.write(
                b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
                b"transfer-encoding: chunked\r\n\r\n"
            )
            for chunk in self.streams[usage]:
                self.transport.write(chunk)
            self.transport.write(b"0\r\n\r\n")
        else:
            self._send(b"404 Not Found", b"application/json", b'{"error":{"message":"no"}}')

    def _send(self, status: bytes, content_type: bytes, body: bytes) -> None:
        assert self.transport is not None
        self.transport.write(
            b"HTTP/1.1 %s\r\ncontent-type: %s\r\ncontent-length: %d\r\n\r\n%s"
            % (status, content_type, len(body), body)
        )


async def serve(port: int, model: str) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: Upstream(model), "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    import uvloop

    uvloop.run(serve(int(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else "bench-model"))
