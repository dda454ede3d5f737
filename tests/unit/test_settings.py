"""The gateway's settings (flags over QUANTGATE_* variables) and the commands' option
ranges: a bad value is named and stops the command, never a traceback or a request sent."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from gateway.settings import load_settings
from quantgate.cli.main import app
from quantgate.errors import ConfigError


def test_flags_override_variables_and_none_is_not_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUANTGATE_PORT", "9001")
    monkeypatch.setenv("QUANTGATE_LOG_LEVEL", "DEBUG")
    assert load_settings(port=None).port == 9001
    assert load_settings(port=9002).port == 9002
    assert load_settings().log_level == "debug"  # any case, as logging takes it


def test_every_bad_value_is_named_with_its_flag_or_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("QUANTGATE_MAX_BODY_BYTES", "8MB")
    monkeypatch.setenv("QUANTGATE_LOG_LEVEL", "verbose")
    with pytest.raises(ConfigError) as raised:
        load_settings(port=70000, host=None)
    lines = str(raised.value).splitlines()
    assert lines[0] == "bad settings:"
    assert lines[1].startswith("  --port=70000: Input should be less than or equal to 65535")
    assert lines[2].startswith("  QUANTGATE_MAX_BODY_BYTES='8MB': Input should be a valid integer")
    assert lines[3].startswith("  QUANTGATE_LOG_LEVEL='verbose': Input should be 'critical'")


def test_serve_stops_on_a_bad_setting_before_anything_starts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("QUANTGATE_IDLE_TIMEOUT", "-1")
    result = CliRunner().invoke(app, ["serve", "--port", "0"])
    assert isinstance(result.exception, ConfigError)  # main() prints it and exits 2
    assert "QUANTGATE_IDLE_TIMEOUT='-1': Input should be greater than 0" in str(result.exception)


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["loadtest", "--requests", "0"], "Invalid value for '--requests'"),
        (
            ["loadtest", "--requests", "3", "--concurrency", "0"],
            "Invalid value for '--concurrency'",
        ),
        (["loadtest", "--requests", "3", "--max-error-rate", "2"], "'--max-error-rate'"),
        (["loadtest", "--requests", "3", "--rate", "0"], "--rate 0: must be more than 0"),
        (["loadtest", "--duration", "-3"], "--duration -3: must be more than 0"),
        (["mock-server", "--ttft-ms", "-5"], "Invalid value for '--ttft-ms'"),
        (["eval", "--limit", "-1"], "Invalid value for '--limit'"),
        (["eval", "--concurrency", "0"], "Invalid value for '--concurrency'"),
        (["mock-server", "--fail-status", "200"], "Invalid value for '--fail-status'"),
    ],
)
def test_out_of_range_options_stop_before_any_request(argv: list[str], said: str) -> None:
    """Caught before the target is asked anything: the target below would refuse the
    connection, which would be the error instead."""
    target = {
        "loadtest": ["--target", "http://127.0.0.1:9/v1", "--model", "m"],
        "eval": ["--gateway", "http://127.0.0.1:9/v1", "--tasks", "lambada"],
    }.get(argv[0], [])
    result = CliRunner().invoke(app, [*argv, *target])
    if isinstance(result.exception, ConfigError):  # main() prints it and exits 2
        message = str(result.exception)
    else:  # a usage error: click printed it and exited 2
        assert result.exit_code == 2
        message = result.output
    assert said in message, message
    assert "cannot reach" not in message
