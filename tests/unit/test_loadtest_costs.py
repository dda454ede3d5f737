"""The cost table derived from a run and written into a profile."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Literal

import pytest

from loadtest.costs import Cost, derive_costs, write_costs
from loadtest.types import RequestResult
from quantgate.errors import ConfigError
from quantgate.profile import load_profile

REPO = Path(__file__).resolve().parents[2]


def result(
    variant: str,
    ttft: float,
    decode: float,
    prompt: int | None,
    completion: int | None,
    status: Literal["ok", "errored", "cancelled"] = "ok",
) -> RequestResult:
    events = completion or 4
    times = [ttft + i * decode for i in range(events)]
    return RequestResult(
        index=0,
        variant=variant,
        scheduled=0.0,
        start=0.0,
        end=times[-1],
        token_times=times,
        prompt_tokens=prompt,
        completion_tokens=completion,
        status=status,
    )


def test_costs_are_medians_of_prompt_over_ttft_and_one_over_tpot() -> None:
    results = [
        result("w4", 0.5, 0.02, 500, 100),
        result("w4", 1.0, 0.02, 500, 100),
        result("w4", 0.25, 0.04, 500, 100),
        result("ref", 0.5, 0.05, None, None),  # no usage
        result("bad", 0.1, 0.01, 500, 100, status="errored"),
    ]
    costs, missing = derive_costs(results)
    assert costs == {"w4": Cost(1000.0, 50.0, 3, (1000.0, 50.0))}
    assert "no usage" in missing["ref"] and missing["bad"] == "no successful request"


def test_each_rate_comes_only_from_requests_that_can_measure_it() -> None:
    # a decode-heavy request's 64-token prompt: its TTFT is the engine's fixed cost, not prefill
    decode_heavy = [result("v", 0.1, 0.02, 64, 256) for _ in range(3)]
    prefill_heavy = [result("v", 0.5, 0.05, 1024, 16) for _ in range(2)]
    assert derive_costs(decode_heavy)[0] == {"v": Cost(None, 50.0, 3, (640.0, 50.0))}
    assert derive_costs(prefill_heavy)[0] == {"v": Cost(2048.0, None, 2, (2048.0, 20.0))}
    both = derive_costs(decode_heavy + prefill_heavy)[0]["v"]
    assert (both.prefill_tps, both.decode_tps, both.n) == (2048.0, 50.0, 2)
    costs, missing = derive_costs([result("v", 0.1, 0.02, 64, 16)])
    assert costs == {} and "too short" in missing["v"]


def test_a_rate_not_measured_keeps_the_profiles_and_both_runs_are_named(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(
        "model: m\ndefault_variant: a\nvariants:\n"
        "  - {name: a, engine: {kind: external, url: 'http://127.0.0.1:9/v1'}}\n"
    )

    def cost() -> tuple[float | None, float | None, str]:
        c = load_profile(path).routing.costs["a"]
        assert c.evidence is not None
        return c.prefill_tps, c.decode_tps, c.evidence.ref

    # prefill-heavy first, on a profile with no costs: decode is this run's rough figure
    said = write_costs(path, {"a": Cost(2048.0, None, 4, (2048.0, 20.0))}, "runs/p")
    assert said["a"] == (
        "routing.costs of a: prefill 2048 tok/s (measured), decode 20 tok/s (rough)"
    )
    assert cost() == (2048.0, 20.0, "prefill: runs/p; decode: runs/p (rough)")
    # then decode-heavy: its decode replaces the rough one, its prefill is never written
    said = write_costs(path, {"a": Cost(None, 50.0, 3, (640.0, 50.0))}, "runs/d")
    assert said["a"] == "routing.costs of a: prefill 2048 tok/s (kept), decode 50 tok/s (measured)"
    assert cost() == (2048.0, 50.0, "prefill: runs/p; decode: runs/d")
    assert load_profile(path).routing.costs["a"].evidence.n == 3  # type: ignore[union-attr]
    write_costs(path, {"a": Cost(1900.0, None, 5, (1900.0, 10.0))}, "runs/p2")
    assert cost() == (1900.0, 50.0, "prefill: runs/p2; decode: runs/d")
    write_costs(path, {"a": Cost(1800.0, 45.0, 6)}, "runs/both")  # both measured: one ref
    assert cost() == (1800.0, 45.0, "runs/both")


def test_written_costs_keep_comments_and_load(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    shutil.copy(REPO / "profiles" / "demo-llamacpp.yaml", path)
    before = path.read_text()
    write_costs(path, {"q8_0": Cost(480.5, 52.25, 12)}, "runs/loadtest/x")
    text = path.read_text()
    assert text.splitlines()[:3] == before.splitlines()[:3]  # the header comments stay
    assert "&args" in text and "*args" in text  # anchors stay
    cost = load_profile(path).routing.costs["q8_0"]
    assert (cost.prefill_tps, cost.decode_tps) == (480.5, 52.25)
    assert cost.evidence is not None and cost.evidence.ref == "runs/loadtest/x"
    assert cost.evidence.n == 12


def test_unknown_variants_are_refused_and_the_file_is_untouched(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    shutil.copy(REPO / "profiles" / "demo-llamacpp.yaml", path)
    before = path.read_text()
    with pytest.raises(ConfigError, match="no variant named w9"):
        write_costs(path, {"w9": Cost(1.0, 1.0, 1)}, "r")
    assert path.read_text() == before
