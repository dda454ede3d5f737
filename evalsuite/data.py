"""Reading the benchmark files (a directory like ../shared/datasets) and seeded sampling."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path
from typing import Any, TypeVar

from quantgate.errors import ConfigError

T = TypeVar("T")


def need(root: Path, relative: str) -> Path:
    path = root / relative
    if not path.exists():
        raise ConfigError(
            f"{path} not found: point --data-dir (or QUANTGATE_DATA_DIR) at a folder like "
            f"../shared/datasets, or run `quantgate datasets fetch`"
        )
    return path


def jsonl(root: Path, relative: str) -> list[dict[str, Any]]:
    lines = need(root, relative).read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def csv_rows(root: Path, relative: str) -> list[dict[str, str]]:
    with need(root, relative).open(newline="") as fh:
        return list(csv.DictReader(fh))


def sample(rows: list[T], limit: int, seed: int) -> list[T]:
    """`limit` rows drawn with `random.Random(seed)`, in a stable order (all when limit <= 0)."""
    if limit <= 0 or limit >= len(rows):
        return list(rows)
    picked = sorted(random.Random(seed).sample(range(len(rows)), limit))
    return [rows[i] for i in picked]
