"""AutoAWQ W4A16 (GEMM format) on an HF folder; vLLM serves the result natively.

Job: {"source", "out", "group_size", "texts", "max_seq_len"}. AutoAWQ silently drops
calibration texts longer than `max_calib_seq_len`, joins the rest into blocks of that many
tokens, and fails with `torch.cat(): expected a non-empty list of Tensors` when there is not one
whole block, so the texts are checked first.
"""

import json
import sys
from pathlib import Path


def main(job: dict) -> None:
    from awq import AutoAWQForCausalLM
    from awq.models.auto import AWQ_CAUSAL_LM_MODEL_MAP
    from transformers import AutoConfig, AutoTokenizer

    model_type = AutoConfig.from_pretrained(job["source"]).model_type
    if model_type not in AWQ_CAUSAL_LM_MODEL_MAP:
        raise SystemExit(
            f"AutoAWQ 0.2.9 (archived) does not support `{model_type}` models; "
            f"use the llm-compressor AWQ recipe (kind: llmcompressor, method: awq)"
        )
    tokenizer = AutoTokenizer.from_pretrained(job["source"])
    max_len = int(job["max_seq_len"])
    lengths = [len(tokenizer(t)["input_ids"]) for t in job["texts"]]
    texts = [t for t, n in zip(job["texts"], lengths, strict=True) if n <= max_len]
    total = sum(n for n in lengths if n <= max_len)
    if total < max_len:
        # AutoAWQ drops longer texts, joins the rest and cuts blocks of max_seq_len tokens:
        # with fewer tokens than one block it fails inside torch.cat
        raise SystemExit(
            f"calibration: {len(texts)} texts of at most {max_len} tokens hold "
            f"{total} tokens, fewer than one block of {max_len}; give more or "
            f"longer texts, or a smaller max_seq_len"
        )
    print(f"AutoAWQ W4 g{job['group_size']} on {len(texts)} calibration texts", flush=True)
    model = AutoAWQForCausalLM.from_pretrained(job["source"])
    config = {
        "zero_point": True,
        "q_group_size": int(job["group_size"]),
        "w_bit": 4,
        "version": "GEMM",
    }
    model.quantize(
        tokenizer,
        quant_config=config,
        calib_data=texts,
        max_calib_seq_len=max_len,
        n_parallel_calib_samples=None,
    )
    model.save_quantized(job["out"])
    tokenizer.save_pretrained(job["out"])
    print(f"saved to {job['out']}", flush=True)


if __name__ == "__main__":
    main(json.loads(Path(sys.argv[1]).read_text()))
