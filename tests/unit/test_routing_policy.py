"""The routing policy on the demo profiles: the issue's must-hold cases, decided in-process."""

from __future__ import annotations

import random
from collections.abc import Mapping
from pathlib import Path

import pytest

from gateway.routing.policy import Decision
from gateway.routing.router import Hints, Routed, Router, either_way
from quantgate.errors import ContextLengthExceeded, QuantgateError, ToleranceUnmet
from quantgate.profile import Profile, load_profile

PROFILES = Path(__file__).resolve().parents[2] / "profiles"
GSM8K = (
    "Janet's ducks lay 16 eggs per day. She eats three for breakfast every morning and bakes "
    "muffins for her friends every day with four. She sells the remainder at the farmers' "
    "market daily for $2 per fresh duck egg. How much in dollars does she make every day at "
    "the farmers' market?"
)
GENERAL = "Tell me about the history of the Eiffel Tower."


def chat(text: str, **extra: object) -> dict[str, object]:
    return {"messages": [{"role": "user", "content": text}], **extra}


def retrieval_prompt(lines: int, seed: int = 0) -> str:
    """A LongEval-lines style prompt (the LongChat format), about 17 tokens per line."""
    rng = random.Random(seed)
    words = ["amber", "brisk", "cobalt", "dusty", "eager", "fancy", "gusty", "hollow", "icy"]
    names = [f"{rng.choice(words)}-{rng.choice(words)}{i}" for i in range(lines)]
    body = "\n".join(f"line {n}: REGISTER_CONTENT is <{rng.randrange(50000)}>" for n in names)
    return (
        "Below is a record of lines I want you to remember. Each line begins with 'line <line "
        "index>' and contains a '<REGISTER_CONTENT>' at the end of the line as a numerical "
        "value. For each line index, memorize its corresponding <REGISTER_CONTENT>. At the end "
        "of the record, I will ask you to retrieve the corresponding <REGISTER_CONTENT> of a "
        f"certain line index. Now the record start:\n\n{body}\n\nNow the record is over. Tell "
        f"me what is the <REGISTER_CONTENT> in line {names[lines // 2]}? I need the number."
    )


@pytest.fixture(params=["demo-llamacpp.yaml", "demo-vllm-cpu.yaml"])
def demo(request: pytest.FixtureRequest) -> Profile:
    return load_profile(PROFILES / request.param)


def widened(profile: Profile, max_context: int) -> Profile:
    variants = [v.model_copy(update={"max_context": max_context}) for v in profile.variants]
    return profile.model_copy(update={"variants": variants})


def w_bits(profile: Profile, name: str) -> float:
    return profile.variant(name).quant.w_bits


def test_gsm8k_question_routes_to_w8_or_better(demo: Profile) -> None:
    routed = Router(demo).route(chat(GSM8K), Hints())
    assert routed.decision.task == "math"
    assert all(w_bits(demo, name) >= 8 for name in routed.decision.order)
    w4 = [
        c
        for c in routed.decision.candidates
        if w_bits(demo, c.variant) < 8 and not demo.variant(c.variant).bands  # short band's
    ]
    assert w4 and all(c.status == "below-tolerance" for c in w4)


def test_long_retrieval_never_routes_to_kv4(demo: Profile) -> None:
    profile = widened(demo, 16384)  # the demos stop at 2k/4k; give every variant room
    router = Router(profile)
    body = chat(retrieval_prompt(500), max_tokens=16)
    tokens = router.counter.count(body)
    assert min(tokens.values()) > 6000
    routed = router.route(body, Hints())
    assert routed.decision.band == "long"
    assert all(profile.variant(n).quant.kv_bits > 4 for n in routed.decision.order)
    if any(v.quant.kv_bits == 4 for v in profile.variants):
        kv4 = [c for c in routed.decision.candidates if c.variant.endswith("kv4")]
        assert kv4 and kv4[0].status == "below-tolerance"


def test_long_prompt_beyond_every_context_is_refused(demo: Profile) -> None:
    with pytest.raises(ContextLengthExceeded) as info:
        Router(demo).route(chat(retrieval_prompt(700)), Hints())  # 8.6k tokens
    assert info.value.status == 400
    assert info.value.code == "context_length_exceeded"
    assert str(max(v.max_context for v in demo.variants)) in info.value.message


