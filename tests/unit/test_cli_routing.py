"""The CLI over the routing and eval packages: profile check, route, eval's argument errors."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from quantgate.cli.main import app

PROFILES = Path(__file__).resolve().parents[2] / "profiles"
runner = CliRunner()
GSM8K = "A baker makes 24 muffins and sells 3 boxes of 6. How many muffins are left?"


def test_profile_check_shows_the_routing_quality_per_band() -> None:
    from gateway.routing.quality import quality_table
    from quantgate.profile import load_profile

    path = PROFILES / "demo-llamacpp.yaml"
    result = runner.invoke(app, ["profile", "check", str(path)])
    assert result.exit_code == 0, result.output
    q = quality_table(load_profile(path))[("code", "short", "q4_k_m")]
    shown = f"{q.value:.3f}{'m' if q.source == 'measured' else 'p'}"
    assert "routing quality, band short" in result.output and shown in result.output


def test_route_prints_the_decision() -> None:
    args = ["route", "--profile", str(PROFILES / "demo-llamacpp.yaml"), "--tokenizer", "estimate"]
    result = runner.invoke(app, [*args, GSM8K])
    assert result.exit_code == 0, result.output
    assert "x-quantgate-route: math/short: q8_0" in result.output
    as_json = runner.invoke(app, [*args, "--json", "--max-quality-loss", "0", GSM8K])
    assert json.loads(as_json.output)["order"] == ["f16"]


def test_route_errors_exit_nonzero_with_the_message() -> None:
    args = ["route", "--profile", str(PROFILES / "demo-llamacpp.yaml"), "--tokenizer", "estimate"]
    bad = runner.invoke(app, [*args, "--task", "poetry", GSM8K])
    assert bad.exit_code == 1 and "unknown task" in bad.output
    long = runner.invoke(app, [*args, "word " * 12000])
    assert long.exit_code == 1 and "context_length_exceeded" in long.output
    neither = runner.invoke(app, args)
    assert neither.exit_code != 0


def test_eval_refuses_unknown_tasks_and_variants() -> None:
    from quantgate.errors import ConfigError

    result = runner.invoke(app, ["eval", "--tasks", "poetry"])
    assert isinstance(result.exception, ConfigError) and "unknown task" in str(result.exception)
    result = runner.invoke(app, ["eval", "--variants", "w1", "--gateway", "http://x/v1"])
    assert isinstance(result.exception, ConfigError) and "unknown variant" in str(result.exception)
    result = runner.invoke(app, ["eval", "--tasks", "none", "--gateway", "http://x/v1"])
    assert isinstance(result.exception, ConfigError) and "--lm-eval" in str(result.exception)
    args = ["eval", "--tasks", "none", "--lm-eval", "hellaswag", "--gateway", "http://x/v1"]
    result = runner.invoke(app, args)
    assert isinstance(result.exception, ConfigError) and "quantgate_lambada" in str(
        result.exception
    )
