"""Dequantize a GGUF into a Hugging Face folder with transformers.

Job: {"gguf": path, "out": folder, "dtype": "bfloat16"}. transformers refuses to save a model
loaded from GGUF ("quantized with gguf and is not serializable") until the quantizer and its
config entry are dropped; the weights are plain tensors by then.

The tokenizer transformers (5.17) writes is wrong: it converts Gemma's SentencePiece BPE into a
Unigram model, which splits "capital" into "c", "ap", ... The builder
(quantize/builders/hf_dequantize.py) replaces it with the one quantgate/gguf_tokenizer.py
builds from the GGUF, token for token what llama.cpp gives.
"""

import json
import sys
from pathlib import Path


def main(job: dict) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf = Path(job["gguf"])
    dtype = getattr(torch, job["dtype"])
    print(f"loading {gguf} with transformers (dequantizing)", flush=True)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=dtype)
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.save_pretrained(job["out"])
    tokenizer.save_pretrained(job["out"])
    params = sum(p.numel() for p in model.parameters())
    print(
        f"saved {type(model).__name__} ({params / 1e6:.0f}M parameters, {dtype}) to {job['out']}",
        flush=True,
    )


if __name__ == "__main__":
    main(json.loads(Path(sys.argv[1]).read_text()))