def test_short_general_question_takes_the_cheapest_admissible_variant(demo: Profile) -> None:
    router = Router(demo)
    routed = router.route(chat(GENERAL, max_tokens=64), Hints())
    d = routed.decision
    assert d.task == "general" and d.band == "short"
    admissible = [c for c in d.candidates if c.status in ("chosen", "fallback")]
    assert d.chosen == min(admissible, key=lambda c: c.predicted_s).variant
    assert all(c.quality.value >= 1 - d.tolerance for c in admissible)
    too_lossy = [c for c in d.candidates if c.status == "below-tolerance"]
    assert all(c.quality.value < 1 - d.tolerance for c in too_lossy)


def test_weight_only_w4_wins_decode_heavy_w8a8_prefill_heavy_with_default_costs() -> None:
    profile = load_profile(PROFILES / "demo-vllm-cpu.yaml")
    # defaults by bits, priors for quality (the demo's measured rules keep W4 out)
    routing = profile.routing.model_copy(update={"costs": {}, "rules": []})
    router = Router(profile.model_copy(update={"routing": routing}))
    decode_heavy = router.route(chat(GENERAL, max_tokens=512), Hints(), tokens=_same(profile, 20))
    assert decode_heavy.decision.chosen == "w4a16"
    prefill_heavy = router.route(chat(GENERAL, max_tokens=4), Hints(), tokens=_same(profile, 3000))
    assert prefill_heavy.decision.chosen == "w8a8"


def _same(profile: Profile, n: int) -> dict[str, int]:
    return {v.name: n for v in profile.variants}


@pytest.mark.parametrize("text", [GSM8K, GENERAL, "Write a haiku about rain.", "2 + 2 ="])
def test_zero_tolerance_admits_only_the_reference_and_what_was_measured_lossless(
    demo: Profile, text: str
) -> None:
    router = Router(demo)
    routed = router.route(chat(text), Hints(tolerance=0.0))
    assert router.reference in routed.decision.order
    quality = {c.variant: c.quality for c in routed.decision.candidates}
    for variant in routed.decision.order:
        q = quality[variant]
        assert variant == router.reference or (q.source == "measured" and q.value >= 1.0)


LOOSE = Hints(tolerance=0.5)  # several variants admissible, whatever the measurements say


def test_unhealthy_cheapest_variant_is_skipped_with_the_reason(demo: Profile) -> None:
    router = Router(demo)
    cheapest = router.route(chat(GENERAL), LOOSE).decision.chosen
    routed = router.route(chat(GENERAL), LOOSE, unhealthy={cheapest})
    assert routed.decision.chosen != cheapest
    assert cheapest not in routed.decision.order
    assert f"{cheapest} unhealthy" in routed.decision.summary


def test_saturated_variant_is_tried_last(demo: Profile) -> None:
    router = Router(demo)
    first = router.route(chat(GENERAL), LOOSE).decision
    routed = router.route(chat(GENERAL), LOOSE, saturated={first.chosen}).decision
    assert routed.order[-1] == first.chosen and routed.chosen != first.chosen
    assert f"{first.chosen} saturated" in routed.summary


def test_explicit_task_overrides_the_classifier(demo: Profile) -> None:
    router = Router(demo)
    routed = router.route(chat(GENERAL), Hints(task="math", task_source="header"))
    assert routed.decision.task == "math" and routed.classification is None
    assert all(w_bits(demo, n) >= 8 for n in routed.decision.order)


def test_wider_tolerance_admits_w4_for_math(demo: Profile) -> None:
    routed = Router(demo).route(chat(GSM8K), Hints(tolerance=0.15))
    assert any(w_bits(demo, n) < 8 for n in routed.decision.order)


def test_only_too_lossy_variants_fitting_is_refused_with_the_tolerance_to_set() -> None:
    profile = load_profile(PROFILES / "demo-llamacpp.yaml")
    variants = [
        v.model_copy(update={"max_context": 16384 if v.name == "q4_k_m-kv4" else 2048})
        for v in profile.variants
    ]
    router = Router(profile.model_copy(update={"variants": variants}))
    with pytest.raises(ToleranceUnmet) as info:
        router.route(chat(retrieval_prompt(500)), Hints())
    assert info.value.code == "quality_tolerance_unmet"
    assert (
        "q4_k_m-kv4" in info.value.message and "X-Quantgate-Max-Quality-Loss" in info.value.message
    )


