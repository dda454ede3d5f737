"""AutoAWQ W4A16 on an HF folder (in the `autoawq` environment; archived upstream)."""

from __future__ import annotations

from pathlib import Path
from typing import IO

from quantgate.profile.schema import AutoAwq
from quantize.builders._worker import run_worker
from quantize.calibration import sample_texts


def build(recipe: AutoAwq, source: Path | None, out: Path, log: IO[str]) -> None:
    assert source is not None
    texts = sample_texts(recipe.calibration)
    job = {
        "source": str(source),
        "out": str(out),
        "group_size": recipe.group_size,
        "texts": texts,
        "max_seq_len": recipe.calibration.max_seq_len,
    }
    run_worker("autoawq", "autoawq_run.py", job, out, log)
