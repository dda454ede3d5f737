"""The access line: written directly in JSON, the same line the logging formatter writes."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from gateway import logs

FIELDS = {"request_id": "r1", "status": 200, "variant": "w4", "failed": None, "e2e_ms": 1.5}


@pytest.fixture
def restored() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    logs.access = logs._logged_access


def test_the_direct_json_line_is_the_formatters_line(
    restored: None, capfd: pytest.CaptureFixture[str]
) -> None:
    logs.configure("info", "json")
    assert logs.access is logs._json_access
    logs.access(FIELDS)
    logs._logged_access(FIELDS)  # the same fields through logging and its JSON formatter
    direct, formatted = (json.loads(line) for line in capfd.readouterr().err.splitlines())
    assert direct.keys() == formatted.keys()
    for name in ("level", "logger", "message", "pid", *FIELDS):
        assert direct[name] == formatted[name]
    assert direct["time"][:16] == formatted["time"][:16]  # same format, to the minute
    assert len(direct["time"]) == len(formatted["time"])


def test_access_lines_follow_the_log_level(
    restored: None, capfd: pytest.CaptureFixture[str]
) -> None:
    logs.configure("warning", "json")
    logs.access(FIELDS)
    assert capfd.readouterr().err == ""


def test_the_text_format_goes_through_logging(
    restored: None, capfd: pytest.CaptureFixture[str]
) -> None:
    logs.configure("info", "text")
    assert logs.access is logs._logged_access
    logs.access(FIELDS)
    assert capfd.readouterr().err == "INFO: quantgate.access: request\n"