def test_measured_rule_overrides_the_prior() -> None:
    from quantgate.profile import Evidence, QualityRule

    profile = load_profile(PROFILES / "demo-llamacpp.yaml")
    evidence = Evidence(source="measured", ref="run-1", n=200, ci95=(0.97, 1.0))
    rule = QualityRule(
        task="math", band="short", variant="q3k-mix", quality=0.99, evidence=evidence
    )
    rules = [r for r in profile.routing.rules if (r.task, r.band) != ("math", "short")]
    routing = profile.routing.model_copy(update={"rules": [*rules, rule]})
    router = Router(profile.model_copy(update={"routing": routing}))
    routed = router.route(chat(GSM8K), Hints())
    assert routed.decision.chosen == "q3k-mix"
    chosen = routed.decision.candidates[0]
    assert chosen.quality.source == "measured" and chosen.quality.ref == "run-1"


def test_decisions_are_deterministic(demo: Profile) -> None:
    router = Router(demo)
    first = router.route(chat(GSM8K), Hints()).decision
    again = Router(demo).route(chat(GSM8K), Hints()).decision
    assert first == again


def test_the_8k_twins_take_only_what_the_2k_variants_cannot() -> None:
    """The shipped llama.cpp demo: a short prompt never goes to a band-restricted variant; a
    6k-token prompt goes to an 8k one, never KV4: measured (docs/eval-demo-long), KV4 flips
    most long-context answers, KV8 fewer."""
    profile = load_profile(PROFILES / "demo-llamacpp.yaml")
    restricted = {v.name for v in profile.variants if v.bands}
    assert restricted == {"f16-8k", "q4_k_m-kv8-8k", "q4_k_m-kv4-8k"}
    router = Router(profile)
    short = router.route(chat(GENERAL, max_tokens=64), Hints(tolerance=0.5)).decision
    assert short.band == "short" and not restricted & set(short.order)
    assert "-8k" not in short.summary  # passed over without a word
    body = chat(retrieval_prompt(500), max_tokens=16)
    assert 6000 < max(router.counter.count(body).values()) + 16 <= 8192
    decision = router.route(body, Hints(tolerance=0.10)).decision
    assert decision.band == "long" and set(decision.order) <= restricted
    found = {c.variant: c for c in decision.candidates}
    kv4, kv8 = found["q4_k_m-kv4-8k"], found["q4_k_m-kv8-8k"]
    assert kv4.status == "below-tolerance" and kv4.quality.source == "measured"
    assert kv4.quality.value < kv8.quality.value  # the seed's KV finding, measured here
    wide = router.route(body, Hints(tolerance=0.5)).decision  # admits KV8, still not KV4
    assert "q4_k_m-kv8-8k" in wide.order and "q4_k_m-kv4-8k" not in wide.order


def test_unsure_below_sets_when_the_runner_up_class_must_be_served_too(demo: Profile) -> None:
    def routed(below: float) -> Routed:
        routing = demo.routing.model_copy(update={"unsure_below": below})
        return Router(demo.model_copy(update={"routing": routing})).route(chat(GSM8K), Hints())

    sure = routed(0.0)  # never unsure: the class chosen alone
    found = sure.classification
    assert found is not None and not found.unsure and "unsure" not in sure.decision.summary
    always = routed(1.0)  # always unsure: the runner-up's quality is required too
    assert always.classification is not None and always.classification.unsure
    assert f"unsure, also {found.runner_up}" in always.decision.summary
    with pytest.raises(ValueError, match="unsure_below"):
        Profile.model_validate(
            demo.model_dump() | {"routing": {**demo.routing.model_dump(), "unsure_below": 1.5}}
        )


def test_a_size_that_allows_one_count_is_decided_once() -> None:
    """An estimate's bounds are one count: the decision at it is the decision, made once;
    bounds that differ are decided at both ends, and kept only when both agree."""
    made: list[dict[str, int]] = []
    decision = Decision("general", "short", 0.02, 16, ("a",), (), "general/short: a")

    def decide(tokens: Mapping[str, int]) -> Decision:
        made.append(dict(tokens))
        return decision

    assert either_way(decide, {"a": (9, 9), "b": (9, 9)}) is decision
    assert made == [{"a": 9, "b": 9}]
    made.clear()
    assert either_way(decide, {"a": (3, 9), "b": (9, 9)}) is decision
    assert made == [{"a": 9, "b": 9}, {"a": 3, "b": 9}]


