"""Resolve the `model` a client sent: automatic routing, or one pinned variant.

`<model>` lets the router choose (gateway/routing/router.py); `<model>@<variant>` pins one
variant (no failover: the caller asked for exactly that one).
"""

from __future__ import annotations

from quantgate.errors import ModelNotFound
from quantgate.profile import Profile


def pinned_variant(profile: Profile, model: str) -> str | None:
    """None for automatic routing, the variant's name when pinned; 404 for anything else."""
    if model == profile.model:
        return None
    base, sep, name = model.partition("@")
    if sep and base == profile.model and any(v.name == name for v in profile.variants):
        return name
    raise ModelNotFound(
        f"The model `{model}` does not exist. Available: {', '.join(profile.model_ids())}",
        param="model",
    )
