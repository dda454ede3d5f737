"""Paths written in a profile (artifacts, chat templates, calibration files, priors), each
read from the profile's folder when relative."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def resolve_path(value: str | Path, base_dir: Path | None) -> Path:
    """`~` expanded; an absolute path as it is; a relative one from the profile's folder
    (`base_dir`), or from the working directory for a profile that came from no file."""
    path = Path(value).expanduser()
    if path.is_absolute():
        return path
    return (base_dir if base_dir is not None else Path.cwd()) / path


def absolute_paths(data: dict[str, Any], base_dir: Path) -> None:
    """Make the paths that name what an artifact is built from absolute, in a profile's raw
    data (as YAML loads it), resolved from its folder (`base_dir`): artifacts' `path` (an
    existing model), their calibration files, and a priors file. An artifact's cache key is
    its recipe, so two profiles that say `path: models/hf` in two folders must not share
    one, and no builder may read the path from the working directory."""
    for mapping, key in _built_from(data):
        value = mapping.get(key)
        if isinstance(value, str):
            mapping[key] = str(resolve_path(value, base_dir))


def _built_from(data: dict[str, Any]) -> list[tuple[dict[str, Any], str]]:
    """Where a profile's raw data names files that artifacts and routing are made from:
    artifacts' `path`, their calibration `path`, and `routing.priors` when it is a file."""
    fields: list[tuple[dict[str, Any], str]] = []
    for artifact in (data.get("artifacts") or {}).values():
        if isinstance(artifact, dict):
            fields.append((artifact, "path"))
            if isinstance(artifact.get("calibration"), dict):
                fields.append((artifact["calibration"], "path"))
    routing = data.get("routing")
    if isinstance(routing, dict) and is_priors_path(str(routing.get("priors", ""))):
        fields.append((routing, "priors"))
    return fields


def is_priors_path(value: str) -> bool:
    """`routing.priors` names a file (`my-priors.yaml`), not shipped priors (`qllm-eval`)."""
    return bool(Path(value).suffix)


def rebase_paths(data: dict[str, Any], from_dir: Path, to_dir: Path) -> list[str]:
    """Rewrite, in a profile's raw data (as YAML loads it), every relative path so that it
    names the same file from `to_dir` as it did from `from_dir` (a profile written to another
    folder). Artifact names (declared under `artifacts`) are names, not paths. A mapping that
    YAML aliases in several places is rewritten once. Returns the values rewritten."""
    if from_dir == to_dir:
        return []
    declared = set(data.get("artifacts") or {})
    fields: list[tuple[dict[str, Any], str]] = []
    for variant in data.get("variants") or []:
        engine = variant.get("engine") or {}
        fields.append((engine, "chat_template"))
        if engine.get("artifact") not in declared:
            fields.append((engine, "artifact"))
    fields += _built_from(data)
    seen: set[tuple[int, str]] = set()
    rewritten = []
    for mapping, key in fields:
        value = mapping.get(key)
        if not isinstance(value, str) or (id(mapping), key) in seen:
            continue
        seen.add((id(mapping), key))
        if Path(value).expanduser().is_absolute():
            continue
        mapping[key] = os.path.relpath(from_dir / value, to_dir)
        rewritten.append(value)
    return rewritten
