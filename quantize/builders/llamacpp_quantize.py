"""Requantize a GGUF with llama.cpp's `llama_model_quantize` (no llama-quantize binary needed).

llama.cpp prints to the C stderr, so the work runs in a child process whose output goes to
the build log: `python -m quantize.builders.llamacpp_quantize SRC DST FTYPE [EMBEDDING_TYPE]`.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import IO

from quantgate.errors import BuildError
from quantgate.profile.schema import LlamaCppQuantize


def build(recipe: LlamaCppQuantize, source: Path | None, out: Path, log: IO[str]) -> None:
    assert source is not None
    args = [sys.executable, "-m", __name__, str(source), str(out), recipe.ftype]
    if recipe.token_embedding_type:
        args.append(recipe.token_embedding_type)
    log.flush()
    done = subprocess.run(args, stdout=log, stderr=subprocess.STDOUT, check=False)
    if done.returncode != 0:
        raise BuildError(
            f"llama.cpp quantization to {recipe.ftype} failed "
            f"(exit {done.returncode}); see the build log"
        )


def quantize(src: str, dst: str, ftype: str, embedding_type: str | None) -> int:
    import ctypes

    import llama_cpp

    params = llama_cpp.llama_model_quantize_default_params()
    try:
        params.ftype = getattr(llama_cpp, f"LLAMA_FTYPE_MOSTLY_{ftype.upper()}")
        if embedding_type:
            params.token_embedding_type = getattr(llama_cpp, f"GGML_TYPE_{embedding_type.upper()}")
    except AttributeError as exc:
        print(f"unknown llama.cpp type: {exc}", file=sys.stderr)
        return 2
    params.allow_requantize = True
    return int(llama_cpp.llama_model_quantize(src.encode(), dst.encode(), ctypes.byref(params)))


if __name__ == "__main__":
    src, dst, ftype, *rest = sys.argv[1:]
    sys.exit(quantize(src, dst, ftype, rest[0] if rest else None))
