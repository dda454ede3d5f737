"""Use an existing Hugging Face model folder: checked, then linked into the cache."""

from __future__ import annotations

from pathlib import Path
from typing import IO

from quantgate.errors import BuildError
from quantgate.profile.schema import HfFolder


def build(recipe: HfFolder, source: Path | None, out: Path, log: IO[str]) -> None:
    folder = Path(recipe.path).expanduser().resolve()
    if not (folder / "config.json").exists():
        raise BuildError(f"{folder} is not a Hugging Face model folder (no config.json)")
    if not any(folder.glob("*.safetensors")) and not any(folder.glob("*.bin")):
        raise BuildError(f"{folder} holds no weights (*.safetensors or *.bin)")
    out.symlink_to(folder, target_is_directory=True)
    log.write(f"linked {out} -> {folder}\n")