def test_uncounted_decisions_hold_with_outages_saturation_and_any_tolerance(demo: Profile) -> None:
    """The router decides from a prompt's size alone when the decisions at the fewest and
    the most tokens it allows agree (once: policy.holds_at redoes only the ranking). That
    decision is the one the count gives: band, order, summary and every status, on random
    prompts of every band and past the 2k variants' context, with outages, saturated
    variants, tolerances and completion lengths drawn at random."""
    from gateway.routing.tokens import Counter, PromptCounter, render_plain
    from tests.unit.test_prompt_bounds import Pieces

    pieces = Pieces()
    counter = PromptCounter({v.name: Counter(pieces, render_plain, "plain") for v in demo.variants})
    router = Router(demo, counter)
    names = [v.name for v in demo.variants]
    rng = random.Random(7)
    alphabet = ["a", "b", "c", " ", "bc", "x", "abc ", "\n"]
    uncounted = counted = 0
    for _ in range(400):
        size = rng.choice([20, 200, 900, 1500, 2500, 4000, 7000])
        text = "".join(rng.choices(alphabet, k=rng.randrange(size // 2, size)))
        body = chat(text, max_tokens=rng.choice([1, 16, 256, 1500]))
        task = rng.choice([None, "math", "general", "code"])
        hints = Hints(task, "header" if task else "classifier", rng.choice([0.02, 0.1, 0.5]))
        down = set(rng.sample(names, rng.choice([0, 0, 1, 3])))
        busy = set(rng.sample(names, rng.choice([0, 0, 0, 2])))
        options = {"unhealthy": down, "saturated": busy}
        try:
            fast = router.route(body, hints, **options)
        except QuantgateError as refused:
            with pytest.raises(type(refused)):
                router.route(body, hints, tokens=counter.count(body), **options)
            continue
        if fast.tokens:  # the count could change the decision: counted
            counted += 1
            continue
        uncounted += 1
        exact = router.route(body, hints, tokens=counter.count(body), **options).decision
        decided = fast.decision
        assert (decided.band, decided.order, decided.summary) == (
            exact.band,
            exact.order,
            exact.summary,
        ), text[:40]
        assert {c.variant: c.status for c in decided.candidates} == {
            c.variant: c.status for c in exact.candidates
        }
    assert uncounted > 50 and counted > 50, (uncounted, counted)


def test_a_loss_that_ranks_cheaper_at_one_end_only_is_decided_at_both() -> None:
    """A variant below tolerance that is cheaper than the one chosen at the most tokens but
    dearer at the fewest (slow prefill, fast decode) changes the summary between the ends:
    `holds_at` says so, and the router counts."""
    from gateway.routing.costs import Rate
    from gateway.routing.policy import Slot, decide, holds_at
    from gateway.routing.quality import Quality

    slots = (
        Slot("lossy", 8192, None, "", Rate(100.0, 100.0, "measured"), (-4.0, -16.0, -16.0, 0)),
        Slot("ref", 8192, None, "", Rate(1000.0, 20.0, "measured"), (-16.0, -16.0, -16.0, 1)),
    )
    table = {
        ("general", "short", "lossy"): Quality(0.5, "measured", "run"),
        ("general", "short", "ref"): Quality(1.0, "reference", "run"),
    }

    def at(tokens: Mapping[str, int]) -> Decision:
        return decide(
            task="general", band="short", tolerance=0.05, max_tokens=10, fit_tokens=1,
            tokens=tokens, slots=slots, table=table,
        )  # fmt: skip

    fewest, most = at({"lossy": 1, "ref": 1}), at({"lossy": 900, "ref": 900})
    assert fewest.order == most.order == ("ref",)
    assert "lossy" in fewest.summary and "lossy" not in most.summary
    by_name = {s.name: s for s in slots}
    assert not holds_at(most, {"lossy": 1, "ref": 1}, by_name)
    assert holds_at(most, {"lossy": 800, "ref": 800}, by_name)
    assert either_way(at, {"lossy": (1, 900), "ref": (1, 900)}) is None
