"""Paths written in a profile (artifacts, chat templates, calibration files)."""

from __future__ import annotations

from pathlib import Path


def resolve_path(value: str | Path, base_dir: Path | None) -> Path:
    """`~` expanded; an absolute path as it is; a relative one from the profile's folder
    (`base_dir`), or from the working directory for a profile that came from no file."""
    path = Path(value).expanduser()
    if path.is_absolute():
        return path
    return (base_dir if base_dir is not None else Path.cwd()) / path
