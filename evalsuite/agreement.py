"""Would this user have got the reference's answer? Paired measures of a variant against the
reference on the same samples, after "Accuracy is Not All You Need" (Dutta et al., 2024):

- agreement: the share of samples whose parsed answer equals the reference's (1 - flips); for
  replies without a parsed answer (free generations), whether the first `PREFIX` tokens match;
- prefix match: the first `PREFIX` tokens equal (words where the endpoint gave no tokens);
- KL divergence KL(reference || variant) of the next-token distributions over the answer, from
  the top-k logprobs both endpoints returned (see `kl_topk` for how truncation is handled);
- output-length ratio: the variant's completion tokens over the reference's.

Every function is pure and works on `Row`s; `evalsuite.summary` and `evalsuite.derive` put
paired bootstrap intervals around them.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

from evalsuite.scoring import bootstrap_ci, ratio_ci
from evalsuite.types import Row

PREFIX = 16  # tokens compared by the prefix match
TAIL_FLOOR = 1e-6  # the least probability the variant's tail bucket is given


def pairs(rows: list[Row], reference: str) -> Iterator[tuple[Row, Row]]:
    """(variant row, reference row) for every variant row whose sample the reference answered.
    Samples the reference failed on have no pair (`dropped` counts them)."""
    ref = {(r.task, r.sample): r for r in rows if r.variant == reference}
    for r in rows:
        base = ref.get((r.task, r.sample))
        if r.variant == reference or base is None or base.error is not None:
            continue
        if not r.extra.get("skipped") and not base.extra.get("skipped"):
            yield r, base


def dropped(rows: list[Row], reference: str) -> int:
    """Variant rows without a pair because the reference failed on their sample."""
    failed = {(r.task, r.sample) for r in rows if r.variant == reference and r.error is not None}
    return sum(1 for r in rows if r.variant != reference and (r.task, r.sample) in failed)


def prefix_match(variant: Row, reference: Row) -> bool:
    """The first PREFIX tokens are the same (words, unless both sides have their tokens).
    An error never matches."""
    if variant.error is not None:
        return False
    if variant.tokens and reference.tokens:
        return variant.tokens[:PREFIX] == reference.tokens[:PREFIX]
    return variant.response.split()[:PREFIX] == reference.response.split()[:PREFIX]


def same_answer(variant: Row, reference: Row) -> bool:
    """The parsed answers are equal; for free generations (no parsed answer on either side)
    the prefix matches. A variant that errored never agrees: an error is a flip."""
    if variant.error is not None:
        return False
    if variant.parsed is None and reference.parsed is None:
        return prefix_match(variant, reference)
    return bool(variant.parsed == reference.parsed)


def kl_topk(reference: dict[str, float], variant: dict[str, float]) -> float:
    """KL(P || Q) from top-k logprobs, on the partition {tokens in both top-k lists} + {rest}.

    Each side knows its exact probability of every token it listed, so on the shared tokens
    both are exact and "the rest" is 1 - their sum on each side. Merging outcomes can only
    lower a KL divergence (the data-processing inequality), so this is a lower bound of the
    full-vocabulary KL, exact when both top-k lists hold all the mass. The variant's rest is
    floored at TAIL_FLOOR so that a variant sure of one token stays finite.
    """
    shared = reference.keys() & variant.keys()
    kl = 0.0
    p_sum = q_sum = 0.0
    for token in shared:
        p, q = math.exp(reference[token]), math.exp(variant[token])
        p_sum, q_sum = p_sum + p, q_sum + q
        if p > 0:
            kl += p * (reference[token] - variant[token])
    p_rest = max(0.0, 1.0 - p_sum)
    q_rest = max(TAIL_FLOOR, 1.0 - q_sum)
    if p_rest > 0:
        kl += p_rest * math.log(p_rest / q_rest)
    return max(0.0, kl)


def row_kl(variant: Row, reference: Row) -> float | None:
    """Mean per-token KL over the answer positions where both had generated the same prefix
    (greedy: up to and including the first token where they differ); None without logprobs."""
    if not (
        variant.top_logprobs and reference.top_logprobs and variant.tokens and reference.tokens
    ):
        return None
    values = []
    for i, (p, q) in enumerate(zip(reference.top_logprobs, variant.top_logprobs, strict=False)):
        if not p or not q:
            break
        values.append(kl_topk(p, q))
        if i >= len(reference.tokens) or i >= len(variant.tokens):
            break
        if reference.tokens[i] != variant.tokens[i]:
            break
    return sum(values) / len(values) if values else None


def above_chance(scores: list[float], chance: float | None) -> bool | None:
    """Whether the lower bound of the scores' 95% bootstrap interval is above `chance`; None
    where the task's score is not a correctness (no chance level)."""
    if chance is None:
        return None
    ci = bootstrap_ci(scores)
    return ci is not None and ci[0] > chance


def token_pairs(paired: list[tuple[Row, Row]]) -> list[tuple[float, float]]:
    """(variant, reference) completion tokens, where both sides counted them."""
    return [
        (float(v.completion_tokens), float(r.completion_tokens))
        for v, r in paired
        if v.completion_tokens is not None and r.completion_tokens
    ]


def measures(paired: list[tuple[Row, Row]]) -> dict[str, object]:
    """Agreement, prefix match, KL and output-length ratio over (variant, reference) pairs,
    each with its point and paired 95% bootstrap interval (None where nothing to measure)."""
    agree = [float(same_answer(v, r)) for v, r in paired]
    prefix = [float(prefix_match(v, r)) for v, r in paired]
    kls = [k for v, r in paired if (k := row_kl(v, r)) is not None]
    lengths = token_pairs(paired)
    ref_tokens = sum(r for _, r in lengths)
    return {
        "agreement": sum(agree) / len(agree) if agree else None,
        "agreement_ci95": bootstrap_ci(agree),
        "prefix_match": sum(prefix) / len(prefix) if prefix else None,
        "kl": sum(kls) / len(kls) if kls else None,
        "kl_ci95": bootstrap_ci(kls),
        "kl_n": len(kls),
        "length_ratio": sum(v for v, _ in lengths) / ref_tokens if ref_tokens else None,
        "length_ratio_ci95": ratio_ci(lengths) if ref_tokens else None,
    }
