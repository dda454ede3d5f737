"""Resolve the `model` a client sent into the ordered variants to try.

`<model>@<variant>` pins one variant (no failover: the caller asked for exactly that one).
`<model>` starts at the profile's default variant and falls back up the precision ladder (the
next more precise variant first, the reference last); variants less precise than the default
come only after that, most precise first, so a failover lowers quality only as a last resort.
"""

from __future__ import annotations

from dataclasses import dataclass

from quantgate.errors import ModelNotFound
from quantgate.profile import Profile


@dataclass(frozen=True)
class Route:
    variants: tuple[str, ...]
    pinned: bool


def resolve(profile: Profile, model: str) -> Route:
    if model == profile.model:
        default = profile.variant(profile.default_variant)
        rank = default.quant.precision_rank
        others = [v for v in profile.variants if v is not default]
        up = sorted(
            (v for v in others if v.quant.precision_rank >= rank),
            key=lambda v: v.quant.precision_rank,
        )
        down = sorted(
            (v for v in others if v.quant.precision_rank < rank),
            key=lambda v: v.quant.precision_rank,
            reverse=True,
        )
        return Route(tuple(v.name for v in (default, *up, *down)), pinned=False)
    base, sep, name = model.partition("@")
    if sep and base == profile.model and any(v.name == name for v in profile.variants):
        return Route((name,), pinned=True)
    raise ModelNotFound(
        f"The model `{model}` does not exist. Available: {', '.join(profile.model_ids())}",
        param="model",
    )
