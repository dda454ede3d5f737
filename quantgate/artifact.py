"""A built model file or folder: what the builders produce and the engines and tokenizers read."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Artifact:
    """A built model file or folder, and what the build recorded about it."""

    path: Path
    info: dict[str, Any] = field(default_factory=dict)
