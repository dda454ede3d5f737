"""Use an existing GGUF file: checked, then linked into the cache."""

from __future__ import annotations

from pathlib import Path
from typing import IO

from quantgate.errors import BuildError
from quantgate.profile.schema import GgufFile

MAGIC = b"GGUF"  # the first four bytes of every GGUF file


def build(recipe: GgufFile, source: Path | None, out: Path, log: IO[str]) -> None:
    path = Path(recipe.path).expanduser().resolve()
    if not path.is_file():
        raise BuildError(f"{path} is not a file")
    with path.open("rb") as fh:
        if fh.read(len(MAGIC)) != MAGIC:
            raise BuildError(f"{path} is not a GGUF file (it does not start with {MAGIC!r})")
    out.symlink_to(path)
    log.write(f"linked {out} -> {path}\n")
