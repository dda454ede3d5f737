"""The quality table: each (task, band, variant) -> quality relative to the reference.

A measured rule in the profile (`routing.rules`, written by `quantgate derive`) wins over the
priors for its (task, band, variant); the reference is 1.0 by definition.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.routing.priors import LONG_FROM, load_priors, size_class
from quantgate.profile import Profile
from quantgate.vocabulary import TASKS


@dataclass(frozen=True)
class Quality:
    value: float
    source: str  # reference | measured | prior
    ref: str  # the run id, or the priors' source keys


def reference(profile: Profile) -> str:
    """The profile's reference, else its most precise variant."""
    if profile.routing.reference:
        return profile.routing.reference
    return max(profile.variants, key=lambda v: v.quant.precision_rank).name


def quality_table(profile: Profile) -> dict[tuple[str, str, str], Quality]:
    priors = load_priors(profile.routing.priors)
    size = size_class(profile.params_b)
    ref = reference(profile)
    measured = {(r.task, r.band, r.variant): r for r in profile.routing.rules}
    table = {}
    lower = 0
    for band in profile.routing.bands:
        long_band = lower >= LONG_FROM
        for task in TASKS:
            for v in profile.variants:
                key = (task, band.name, v.name)
                rule = measured.get(key)
                if v.name == ref:
                    table[key] = Quality(1.0, "reference", ref)
                elif rule is not None:
                    table[key] = Quality(rule.quality, "measured", rule.evidence.ref)
                else:
                    value, cited = priors.quality(task, v.quant, size, long_band)
                    table[key] = Quality(round(value, 4), "prior", " ".join(cited) or "unquantized")
        lower = band.max_tokens or lower
    return table
