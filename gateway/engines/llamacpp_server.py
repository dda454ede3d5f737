"""llama-cpp-python's OpenAI server, optionally without KV-cache prefix reuse.

llama-cpp-python keeps the previous request's tokens in the KV cache and evaluates only the
part of a new prompt that differs (`Llama.generate`, "prefix-match hit"). The reused prefix was
computed in other batches than a fresh evaluation would use, so logits differ in the last
bits, and where two tokens are nearly tied a greedy answer changes with the request before
it: the same prompt at temperature 0 gave "... mendatang" after one request and "... 衣装"
after another on the demo's q4_k_m. Evaluation and agreement measurements need the same
answer every time, so by default every prompt is evaluated whole (`--prefix_cache True` keeps
llama-cpp-python's reuse).

The server also reads its settings from the environment: `HOST` and `PORT` override the
`--host`/`--port` flags (so `make serve PORT=9000`, which exports PORT, put every engine on the
gateway's port), `CONFIG_FILE` replaces the flags, and any other setting's name (`API_KEY`,
`MODEL`, ...) fills what the flags leave unset. quantgate passes everything as flags, so those
variables are removed before the server starts.

A non-streamed request runs to its end in llama-cpp-python even when its client has left
(only streams check for a disconnect, between chunks): a client that timed out held the
model for the rest of the generation (11 s after a 1 s timeout at max_tokens 1500 on the
demo), while the requests behind it waited. Here every request's generation stops at the
next token once its client has gone (the gateway closes its upstream connection when its own
client leaves), and the engine's log says so.

Run as `python -m gateway.engines.llamacpp_server [--prefix_cache BOOL] <llama_cpp.server
arguments>`.
"""

from __future__ import annotations

import os
import runpy
import sys
import threading
from collections.abc import Callable, Generator, Iterable, MutableMapping
from contextvars import ContextVar
from typing import Any

import anyio

# set while a request's client is gone: the request's context, which run_in_threadpool copies
# into the thread that generates for it
_LEFT: ContextVar[threading.Event | None] = ContextVar("quantgate_client_left", default=None)
ASGI = Callable[..., Any]

READ_DIRECTLY = ("HOST", "PORT", "CONFIG_FILE")  # os.environ reads in llama_cpp.server


def scrub(environ: MutableMapping[str, str], settings: Iterable[str]) -> list[str]:
    """Remove the variables llama_cpp.server would take as settings; return their names."""
    names = {s.upper() for s in settings} | set(READ_DIRECTLY)
    removed = [k for k in environ if k.upper() in names]
    for key in removed:
        del environ[key]
    return removed


def stop_when_the_client_leaves(app: ASGI) -> ASGI:
    """`app`, each HTTP request marked as left (`_LEFT`) once its body is read and its client
    disconnects."""

    async def watched(scope: dict[str, Any], receive: ASGI, send: ASGI) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        left, watching = threading.Event(), False
        _LEFT.set(left)
        async with anyio.create_task_group() as tg:

            async def watch() -> None:
                while (await receive())["type"] != "http.disconnect":
                    pass
                left.set()

            async def read() -> dict[str, Any]:
                nonlocal watching
                message: dict[str, Any] = await receive()
                if message["type"] == "http.disconnect":
                    left.set()
                elif not message.get("more_body", False) and not watching:
                    watching = True  # the body is read: what comes next is the end
                    tg.start_soon(watch)
                return message

            try:
                await app(scope, read, send)
            finally:
                tg.cancel_scope.cancel()

    return watched


def until_the_client_leaves(generate: Callable[..., Generator[int]]) -> Callable[..., Any]:
    """`Llama.generate`, ending at the next token once the request's client has left."""

    def generating(self: Any, tokens: Any, *args: Any, **kwargs: Any) -> Generator[int]:
        left = _LEFT.get()
        made = generate(self, tokens, *args, **kwargs)
        try:
            for n, token in enumerate(made):
                if left is not None and left.is_set():
                    print(f"quantgate: the client left; stopped after {n} tokens", file=sys.stderr)
                    return
                yield token
        finally:
            made.close()

    return generating


def main(argv: list[str]) -> None:
    import llama_cpp
    import llama_cpp.server.app
    from llama_cpp.server.settings import ModelSettings, ServerSettings

    scrub(os.environ, [*ModelSettings.model_fields, *ServerSettings.model_fields])
    prefix_cache = False
    if "--prefix_cache" in argv:
        i = argv.index("--prefix_cache")
        prefix_cache = argv[i + 1].lower() in ("true", "1", "yes")
        del argv[i : i + 2]
    generate = llama_cpp.Llama.generate
    if not prefix_cache:
        whole = generate

        def whole_prompt(self: Any, tokens: Any, *args: Any, **kwargs: Any) -> Any:
            self.n_tokens = 0  # nothing cached: `eval` clears the KV cache from position 0
            return whole(self, tokens, *args, **kwargs)

        generate = whole_prompt
    llama_cpp.Llama.generate = until_the_client_leaves(generate)  # type: ignore[method-assign]
    create_app = llama_cpp.server.app.create_app
    llama_cpp.server.app.create_app = lambda *a, **k: stop_when_the_client_leaves(
        create_app(*a, **k)
    )
    sys.argv = ["llama_cpp.server", *argv]
    runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main(sys.argv[1:])
