"""Rules derived from an eval run, and fetching datasets (checksums, offline)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from evalsuite.derive import derive_rules, output_ratios, write_profile
from evalsuite.fetch import fetch, sources
from evalsuite.types import Row
from quantgate.data import data_dir
from quantgate.errors import ConfigError
from quantgate.profile import load_profile

PROFILE = Path(__file__).resolve().parents[2] / "profiles" / "demo-llamacpp.yaml"


def rows(
    variant: str,
    right: int,
    n: int = 100,
    task: str = "gsm8k",
    route: str = "math",
    extra: dict[str, Any] | None = None,
    chance: float | None = 0.0,
) -> list[Row]:
    """Samples s0..s{n-1}; the first `right` answered right (parsed = the gold answer)."""
    return [
        Row(
            task=task,
            route_task=route,
            variant=variant,
            sample=f"s{i}",
            score=float(i < right),
            parsed=f"gold{i}" if i < right else "wrong",
            extra=extra or {},
            chance=chance,
        )
        for i in range(n)
    ]


def yes_no(variant: str, says_no: range, n: int = 100) -> list[Row]:
    """A yes/no task whose gold label is yes for 60 of 100 (chance: 0.6); says yes except
    on `says_no`."""
    return [
        Row(
            task="strategyqa",
            route_task="reasoning",
            variant=variant,
            sample=f"s{i}",
            parsed=i not in says_no,
            score=float((i not in says_no) == (i < 60)),
            chance=0.6,
        )
        for i in range(n)
    ]


def test_rules_are_the_lower_confidence_bound_of_the_paired_ratio() -> None:
    profile = load_profile(PROFILE)
    data = rows("f16", 50) + rows("q8_0", 50) + rows("q3k-mix", 30)
    rules, notes = derive_rules(profile, data, "f16")
    by = {r.variant: r for r in rules}
    assert by["q8_0"].point == 1.0 and by["q8_0"].quality == 1.0  # identical answers
    low = by["q3k-mix"]
    assert low.point == pytest.approx(0.6) and low.quality == low.ci95[0] < 0.6 < low.ci95[1]
    assert (low.task, low.band, low.n, low.tasks) == ("math", "short", 100, ("gsm8k",))
    assert low.metric == "accuracy_ratio" and not notes


def test_at_chance_accuracy_never_becomes_a_rule_agreement_does() -> None:
    """The reference is below chance (0.4 against the majority rate 0.6); a variant that
    flips half its answers scores far better by accuracy, and its rule comes from agreement."""
    profile = load_profile(PROFILE)
    ref = yes_no("f16", range(20))
    data = ref + yes_no("q8_0", range(20)) + yes_no("q3k-mix", range(60, 90))
    assert sum(r.score or 0 for r in ref) == 40
    flipped = [r for r in data if r.variant == "q3k-mix"]
    assert sum(r.score or 0 for r in flipped) == 90  # better than the reference by accuracy
    rules, _ = derive_rules(profile, data, "f16")
    by = {r.variant: r for r in rules}
    assert by["q8_0"].metric == "agreement" and by["q8_0"].quality == 1.0
    low = by["q3k-mix"]
    assert low.metric == "agreement" and low.point == pytest.approx(0.5)
    assert low.quality == low.ci95[0] < 0.5


def test_agreeing_with_a_constant_reference_is_no_rule() -> None:
    """A reference that says "yes" to everything: a variant that does too agrees 100%, and
    that says nothing about reasoning."""
    profile = load_profile(PROFILE)
    always = yes_no("f16", range(0))
    parrot = [replace(r, variant="q3k-mix") for r in always]
    rules, notes = derive_rules(profile, always + parrot, "f16")
    assert not rules and "constant answer says nothing" in notes[0]


def test_a_class_takes_its_weakest_task() -> None:
    profile = load_profile(PROFILE)
    data = rows("f16", 50, task="lambada", route="general")
    data += rows("q3k-mix", 45, task="lambada", route="general")
    data += rows("f16", 50, task="longeval_topics", route="general")
    data += rows("q3k-mix", 25, task="longeval_topics", route="general")
    (rule,) = derive_rules(profile, data, "f16")[0]
    assert rule.tasks == ("longeval_topics",) and rule.point == pytest.approx(0.5)


def test_errors_count_as_failures_and_reference_failures_are_reported() -> None:
    profile = load_profile(PROFILE)
    ref = rows("f16", 50)
    timeouts = [
        replace(r, score=None, parsed=None, error="HTTP 504") if i < 20 else r
        for i, r in enumerate(rows("q4_k_m", 50))
    ]
    (rule,), notes = derive_rules(profile, ref + timeouts, "f16")
    assert rule.point == pytest.approx(30 / 50)  # not 30/30: the timeouts were hard samples
    assert any("20 errors counted as failures" in n for n in notes)
    broken_ref = [
        replace(r, error="HTTP 500", score=None) if i < 5 else r for i, r in enumerate(ref)
    ]
    (rule,), notes = derive_rules(profile, broken_ref + rows("q4_k_m", 50), "f16")
    assert rule.n == 95 and any("5 variant samples dropped" in n for n in notes)


def test_small_or_undefined_groups_keep_the_prior() -> None:
    profile = load_profile(PROFILE)
    few = rows("f16", 5, n=10) + rows("q8_0", 5, n=10)
    rules, notes = derive_rules(profile, few, "f16")
    assert not rules and "10 paired samples" in notes[0]
    # 4 right of 100 is above chance (0) but too few to divide by: 5 vs 4 is not "1.25x"
    lucky = rows("f16", 4, n=100) + rows("q4_k_m", 5, n=100)
    rules, notes = derive_rules(profile, lucky, "f16")
    assert not rules and "no ratio to trust" in notes[0]


def test_long_context_samples_land_in_their_band() -> None:
    profile = load_profile(PROFILE)
    long = {"prompt_tokens": 5000}
    data = rows("f16", 40, task="longeval_lines", route="general", extra=long)
    data += rows("q4_k_m-kv4", 10, task="longeval_lines", route="general", extra=long)
    rules, _ = derive_rules(profile, data, "f16")
    assert [(r.band, r.variant) for r in rules] == [("long", "q4_k_m-kv4")]


def test_written_profile_keeps_comments_and_routes_by_the_rules(tmp_path: Path) -> None:
    from gateway.routing.router import Hints, Router

    profile = load_profile(PROFILE)
    rules, _ = derive_rules(profile, rows("f16", 50) + rows("q3k-mix", 50), "f16")
    out = tmp_path / "measured.yaml"
    write_profile(PROFILE, out, rules, "run-7")
    text = out.read_text()
    assert "# The embedded default" in text and "eval run-7" in text
    derived = load_profile(out)
    routed = Router(derived).route(
        {"messages": [{"role": "user", "content": "If 3 apples cost $6, how much do 5 cost?"}]},
        Hints(task="math", task_source="header"),
    )
    assert routed.decision.chosen == "q3k-mix"  # measured lossless on math: cheapest wins
    chosen = routed.decision.candidates[0]
    assert chosen.quality.source == "measured"
    assert "gsm8k: accuracy_ratio" in text and "metric: accuracy_ratio" in text


def _serve_shared(request: httpx.Request) -> httpx.Response:
    by_url = {row["url"]: row["path"] for row in sources()}
    return httpx.Response(200, content=(data_dir() / by_url[str(request.url)]).read_bytes())


def test_fetch_checks_every_file_and_keeps_good_ones(tmp_path: Path) -> None:
    client = httpx.Client(transport=httpx.MockTransport(_serve_shared))
    done = fetch(tmp_path, client=client)
    assert set(done.values()) == {"fetched"} and len(done) == len(sources())
    assert (tmp_path / "gsm8k" / "test.jsonl").read_bytes() == (
        data_dir() / "gsm8k" / "test.jsonl"
    ).read_bytes()
    assert set(fetch(tmp_path, client=client).values()) == {"kept"}


def test_fetch_refuses_a_wrong_checksum_and_explains_offline(tmp_path: Path) -> None:
    tampered = httpx.Client(
        transport=httpx.MockTransport(lambda r: httpx.Response(200, content=b"x"))
    )
    with pytest.raises(ConfigError, match="sha256"):
        fetch(tmp_path, client=tampered)
    assert not any(tmp_path.rglob("*.jsonl"))  # nothing half-written

    def offline(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("no route", request=request)

    with pytest.raises(ConfigError, match="offline"):
        fetch(tmp_path, client=httpx.Client(transport=httpx.MockTransport(offline)))
    assert json.loads(
        Path(__file__).resolve().parents[2].joinpath("evalsuite", "sources.json").read_text()
    )


def test_output_ratios_reach_the_costs_and_the_policy(tmp_path: Path) -> None:
    from gateway.routing.costs import rates

    ref = [replace(r, completion_tokens=10) for r in rows("f16", 50)]
    wordy = [replace(r, completion_tokens=25) for r in rows("q3k-mix", 50)]
    ratios = output_ratios(ref + wordy, "f16")
    assert ratios["q3k-mix"].ratio == pytest.approx(2.5) and ratios["q3k-mix"].n == 100
    out = tmp_path / "measured.yaml"
    write_profile(PROFILE, out, [], "run-8", ratios)
    derived = load_profile(out)
    cost = derived.routing.costs["q3k-mix"]
    assert cost.output_ratio == pytest.approx(2.5) and cost.prefill_tps is not None  # rates kept
    rate = rates(derived, "f16")["q3k-mix"]
    assert rate.output_ratio == pytest.approx(2.5)
    assert rate.seconds(100, 64) == pytest.approx(
        100 / rate.prefill_tps + 64 * 2.5 / rate.decode_tps
    )


def test_merge_keeps_the_cells_another_run_measured(tmp_path: Path) -> None:
    """The long band measured in its own run (long-context variants, their own reference)
    joins the short band's rules instead of replacing them."""
    profile = load_profile(PROFILE)
    before = {(r.task, r.band, r.variant) for r in profile.routing.rules}
    assert ("general", "short", "q4_k_m") in before
    long = {"prompt_tokens": 6000}
    data = rows("f16-8k", 40, task="longeval_lines", route="general", extra=long)
    data += rows("q4_k_m-kv4-8k", 40, task="longeval_lines", route="general", extra=long)
    rules, _ = derive_rules(profile, data, "f16-8k")
    assert [(r.task, r.band, r.variant) for r in rules] == [("general", "long", "q4_k_m-kv4-8k")]
    merged, replaced = tmp_path / "merged.yaml", tmp_path / "replaced.yaml"
    write_profile(PROFILE, merged, rules, "run-long", merge=True)
    write_profile(PROFILE, replaced, rules, "run-long")
    cells = {(r.task, r.band, r.variant) for r in load_profile(merged).routing.rules}
    assert cells == before | {("general", "long", "q4_k_m-kv4-8k")}
    alone = {(r.task, r.band, r.variant) for r in load_profile(replaced).routing.rules}
    assert alone == {("general", "long", "q4_k_m-kv4-8k")}


def test_a_profile_derived_into_another_folder_still_finds_its_files(tmp_path: Path) -> None:
    """The vLLM demo's chat template is written relative to its folder, and one engine is a
    YAML alias of another: written elsewhere, every relative path names the same file from
    the new folder (rewritten once per mapping), artifact names stay names, and a profile
    written beside its source keeps its paths as written."""
    from quantgate.profile.paths import resolve_path

    source = PROFILE.with_name("demo-vllm-cpu.yaml")
    original = load_profile(source)
    out = tmp_path / "elsewhere" / "derived.yaml"
    write_profile(source, out, [], "run-9")
    derived = load_profile(out)
    for before, after in zip(original.variants, derived.variants, strict=True):
        assert after.engine.artifact == before.engine.artifact  # a name in the build cache
        template = resolve_path(after.engine.chat_template, out.parent)
        assert template.resolve() == resolve_path(before.engine.chat_template, source.parent)
        assert template.is_file()
    beside = tmp_path / "beside.yaml"
    beside.write_text(source.read_text())
    write_profile(beside, tmp_path / "derived.yaml", [], "run-9")
    kept = load_profile(tmp_path / "derived.yaml")
    assert {v.engine.chat_template for v in kept.variants} == {"templates/gemma-turns.jinja"}
