"""Where the offline benchmark data lives: one answer for every package."""

from __future__ import annotations

import os
from pathlib import Path

# ../shared/datasets beside the checkout, as on the project's machines
BESIDE_CHECKOUT = Path(__file__).resolve().parents[2] / "shared" / "datasets"


def data_dir(explicit: Path | None = None) -> Path:
    """`explicit`, else $QUANTGATE_DATA_DIR, else ../shared/datasets beside the checkout."""
    if explicit is not None:
        return explicit
    env = os.environ.get("QUANTGATE_DATA_DIR")
    return Path(env) if env else BESIDE_CHECKOUT
