"""Qllm-Eval priors (profiles/priors/*.yaml): relative quality by task, quant spec, size, band.

See the header of profiles/priors/qllm-eval.yaml for how rows match a variant. This module is
pure: it reads the file once and answers `quality(task, quant, size, long_band)`.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from quantgate.errors import ConfigError
from quantgate.profile import QuantSpec
from quantgate.profile.paths import is_priors_path
from quantgate.shipped import shipped
from quantgate.vocabulary import TASKS

PRIORS_DIR = shipped("priors")
LONG_FROM = 4096  # "long context (> 4k tokens)"
SMALL_BELOW_B = 13.0  # "Models < 13B ... > 13B"


class PriorRow(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    dim: Literal["w", "a", "kv"]
    bits: float = Field(gt=0, lt=16)
    tasks: list[str]
    size: Literal["small", "large", "any"] = "any"
    context: Literal["long", "any"] = "any"
    quality: float = Field(ge=0, le=1)
    source: str

    def applies(self, task: str, size: str) -> bool:
        return ("all" in self.tasks or task in self.tasks) and self.size in ("any", size)

    def specificity(self) -> tuple[bool, bool]:
        return ("all" not in self.tasks, self.size != "any")


class Priors(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    sources: dict[str, str]
    rows: list[PriorRow]

    @model_validator(mode="after")
    def _known(self) -> Priors:
        for i, row in enumerate(self.rows):
            if row.source not in self.sources:
                raise ValueError(f"rows[{i}].source {row.source!r} is not in sources")
            unknown = set(row.tasks) - set(TASKS) - {"all"}
            if unknown:
                raise ValueError(
                    f"rows[{i}].tasks: unknown {sorted(unknown)}; known: {list(TASKS)}"
                )
        return self

    def quality(
        self, task: str, quant: QuantSpec, size: str, long_band: bool
    ) -> tuple[float, list[str]]:
        """The prior for one variant, and the source keys behind it."""
        total, cited = 1.0, []
        for dim, bits in (("w", quant.w_bits), ("a", quant.a_bits), ("kv", quant.kv_bits)):
            if bits >= 16:
                continue
            row = self._row(dim, bits, task, size, "any")
            if row is None:
                raise ConfigError(f"priors have no {dim} row for task {task!r} at {bits:g} bits")
            if long_band:  # a long-context row at the same level is a further cap
                cap = self._row(dim, row.bits, task, size, "long")
                if cap is not None and cap.bits == row.bits and cap.quality < row.quality:
                    row = cap
            total *= row.quality
            cited.append(f"{dim}{row.bits:g}:{row.source}")
        return total, cited

    def _row(self, dim: str, bits: float, task: str, size: str, context: str) -> PriorRow | None:
        rows = [
            r for r in self.rows if r.dim == dim and r.context == context and r.applies(task, size)
        ]
        if not rows:
            return None
        levels = sorted({r.bits for r in rows})
        below = [b for b in levels if b <= bits]
        level = below[-1] if below else levels[0]
        return max((r for r in rows if r.bits == level), key=PriorRow.specificity)


def size_class(params_b: float | None) -> str:
    return "large" if params_b is not None and params_b >= SMALL_BELOW_B else "small"


@cache
def load_priors(name_or_path: str) -> Priors:
    """A name in $QUANTGATE_PRIORS_DIR or the shipped priors (`qllm-eval`), or a path (a
    profile's, relative to its folder: quantgate/profile/loader.py)."""
    path = Path(name_or_path)
    if not is_priors_path(name_or_path):
        where = Path(os.environ.get("QUANTGATE_PRIORS_DIR") or PRIORS_DIR)
        path = where / f"{name_or_path}.yaml"
    try:
        return Priors.model_validate(yaml.safe_load(path.read_text()))
    except OSError as exc:
        raise ConfigError(f"priors {name_or_path!r}: cannot read {path} ({exc.strerror})") from exc
    except ValidationError as exc:
        raise ConfigError(f"{path}: invalid priors: {exc}") from exc
