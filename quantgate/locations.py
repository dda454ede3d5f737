"""Where quantgate keeps what it builds and installs: one root, `$QUANTGATE_CACHE` or
`~/.cache/quantgate` (artifacts/, venvs/, wheels/, run/)."""

from __future__ import annotations

import os
from pathlib import Path


def default_root() -> Path:
    env = os.environ.get("QUANTGATE_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "quantgate"


def size_of(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size
