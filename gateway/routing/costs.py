"""Predicted latency per variant: prompt_tokens / prefill rate + max_tokens x output ratio /
decode rate. The output ratio (a variant's completion tokens over the reference's, measured by
the eval) makes a variant that talks longer cost what it costs per request, not per token.

Rates come from the profile's measured cost table (`routing.costs`, filled by `quantgate
loadtest --write-costs`). A variant without a measurement borrows the one of a measured variant
with the same weights and activations (a KV-cache twin); failing that, a default by bits that
follows the seed's speed finding (weight-only quantization speeds decoding, can slow prefill;
INT8 activations speed prefill), scaled to the reference's measurement when there is one.
"""

from __future__ import annotations

from dataclasses import dataclass

from quantgate.profile import Profile, QuantSpec

PREFILL_TPS = 1000.0  # unmeasured reference: only ratios matter between defaults
DECODE_TPS = 50.0


@dataclass(frozen=True)
class Rate:
    prefill_tps: float
    decode_tps: float
    source: str  # measured | twin:<variant> | default
    output_ratio: float = 1.0

    def seconds(self, prompt_tokens: int, max_tokens: int) -> float:
        return prompt_tokens / self.prefill_tps + max_tokens * self.output_ratio / self.decode_tps


def _by_bits(q: QuantSpec) -> tuple[float, float]:
    """Default speed-up factors (prefill, decode) relative to an unquantized model."""
    weight_only = q.w_bits < 16 and q.a_bits >= 16
    prefill = (1.5 if q.a_bits <= 8 else 1.0) * (0.9 if weight_only else 1.0)
    decode = (16 / q.w_bits) ** 0.5
    return prefill, decode


def rates(profile: Profile, reference: str) -> dict[str, Rate]:
    measured = profile.routing.costs
    ref = measured.get(reference)
    if ref is not None and ref.prefill_tps and ref.decode_tps:
        base = (ref.prefill_tps, ref.decode_tps)
    else:
        ref, base = None, (PREFILL_TPS, DECODE_TPS)
    ref_p, ref_d = _by_bits(profile.variant(reference).quant) if ref else (1.0, 1.0)
    out = {}
    for v in profile.variants:
        own = measured.get(v.name)
        ratio = own.output_ratio if own is not None else 1.0
        if own is not None and own.prefill_tps and own.decode_tps:
            out[v.name] = Rate(own.prefill_tps, own.decode_tps, "measured", ratio)
            continue
        twin = next(
            (
                t
                for t in profile.variants
                if (c := measured.get(t.name)) is not None
                and c.prefill_tps
                and (t.quant.w_bits, t.quant.a_bits, t.quant.method)
                == (v.quant.w_bits, v.quant.a_bits, v.quant.method)
            ),
            None,
        )
        if twin is not None:
            c = measured[twin.name]
            assert c.prefill_tps and c.decode_tps
            out[v.name] = Rate(c.prefill_tps, c.decode_tps, f"twin:{twin.name}", ratio)
            continue
        p, d = _by_bits(v.quant)
        out[v.name] = Rate(base[0] * p / ref_p, base[1] * d / ref_d, "default", ratio)
    return out
