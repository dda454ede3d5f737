"""The offline benchmark data (a folder like ../shared/datasets): where it lives, and the
one set of readers the eval suite, the load tester and the classifier's training use."""

from __future__ import annotations

import csv
import json
import os
import random
from pathlib import Path
from typing import Any, TypeVar

from quantgate.errors import ConfigError

T = TypeVar("T")

# ../shared/datasets beside the checkout, as on the project's machines
BESIDE_CHECKOUT = Path(__file__).resolve().parents[2] / "shared" / "datasets"


def data_dir(explicit: Path | None = None) -> Path:
    """`explicit`, else $QUANTGATE_DATA_DIR, else ../shared/datasets beside the checkout."""
    if explicit is not None:
        return explicit
    env = os.environ.get("QUANTGATE_DATA_DIR")
    return Path(env) if env else BESIDE_CHECKOUT


def need(root: Path, relative: str) -> Path:
    path = root / relative
    if not path.exists():
        raise ConfigError(
            f"{path} not found: point --data-dir (or QUANTGATE_DATA_DIR) at a folder like "
            f"../shared/datasets, or run `quantgate datasets fetch`"
        )
    return path


def json_file(root: Path, relative: str) -> Any:
    return json.loads(need(root, relative).read_text())


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
