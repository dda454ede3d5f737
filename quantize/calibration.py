"""Calibration texts for activation-aware quantizers: small, seeded, documented.

The default sample is StrategyQA's *train* split (facts and question of each record, joined
into a short paragraph), so it never overlaps the test sets the eval suite scores; a user's
file (one text per line, or JSONL with a `text` field) can replace it. The sample is drawn
with `random.Random(seed)`, so the same recipe always calibrates on the same texts.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from quantgate.data import data_dir
from quantgate.errors import BuildError
from quantgate.profile import resolve_path
from quantgate.profile.schema import Calibration


def sample_texts(cal: Calibration, base_dir: Path | None = None) -> list[str]:
    texts = _load(cal, base_dir)
    # very long texts are cut at roughly max_seq_len tokens (~4 characters per token)
    limit = cal.max_seq_len * 4
    texts = [t[:limit] for t in texts if t.strip()]
    if len(texts) < cal.samples:
        raise BuildError(f"calibration: only {len(texts)} texts available, {cal.samples} requested")
    return random.Random(cal.seed).sample(texts, cal.samples)


def _load(cal: Calibration, base_dir: Path | None) -> list[str]:
    if cal.dataset == "file":
        if cal.path is None:
            raise BuildError("calibration: dataset `file` needs a `path`")
        return _read_file(resolve_path(cal.path, base_dir))
    path = data_dir() / "strategyqa" / "train.json"
    if not path.exists():
        raise BuildError(
            f"calibration data not found at {path}: set QUANTGATE_DATA_DIR to a "
            f"folder like ../shared/datasets, or use `dataset: file`"
        )
    records = json.loads(path.read_text())
    return [" ".join([*r.get("facts", []), r["question"]]) for r in records]


def _read_file(path: Path) -> list[str]:
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        raise BuildError(f"calibration file {path}: {exc.strerror or exc}") from exc
    texts = []
    for line in lines:
        if line.lstrip().startswith("{"):
            try:
                texts.append(str(json.loads(line)["text"]))
                continue
            except (ValueError, KeyError):
                pass
        texts.append(line)
    return texts
