"""A builder for tests: writes `<recipe>|<source content>` and counts its calls."""

from __future__ import annotations

from pathlib import Path
from typing import IO, Any

calls: list[str] = []
fail_on: set[str] = set()


def build(recipe: Any, source: Path | None, out: Path, log: IO[str]) -> None:
    tag = recipe.model_dump_json()
    calls.append(tag)
    log.write(f"building {tag}\n")
    base = source.read_bytes().decode(errors="replace") if source else ""
    out.write_text(tag + "|" + base)  # (what it built from last: never a GGUF's magic first)
    if tag in fail_on:
        raise RuntimeError("boom")
