"""The quality table: each (task, band, variant) -> quality relative to the reference.

A measured rule in the profile (`routing.rules`, written by `quantgate derive`) wins over the
priors for its (task, band, variant); the reference is 1.0 by definition. A prior is never
above what was measured for the same task and variant at a shorter band (source `capped`):
quantization error does not shrink as the context grows (Qllm-Eval: long inputs are the more
sensitive), so a variant measured at 0.15 on short prompts is not let in on medium ones by a
0.98 prior.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.routing.priors import LONG_FROM, load_priors, size_class
from quantgate.profile import Profile
from quantgate.vocabulary import TASKS


@dataclass(frozen=True)
class Quality:
    value: float
    source: str  # reference | measured | prior | capped (a prior, lowered to a shorter band's)
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
    shorter: dict[tuple[str, str], tuple[float, str]] = {}  # (task, variant) -> lowest measured
    lower = 0
    for band in profile.routing.bands:
        long_band = lower >= LONG_FROM
        for task in TASKS:
            for v in profile.variants:
                key = (task, band.name, v.name)
                rule = measured.get(key)
                if v.name == ref:
                    table[key] = Quality(1.0, "reference", ref)
                    continue
                if rule is not None:
                    table[key] = Quality(rule.quality, "measured", rule.evidence.ref)
                    cap = shorter.get((task, v.name))
                    if cap is None or rule.quality < cap[0]:
                        shorter[task, v.name] = (rule.quality, f"{band.name} {rule.evidence.ref}")
                    continue
                value, cited = priors.quality(task, v.quant, size, long_band)
                cap = shorter.get((task, v.name))
                if cap is not None and cap[0] < value:
                    table[key] = Quality(cap[0], "capped", f"measured at {cap[1]}")
                else:
                    table[key] = Quality(round(value, 4), "prior", " ".join(cited) or "unquantized")
        lower = band.max_tokens or lower
    return table
