"""The Qllm-Eval priors file and how its rows turn into a variant's prior."""

from __future__ import annotations

import pytest
import yaml

from gateway.routing.priors import PRIORS_DIR, Priors, load_priors
from quantgate.errors import ConfigError
from quantgate.profile import QuantSpec
from quantgate.vocabulary import TASKS

PRIORS = load_priors("qllm-eval")
SPECS = {
    "W8": QuantSpec(w_bits=8),
    "W4": QuantSpec(w_bits=4),
    "W3": QuantSpec(w_bits=3),
    "W2": QuantSpec(w_bits=2),
    "W8A8": QuantSpec(w_bits=8, a_bits=8),
    "W4A8": QuantSpec(w_bits=4, a_bits=8),
    "W4A4": QuantSpec(w_bits=4, a_bits=4),
    "KV8": QuantSpec(kv_bits=8),
    "KV4": QuantSpec(kv_bits=4),
    "KV2": QuantSpec(kv_bits=2),
}


def q(task: str, spec: str, size: str = "small", long_band: bool = False) -> float:
    return PRIORS.quality(task, SPECS[spec], size, long_band)[0]


def test_every_row_cites_a_source_and_every_task_has_a_prior() -> None:
    raw = yaml.safe_load((PRIORS_DIR / "qllm-eval.yaml").read_text())
    assert all(row["source"] in raw["sources"] for row in raw["rows"])
    for task in TASKS:
        for spec in SPECS.values():
            for size in ("small", "large"):
                for long_band in (False, True):
                    value, cited = PRIORS.quality(task, spec, size, long_band)
                    assert 0 <= value <= 1 and cited


def test_the_seed_findings_hold_in_the_priors() -> None:
    for task in ("knowledge", "general"):  # basic NLP: < 2% at W4, W4A8, KV4
        assert all(q(task, s) >= 0.98 for s in ("W8", "W4", "KV8")), task
        assert q(task, "W4A8") >= 0.97
    for task in TASKS:  # nothing rescues W2 or W4A4
        assert q(task, "W2") < 0.5 and q(task, "W4A4") < 0.5
    # small models need W8 / KV8 for multi-step reasoning; math tolerates less than commonsense
    for task in ("math", "reasoning"):
        assert q(task, "W4") < 0.98 and q(task, "KV4") < 0.98
        assert q(task, "W8") >= 0.98 and q(task, "KV8") >= 0.98
    assert q("math", "W4") < q("reasoning", "W4")
    assert q("math", "W4", "large") >= 0.98  # > 13B: W4 holds
    # long context: KV least tolerant, KV8 fine
    assert q("general", "KV4", long_band=True) < 0.98 <= q("general", "KV8", long_band=True)
    assert q("general", "KV4", long_band=True) < q("general", "KV4")
    # dialogue: KV4 nearly lossless, KV2 token repetition
    assert q("dialogue", "KV4") >= 0.98 and q("dialogue", "KV2") < 0.5


def test_gsm8k_13b_figures_are_the_math_ratios() -> None:
    assert q("math", "W4") == pytest.approx(37.38 / 42.84, abs=1e-3)
    assert q("math", "KV4") == pytest.approx(39.35 / 42.84, abs=1e-3)
    assert q("math", "W8") == pytest.approx(42.61 / 42.84, abs=1e-3)


def test_fractional_bits_read_the_row_below() -> None:
    assert PRIORS.quality("math", QuantSpec(w_bits=5.4), "small", False)[0] == q("math", "W4")
    assert PRIORS.quality("math", QuantSpec(w_bits=8.5), "small", False)[0] == q("math", "W8")


def test_bad_priors_files_are_config_errors(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "p.yaml"
    path.write_text(
        "sources: {a: x}\nrows:\n  - {dim: w, bits: 4, tasks: [poetry], quality: 1, source: a}\n"
    )
    with pytest.raises(ConfigError, match="unknown"):
        load_priors(str(path))
    with pytest.raises(ConfigError, match="cannot read"):
        load_priors(str(tmp_path / "missing.yaml"))
    assert isinstance(PRIORS, Priors)


def test_a_prior_is_never_above_a_shorter_bands_measurement() -> None:
    from pathlib import Path

    from gateway.routing.quality import quality_table
    from quantgate.profile import load_profile

    shipped = Path(__file__).resolve().parents[2] / "profiles" / "demo-llamacpp.yaml"
    table = quality_table(load_profile(shipped))
    short, medium = table["general", "short", "q3k-mix"], table["general", "medium", "q3k-mix"]
    # q3k-mix was measured at 0.15 of the reference on short general prompts; its prior for
    # medium ones (0.976) would let them in at any tolerance above 2.4%
    assert short.source == "measured" and short.value < 0.5
    assert (medium.source, medium.value) == ("capped", short.value)
    assert medium.ref.startswith("measured at short ")
    # a task measured at no shorter band keeps its prior
    assert table["math", "medium", "q3k-mix"].source == "prior"
    # a measurement at a longer band is not a cap: without its medium rule, KV4-8k's medium
    # general cell is its prior again, above its long-band measurement
    profile = load_profile(shipped)
    rules = [
        r
        for r in profile.routing.rules
        if not (r.variant == "q4_k_m-kv4-8k" and r.band == "medium")
    ]
    routing = profile.routing.model_copy(update={"rules": rules})
    table = quality_table(profile.model_copy(update={"routing": routing}))
    long_kv4, medium_kv4 = (table["general", b, "q4_k_m-kv4-8k"] for b in ("long", "medium"))
    assert long_kv4.source == "measured" and medium_kv4.source == "prior"
    assert medium_kv4.value > long_kv4.value
