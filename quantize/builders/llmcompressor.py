"""An llm-compressor recipe on an HF folder (in the `quantize` environment)."""

from __future__ import annotations

from pathlib import Path
from typing import IO

from quantgate.profile.schema import LlmCompressor
from quantize.builders._worker import run_worker
from quantize.calibration import sample_texts


def build(recipe: LlmCompressor, source: Path | None, out: Path, log: IO[str]) -> None:
    assert source is not None
    texts = sample_texts(recipe.calibration) if recipe.method != "rtn" else []
    log.write(
        f"calibration: {len(texts)} texts from {recipe.calibration.dataset} "
        f"(seed {recipe.calibration.seed})\n"
    )
    job = {
        "source": str(source),
        "out": str(out),
        "scheme": recipe.scheme,
        "method": recipe.method,
        "texts": texts,
        "max_seq_len": recipe.calibration.max_seq_len,
        "weights": recipe.weights.model_dump() if recipe.weights else None,
    }
    run_worker("quantize", "llmcompressor_run.py", job, out, log)
