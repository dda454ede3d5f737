"""Read a profile from YAML; every problem names the file, the field and what was expected."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from quantgate.errors import ProfileError
from quantgate.profile.paths import absolute_paths
from quantgate.profile.schema import Profile


def load_profile(path: str | Path) -> Profile:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ProfileError(str(path), [f"cannot read the file: {exc.strerror or exc}"]) from exc
    return parse_profile(text, source=str(path), base_dir=path.resolve().parent)


def parse_profile(text: str, *, source: str = "<profile>", base_dir: Path | None = None) -> Profile:
    """The profile in `text`; `base_dir`: its folder, which what artifacts are built from
    and a priors file are read from (`absolute_paths`; chat templates and GGUF paths named
    by an engine are resolved where they are used: quantgate/profile/paths.py)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ProfileError(source, [f"not valid YAML: {_yaml_problem(exc)}"]) from exc
    if not isinstance(data, dict):
        got = type(data).__name__ if data is not None else "an empty file"
        raise ProfileError(source, [f"expected a mapping with model, variants, ...; got {got}"])
    if base_dir is not None:
        absolute_paths(data, base_dir)
    try:
        return Profile.model_validate(data)
    except ValidationError as exc:
        raise ProfileError(source, describe_validation_error(exc, data)) from exc


def describe_validation_error(exc: ValidationError, data: Any) -> list[str]:
    """One readable line per problem: the field path (with variant names), what was wrong."""
    problems = []
    for err in exc.errors(include_url=False):
        where = _field_path(err["loc"], data)
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "union_tag_invalid":
            msg = f"unknown kind; expected one of {err['ctx']['expected_tags']}"
        elif err["type"] == "extra_forbidden":
            msg = "unknown field (a typo?)"
        elif err["type"] == "missing":
            msg = "required field is missing"
        elif "input" in err and err["type"] not in ("value_error", "assertion_error"):
            msg = f"{msg} (got {err['input']!r})"
        problems.append(f"{where}: {msg}" if where else msg)
    return problems


def _field_path(loc: tuple[int | str, ...], data: Any) -> str:
    """`variants[1].quant.w_bits`, with the variant's name when it has one."""
    out = ""
    node = data
    for part in loc:
        if isinstance(part, int):
            label = str(part)
            item = node[part] if isinstance(node, list) and part < len(node) else None
            if isinstance(item, dict) and isinstance(item.get("name"), str):
                label = f"{part}:{item['name']}"
            out += f"[{label}]"
            node = item
        else:
            # discriminated unions add the tag as a path element; it is not a field
            if isinstance(node, dict) and part not in node and node.get("kind") == part:
                continue
            out += f".{part}" if out else str(part)
            node = node.get(part) if isinstance(node, dict) else None
    return out


def _yaml_problem(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    if mark is not None:
        return f"line {mark.line + 1}, column {mark.column + 1}: {problem}"
    return str(problem)
