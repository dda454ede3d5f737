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

Run as `python -m gateway.engines.llamacpp_server [--prefix_cache BOOL] <llama_cpp.server
arguments>`.
"""

from __future__ import annotations

import os
import runpy
import sys
from collections.abc import Iterable, MutableMapping
from typing import Any

READ_DIRECTLY = ("HOST", "PORT", "CONFIG_FILE")  # os.environ reads in llama_cpp.server


def scrub(environ: MutableMapping[str, str], settings: Iterable[str]) -> list[str]:
    """Remove the variables llama_cpp.server would take as settings; return their names."""
    names = {s.upper() for s in settings} | set(READ_DIRECTLY)
    removed = [k for k in environ if k.upper() in names]
    for key in removed:
        del environ[key]
    return removed


def main(argv: list[str]) -> None:
    from llama_cpp.server.settings import ModelSettings, ServerSettings

    scrub(os.environ, [*ModelSettings.model_fields, *ServerSettings.model_fields])
    prefix_cache = False
    if "--prefix_cache" in argv:
        i = argv.index("--prefix_cache")
        prefix_cache = argv[i + 1].lower() in ("true", "1", "yes")
        del argv[i : i + 2]
    if not prefix_cache:
        import llama_cpp

        generate = llama_cpp.Llama.generate

        def whole_prompt(self: Any, tokens: Any, *args: Any, **kwargs: Any) -> Any:
            self.n_tokens = 0  # nothing cached: `eval` clears the KV cache from position 0
            return generate(self, tokens, *args, **kwargs)

        llama_cpp.Llama.generate = whole_prompt  # type: ignore[method-assign]
    sys.argv = ["llama_cpp.server", *argv]
    runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main(sys.argv[1:])
