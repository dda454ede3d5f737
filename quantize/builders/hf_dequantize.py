"""Dequantize a GGUF into an HF folder (transformers, in the `quantize` environment)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO

from quantgate.gguf_tokenizer import write_tokenizer
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
    # transformers' conversion of a SentencePiece BPE vocabulary is wrong (a Unigram model):
    # the tokenizer is rebuilt from the GGUF, token for token what llama.cpp gives
    write_tokenizer(source, out / "tokenizer.json")
    config_path = out / "tokenizer_config.json"
    config = json.loads(config_path.read_text())
    config["add_bos_token"] = True
    config_path.write_text(json.dumps(config, indent=2))
    log.write("tokenizer.json: rebuilt from the GGUF vocabulary (quantgate/gguf_tokenizer.py)\n")
