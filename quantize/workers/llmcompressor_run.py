"""Run one llm-compressor recipe on an HF folder and save it in compressed-tensors format.

Job: {"source", "out", "scheme": W8A8|W4A16|FP8_DYNAMIC, "method": smoothquant+gptq|gptq|awq|rtn,
"texts": [...], "max_seq_len"}. On CPU the AWQ modifier fails pinning memory
(`Cannot access accelerator device when none is available`); pinning is skipped here.
"""

import json
import sys
from pathlib import Path


def _skip_pinning_on_cpu() -> None:
    import torch
    from llmcompressor.pipelines.cache import IntermediatesCache

    if not torch.cuda.is_available():  # pinned memory needs an accelerator
        IntermediatesCache._pin_intermediate = classmethod(lambda cls, intermediate: None)


# SmoothQuant's default mappings smooth through input_layernorm and post_attention_layernorm.
# Both are wrong for Gemma 3: its norms scale by (1 + weight), and the MLP's input comes from
# pre_feedforward_layernorm. The one exact smoothing point is up_proj -> down_proj
# (down_proj sees gelu(gate) * up, linear in up_proj's output rows).
GEMMA3_SMOOTHQUANT = [[["re:.*down_proj$"], "re:.*up_proj$"]]


def _groups(weights: dict) -> dict:
    """A W4A16 scheme with the recipe's group size and symmetry instead of the preset's."""
    spec = {"num_bits": 4, "type": "int", "strategy": "group", **weights}
    return {"group_0": {"targets": ["Linear"], "weights": spec}}


def recipe(scheme: str, method: str, architecture: str, weights: dict | None = None) -> list:
    from llmcompressor.modifiers.quantization import GPTQModifier, QuantizationModifier

    ignore = ["lm_head"]
    how = (
        {"config_groups": _groups(weights)} if weights else {"targets": "Linear", "scheme": scheme}
    )
    if method == "rtn":
        return [QuantizationModifier(ignore=ignore, **how)]
    if method == "gptq":
        return [GPTQModifier(ignore=ignore, **how)]
    if method == "smoothquant+gptq":
        from llmcompressor.modifiers.smoothquant import SmoothQuantModifier

        mappings = GEMMA3_SMOOTHQUANT if architecture.startswith("Gemma3") else None
        return [
            SmoothQuantModifier(smoothing_strength=0.8, mappings=mappings),
            GPTQModifier(targets="Linear", scheme=scheme, ignore=ignore),
        ]
    if method == "awq":
        from llmcompressor.modifiers.awq import AWQModifier

        if not weights:
            how = {"targets": ["Linear"], "scheme": scheme}
        return [AWQModifier(ignore=ignore, **how)]
    raise SystemExit(f"unknown method {method}")


def main(job: dict) -> None:
    import torch
    from datasets import Dataset
    from llmcompressor import oneshot
    from transformers import AutoModelForCausalLM, AutoTokenizer

    _skip_pinning_on_cpu()
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(job["source"], dtype="auto")
    tokenizer = AutoTokenizer.from_pretrained(job["source"])
    max_len = int(job["max_seq_len"])
    architecture = type(model).__name__
    modifiers = recipe(job["scheme"], job["method"], architecture, job.get("weights"))
    if not job["texts"]:  # round-to-nearest needs no calibration data
        print(f"{job['method']} {job['scheme']} without calibration", flush=True)
        oneshot(model=model, recipe=modifiers)
    else:
        dataset = Dataset.from_list([{"text": t} for t in job["texts"]]).map(
            lambda row: tokenizer(
                row["text"], truncation=True, max_length=max_len, add_special_tokens=True
            ),
            remove_columns=["text"],
        )
        print(f"{job['method']} {job['scheme']} on {len(dataset)} calibration texts", flush=True)
        oneshot(
            model=model,
            dataset=dataset,
            recipe=modifiers,
            max_seq_length=max_len,
            num_calibration_samples=len(dataset),
        )
    model.save_pretrained(job["out"], save_compressed=True)
    tokenizer.save_pretrained(job["out"])
    print(f"saved to {job['out']}", flush=True)


if __name__ == "__main__":
    main(json.loads(Path(sys.argv[1]).read_text()))
