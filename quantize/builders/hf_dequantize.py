"""Dequantize a GGUF into an HF folder (transformers, in the `quantize` environment)."""

from __future__ import annotations

from pathlib import Path
from typing import IO

from quantgate.profile.schema import HfDequantize
from quantize.builders._worker import run_worker


def build(recipe: HfDequantize, source: Path | None, out: Path, log: IO[str]) -> None:
    assert source is not None
    run_worker(
        "quantize",
        "hf_dequantize.py",
        {"gguf": str(source), "out": str(out), "dtype": recipe.dtype},
        out,
        log,
    )
