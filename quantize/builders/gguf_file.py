"""Use an existing GGUF file: checked, then linked into the cache."""

from __future__ import annotations

import re
from pathlib import Path
from typing import IO

from quantgate.errors import BuildError
from quantgate.profile.schema import GgufFile

MAGIC = b"GGUF"  # the first four bytes of every GGUF file
SPLIT = re.compile(
    r"-\d{5}-of-(\d{5})\.gguf$"
)  # llama.cpp's split files: model-00001-of-00003.gguf


def build(recipe: GgufFile, source: Path | None, out: Path, log: IO[str]) -> None:
    path = Path(recipe.path).expanduser().resolve()
    if not path.is_file():
        raise BuildError(f"{path} is not a file")
    if (split := SPLIT.search(path.name)) and int(split[1]) > 1:
        raise BuildError(
            f"{path.name} is one of {int(split[1])} split files, which llama.cpp finds beside "
            "the first one, not beside a link to it: merge them into one file first "
            "(llama-gguf-split --merge FIRST OUT.gguf)"
        )
    with path.open("rb") as fh:
        if fh.read(len(MAGIC)) != MAGIC:
            raise BuildError(f"{path} is not a GGUF file (it does not start with {MAGIC!r})")
    out.symlink_to(path)
    log.write(f"linked {out} -> {path}\n")
