"""Prompts from real data: MT-Bench first turns, GSM8K questions, or a ShareGPT file.

MT-Bench and GSM8K are read from a data directory like ../shared/datasets (`--data-dir` or
$QUANTGATE_DATA_DIR); a ShareGPT-format file (a JSON list of `{"conversations": [{"from":
"human", "value": ...}, ...]}`) gives each conversation's first human turn.
"""

from __future__ import annotations

import json
from pathlib import Path

from quantgate.data import data_dir, jsonl


def load_prompts(spec: str, directory: Path | None = None) -> list[str]:
    """`mt_bench`, `gsm8k` or `sharegpt:PATH` -> prompts, in file order."""
    if spec.startswith("sharegpt:"):
        return _sharegpt(Path(spec.removeprefix("sharegpt:")))
    files = {"mt_bench": "mt_bench/question.jsonl", "gsm8k": "gsm8k/test.jsonl"}
    if spec not in files:
        raise ValueError(f"unknown dataset {spec!r}: mt_bench, gsm8k or sharegpt:PATH")
    rows = jsonl(data_dir(directory), files[spec])
    return [r["turns"][0] for r in rows] if spec == "mt_bench" else [r["question"] for r in rows]


def _sharegpt(path: Path) -> list[str]:
    try:
        records = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: not a readable ShareGPT JSON file ({exc})") from exc
    prompts = []
    for record in records:
        turns = record.get("conversations") or []
        first = next((t.get("value") for t in turns if t.get("from") == "human"), None)
        if first:
            prompts.append(str(first))
    if not prompts:
        raise ValueError(f"{path}: no conversation with a human turn")
    return prompts
