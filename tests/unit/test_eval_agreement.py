"""Paired measures against the reference on hand-made samples: agreement, prefix match, KL on
truncated top-k distributions, output-length ratio, chance flags."""

from __future__ import annotations

import math

import pytest

from evalsuite.agreement import above_chance, kl_topk, measures, row_kl, same_answer
from evalsuite.scoring import majority_chance, options_chance
from evalsuite.summary import summarize
from evalsuite.types import Row, Sample


def row(variant: str, sample: str = "s0", **fields: object) -> Row:
    base: dict[str, object] = {"task": "t", "route_task": "general", "score": 1.0}
    return Row(**{**base, **fields}, variant=variant, sample=sample)  # type: ignore[arg-type]


def lp(**probs: float) -> dict[str, float]:
    return {token: math.log(p) for token, p in probs.items()}


def test_kl_is_exact_when_the_top_k_hold_all_the_mass() -> None:
    p, q = {"a": 0.5, "b": 0.5}, {"a": 0.9, "b": 0.1}
    exact = sum(p[t] * math.log(p[t] / q[t]) for t in p)
    assert kl_topk(lp(**p), lp(**q)) == pytest.approx(exact)
    assert kl_topk(lp(**p), lp(**p)) == pytest.approx(0.0)


def test_kl_on_truncated_lists_is_a_lower_bound_over_shared_tokens_and_a_rest_bucket() -> None:
    # full distributions: P = (.6 a, .3 b, .1 c), Q = (.2 a, .3 b, .5 c); top-2 lists only
    full = 0.6 * math.log(0.6 / 0.2) + 0.3 * math.log(1) + 0.1 * math.log(0.1 / 0.5)
    truncated = kl_topk(lp(a=0.6, b=0.3), lp(c=0.5, b=0.3))
    # shared: b (.3 vs .3); rest: P .7 vs Q .7 -> the coarsening sees no difference
    assert truncated == pytest.approx(0.0, abs=1e-12) and truncated <= full
    shared_a = kl_topk(lp(a=0.6, b=0.3), lp(a=0.2, b=0.3))
    coarse = 0.6 * math.log(3) + 0.3 * 0 + 0.1 * math.log(0.1 / 0.5)
    assert shared_a == pytest.approx(coarse) and shared_a <= full + 1e-12


def test_kl_stays_finite_when_the_variant_is_sure() -> None:
    assert math.isfinite(kl_topk(lp(a=0.5, b=0.4), lp(a=1.0)))


def test_row_kl_stops_after_the_first_differing_token() -> None:
    same = [lp(x=0.9, y=0.1)] * 3
    ref = row("ref", tokens=["x", "x", "x"], top_logprobs=same)
    variant = row(
        "v",
        tokens=["x", "y", "z"],
        top_logprobs=[lp(x=0.9, y=0.1), lp(x=0.4, y=0.6), lp(x=0.01, y=0.01)],
    )
    second = kl_topk(lp(x=0.9, y=0.1), lp(x=0.4, y=0.6))
    # positions 0 and 1 (where they differ, after the same prefix); never position 2
    assert row_kl(variant, ref) == pytest.approx(second / 2)
    assert row_kl(row("v"), ref) is None  # no logprobs: no KL


def test_agreement_compares_parsed_answers_and_errors_are_flips() -> None:
    ref = row("ref", parsed="B")
    assert same_answer(row("v", parsed="B", score=0.0), ref)
    assert not same_answer(row("v", parsed="C"), ref)
    assert not same_answer(row("v", parsed="B", error="HTTP 504"), ref)
    # free generations: the first tokens (words here) decide
    gen_ref = row("ref", response="The cat sat on the mat and then it slept")
    assert same_answer(row("v", response="The cat sat on the mat and then it slept"), gen_ref)
    assert not same_answer(row("v", response="A dog sat on the mat"), gen_ref)


def test_measures_with_paired_intervals() -> None:
    pairs = []
    for i in range(40):
        ref = row("ref", f"s{i}", parsed="A", completion_tokens=10)
        variant = row("v", f"s{i}", parsed="A" if i < 30 else "B", completion_tokens=15)
        pairs.append((variant, ref))
    m = measures(pairs)
    assert m["agreement"] == pytest.approx(0.75)
    low, high = m["agreement_ci95"]  # type: ignore[misc]
    assert low < 0.75 < high
    assert m["length_ratio"] == pytest.approx(1.5) and m["kl"] is None and m["kl_n"] == 0


def test_chance_levels_and_the_flag() -> None:
    mc = [
        Sample("a", 0, {"options": ["w", "x", "y", "z"]}),
        Sample("b", 1, {"options": ["p", "q"]}),
    ]
    assert options_chance(mc) == pytest.approx((0.25 + 0.5) / 2)
    yes_no = [Sample(str(i), i < 7, {}) for i in range(10)]
    assert majority_chance(yes_no) == pytest.approx(0.7)
    assert above_chance([1.0] * 60 + [0.0] * 40, 0.25) is True
    assert above_chance([1.0] * 26 + [0.0] * 74, 0.25) is False  # 0.26 is not significantly more
    assert above_chance([1.0], None) is None


def test_summary_flags_a_reference_at_chance_and_reports_agreement() -> None:
    rows = [row("ref", f"s{i}", parsed=True, score=float(i < 60), chance=0.6) for i in range(100)]
    rows += [
        row("v", f"s{i}", parsed=i < 80, score=float((i < 80) == (i < 60)), chance=0.6)
        for i in range(100)
    ]
    task = summarize(rows, "ref")["tasks"]["t"]
    assert task["chance"] == 0.6 and task["reference_above_chance"] is False
    assert task["variants"]["v"]["agreement"] == pytest.approx(0.8)
