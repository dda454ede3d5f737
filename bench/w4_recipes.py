"""Why the vLLM demo's W4A16 variant collapses: 4-bit weight recipes on Gemma 3 270M, scored
outside vLLM (transformers, compressed-tensors decompressing the weights) on the first 40
LAMBADA passages, greedy next word, against the BF16 reference.

It runs in quantgate's `quantize` environment (torch, llm-compressor), which `make artifacts`
creates; the reference is the demo's `hf-bf16` artifact:

    ~/.cache/quantgate/venvs/quantize/bin/python bench/w4_recipes.py \\
        ~/.cache/quantgate/artifacts/hf-bf16-* [--awq ~/.cache/quantgate/artifacts/w4a16-*]

Each recipe is built into ~/.cache/quantgate/bench/w4/<name> (kept: a rerun only scores).
Calibration (GPTQ): 64 StrategyQA train texts as the demo recipe uses, from ../shared/datasets.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "datasets"
OUT = Path.home() / ".cache" / "quantgate" / "bench" / "w4"
PASSAGES = 40
# name -> (method, symmetric, group size)
RECIPES = {
    "rtn-sym-g128": ("rtn", True, 128),
    "rtn-sym-g64": ("rtn", True, 64),
    "rtn-sym-g32": ("rtn", True, 32),
    "rtn-asym-g32": ("rtn", False, 32),
    "gptq-sym-g128": ("gptq", True, 128),
    "gptq-asym-g32": ("gptq", False, 32),
}


def calibration(tokenizer: Any) -> Any:
    from datasets import Dataset

    rows = json.loads((DATA / "strategyqa" / "train.json").read_text())
    # as quantize/calibration.py samples them for the demo recipe (64 texts, seed 0)
    texts = [" ".join([*r.get("facts", []), r["question"]])[: 512 * 4] for r in rows]
    picked = random.Random(0).sample([t for t in texts if t.strip()], 64)
    return Dataset.from_list([{"text": t} for t in picked]).map(
        lambda r: tokenizer(r["text"], truncation=True, max_length=512),
        remove_columns=["text"],
    )


def build(source: Path, name: str) -> Path:
    out = OUT / name
    if (out / "config.json").exists():
        return out
    import torch
    from llmcompressor import oneshot
    from llmcompressor.modifiers.quantization import GPTQModifier, QuantizationModifier
    from llmcompressor.pipelines.cache import IntermediatesCache
    from transformers import AutoModelForCausalLM, AutoTokenizer

    IntermediatesCache._pin_intermediate = classmethod(lambda cls, x: None)  # no accelerator
    method, symmetric, group = RECIPES[name]
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(source, dtype="auto")
    tokenizer = AutoTokenizer.from_pretrained(source)
    weights = {"num_bits": 4, "type": "int", "symmetric": symmetric}
    weights |= {"strategy": "group", "group_size": group}
    groups = {"group_0": {"targets": ["Linear"], "weights": weights}}
    if method == "rtn":
        oneshot(
            model=model, recipe=[QuantizationModifier(config_groups=groups, ignore=["lm_head"])]
        )
    else:
        modifier = GPTQModifier(config_groups=groups, ignore=["lm_head"])
        data = calibration(tokenizer)
        oneshot(model=model, dataset=data, recipe=[modifier], num_calibration_samples=len(data))
    model.save_pretrained(out, save_compressed=True)
    tokenizer.save_pretrained(out)
    return out


def lambada(folder: Path) -> tuple[int, int]:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    rows = [json.loads(x) for x in (DATA / "lambada" / "lambada_test.jsonl").open()][:PASSAGES]
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.bfloat16).eval()
    right = 0
    for row in rows:
        context, word = row["text"].rsplit(" ", 1)
        ids = tokenizer(context, return_tensors="pt")
        with torch.no_grad():
            out = model.generate(**ids, max_new_tokens=4, do_sample=False)
        words = re.findall(r"[\w'-]+", tokenizer.decode(out[0, ids["input_ids"].shape[1] :]))
        right += bool(words) and words[0].lower() == word.strip().lower()
    return right, len(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reference", type=Path, help="the demo's hf-bf16 artifact folder")
    parser.add_argument("--awq", type=Path, help="the demo's w4a16 (AWQ) artifact folder")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    folders = {"bf16 (reference)": args.reference}
    if args.awq:
        folders["awq-sym-g128 (the demo's w4a16)"] = args.awq
    for name in RECIPES:
        started = time.perf_counter()
        folders[name] = build(args.reference, name)
        print(f"built {name} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    base = None
    print(f"| recipe | LAMBADA, first {PASSAGES} passages | vs bf16 |\n|---|---|---|")
    for name, folder in folders.items():
        right, n = lambada(folder)
        base = base or right
        print(f"| {name} | {right}/{n} = {right / n:.3f} | {right / base:.2f} |", flush=True)


if __name__ == "__main__":
    main()
