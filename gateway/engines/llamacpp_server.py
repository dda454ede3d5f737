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

A `logit_bias` key that is not a token id of the model (past the vocabulary's end) would
index past llama-cpp-python's logits: an IndexError, answered with a 500, which the gateway
cannot tell from a crash (it fails over, then answers 502). Here it is a 400
`invalid_value` naming `logit_bias`, as vLLM answers it. (The gateway refuses keys that are
not token ids at all.)

Run as `python -m gateway.engines.llamacpp_server [--prefix_cache BOOL] <llama_cpp.server
arguments>`.
"""

from __future__ import annotations

import os
import re
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
# a client's error found in the engine: raised as a ValueError with this message, answered
# with a 400 by llama_cpp.server's error handler (its messages are matched by pattern)
INVALID = re.compile(r"quantgate: invalid (\w+): (.+)")


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


def checks_logit_bias(create: Callable[..., Any]) -> Callable[..., Any]:
    """`Llama._create_completion`, refusing a `logit_bias` key that is not a token id of the
    model (see the module)."""

    def creating(self: Any, *args: Any, **kwargs: Any) -> Any:
        vocabulary = None
        for key in kwargs.get("logit_bias") or ():
            vocabulary = vocabulary or self.n_vocab()
            if not str(key).isdigit() or int(key) >= vocabulary:
                raise ValueError(
                    f"quantgate: invalid logit_bias: {key!r} is not a token id of this model "
                    f"(0 to {vocabulary - 1})"
                )
        return create(self, *args, **kwargs)

    return creating


def invalid(request: Any, match: re.Match[str]) -> tuple[int, Any]:
    """llama_cpp.server's answer to an `INVALID` error: a 400 naming the field."""
    from llama_cpp.server.errors import ErrorResponse

    error = ErrorResponse(
        message=match.group(2), type="invalid_request_error", param=match.group(1), code=None
    )
    return 400, error


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
    llama_cpp.Llama._create_completion = checks_logit_bias(  # type: ignore[method-assign]
        llama_cpp.Llama._create_completion
    )
    from llama_cpp.server.errors import RouteErrorHandler

    RouteErrorHandler.pattern_and_formatters[INVALID] = invalid
    create_app = llama_cpp.server.app.create_app
    llama_cpp.server.app.create_app = lambda *a, **k: stop_when_the_client_leaves(
        create_app(*a, **k)
    )
    sys.argv = ["llama_cpp.server", *argv]
    runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main(sys.argv[1:])
