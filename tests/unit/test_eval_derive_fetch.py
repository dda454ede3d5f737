"""Rules derived from an eval run, and fetching datasets (checksums, offline)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from evalsuite.derive import derive_rules, write_profile
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
) -> list[Row]:
    return [
        Row(
            task=task,
            route_task=route,
            variant=variant,
            sample=f"s{i}",
            score=float(i < right),
            extra=extra or {},
        )
        for i in range(n)
    ]


def test_rules_are_the_lower_confidence_bound_of_the_paired_ratio() -> None:
    profile = load_profile(PROFILE)
    data = rows("f16", 50) + rows("q8_0", 50) + rows("q3k-mix", 30)
    rules, skipped = derive_rules(profile, data, "f16")
    by = {r.variant: r for r in rules}
    assert by["q8_0"].point == 1.0 and by["q8_0"].quality == 1.0  # identical answers
    low = by["q3k-mix"]
    assert low.point == pytest.approx(0.6) and low.quality == low.ci95[0] < 0.6 < low.ci95[1]
    assert (low.task, low.band, low.n, low.tasks) == ("math", "short", 100, ("gsm8k",))
    assert not skipped


def test_small_or_undefined_groups_keep_the_prior() -> None:
    profile = load_profile(PROFILE)
    few = rows("f16", 5, n=10) + rows("q8_0", 5, n=10)
    rules, skipped = derive_rules(profile, few, "f16")
    assert not rules and "10 paired samples" in skipped[0]
    never = rows("f16", 0) + rows("q8_0", 10)
    rules, skipped = derive_rules(profile, never, "f16")
    assert not rules and "the reference scored 0" in skipped[0]
    lucky = rows("f16", 1, n=30) + rows("q4_k_m", 2, n=30)  # 2/30 vs 1/30 is not "2x"
    rules, skipped = derive_rules(profile, lucky, "f16")
    assert not rules and "no ratio to trust" in skipped[0]


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
