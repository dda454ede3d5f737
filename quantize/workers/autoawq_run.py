"""AutoAWQ W4A16 (GEMM format) on an HF folder; vLLM serves the result natively.

Job: {"source", "out", "group_size", "texts", "max_seq_len"}. AutoAWQ silently drops
calibration texts longer than `max_calib_seq_len` and fails on an empty list with
`torch.cat(): expected a non-empty list of Tensors`, so texts are checked first.
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
    texts = [t for t in job["texts"] if len(tokenizer(t)["input_ids"]) <= max_len]
    if not texts:
        raise SystemExit(f"no calibration text fits in {max_len} tokens; AutoAWQ would fail")
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
