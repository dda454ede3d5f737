"""The cost table derived from a run and written into a profile."""

from __future__ import annotations

import shutil
from pathlib import Path

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
    prompt: int,
    completion: int | None,
    status: str = "ok",
) -> RequestResult:
    times = [ttft + i * decode for i in range(4)]
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
    )  # type: ignore[arg-type]


def test_costs_are_medians_of_prompt_over_ttft_and_one_over_tpot() -> None:
    results = [
        result("w4", 0.5, 0.02, 500, 4),
        result("w4", 1.0, 0.02, 500, 4),
        result("w4", 0.25, 0.04, 500, 4),
        result("ref", 0.5, 0.05, 1000, None),  # no usage: no completion count
        result("bad", 0.1, 0.01, 10, 4, status="errored"),
    ]
    costs, missing = derive_costs(results)
    # 4 content events over 3 gaps; usage says 4 tokens -> TPOT = 3 gaps / 3 tokens
    assert costs == {"w4": Cost(prefill_tps=1000.0, decode_tps=50.0, n=3)}
    assert "no usage" in missing["ref"] and missing["bad"] == "no successful request"


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
