"""The 1-token request eval and loadtest send each target before a run: client mistakes stop
the command with the server's words, a busy or failing server is only reported."""

from __future__ import annotations

import json

import httpx
import pytest

from quantgate.cli.preflight import check_endpoint
from quantgate.errors import ConfigError


def envelope(message: str, code: str | None = None) -> dict[str, object]:
    return {"error": {"message": message, "type": "x", "param": None, "code": code}}


def answering(
    status: int, body: object, seen: list[httpx.Request] | None = None
) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        if isinstance(body, str):
            return httpx.Response(status, text=body)
        return httpx.Response(status, json=body)

    return httpx.MockTransport(handle)


def test_a_served_model_passes_with_one_token_asked() -> None:
    seen: list[httpx.Request] = []
    warnings: list[str] = []
    ok = answering(200, {"choices": [{"text": "!", "finish_reason": "length"}]}, seen)
    check_endpoint("http://h/v1/", "m@a", api_key="qg-k", warn=warnings.append, transport=ok)
    check_endpoint("http://h/v1", "m", chat=True, warn=warnings.append, transport=ok)
    assert warnings == []
    first, second = seen
    assert str(first.url) == "http://h/v1/completions"
    assert json.loads(first.content) == {
        "model": "m@a",
        "max_tokens": 1,
        "temperature": 0,
        "prompt": "Hi",
    }
    assert first.headers["authorization"] == "Bearer qg-k"
    assert str(second.url) == "http://h/v1/chat/completions"
    assert json.loads(second.content)["messages"] == [{"role": "user", "content": "Hi"}]
    assert "authorization" not in second.headers


def test_a_base_url_without_v1_is_named_with_the_fix() -> None:
    not_found = answering(404, envelope("Not Found"))
    with pytest.raises(ConfigError) as raised:
        check_endpoint("http://127.0.0.1:8080/", "m", transport=not_found)
    assert str(raised.value) == (
        "m at http://127.0.0.1:8080: HTTP 404: Not Found "
        "(an OpenAI base URL ends in /v1: http://127.0.0.1:8080/v1?)"
    )


def test_an_unknown_model_gets_the_servers_message() -> None:
    unknown = answering(
        404, envelope("The model `x` does not exist. Available: m", "model_not_found")
    )
    with pytest.raises(ConfigError) as raised:
        check_endpoint("http://h/v1", "x", transport=unknown)
    message = str(raised.value)
    assert "does not exist. Available: m (model_not_found)" in message
    assert "/v1?" not in message


@pytest.mark.parametrize("status", [401, 403])
def test_a_missing_or_wrong_key_says_how_to_give_one(status: int) -> None:
    refused = answering(status, envelope("no key", "invalid_api_key"))
    with pytest.raises(ConfigError, match=r"HTTP \d+: no key \(invalid_api_key\) \(give the key"):
        check_endpoint("http://h/v1", "m", transport=refused)
    with pytest.raises(ConfigError, match="with --judge-key or QUANTGATE_JUDGE_KEY"):
        check_endpoint("http://h/v1", "m", key_option="--judge-key", transport=refused)


def test_a_bad_request_is_a_config_error_with_the_body_when_it_is_not_an_envelope() -> None:
    with pytest.raises(ConfigError, match='HTTP 422: "field required"'):
        check_endpoint("http://h/v1", "m", transport=answering(422, "field required"))


@pytest.mark.parametrize("status", [429, 500, 503])
def test_a_busy_or_failing_server_is_reported_and_the_run_goes_on(status: int) -> None:
    warnings: list[str] = []
    busy = answering(status, envelope("try later", "overloaded"))
    check_endpoint("http://h/v1", "m", warn=warnings.append, transport=busy)
    assert warnings == [f"m at http://h/v1: HTTP {status}: try later (overloaded)"]


def test_nothing_listening_is_a_config_error() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("Connection refused", request=request)

    with pytest.raises(ConfigError, match=r"cannot reach http://h:1/v1/completions: Connection"):
        check_endpoint("http://h:1/v1", "m", transport=httpx.MockTransport(refuse))


def test_no_answer_in_time_is_reported_not_fatal() -> None:
    def hang(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    warnings: list[str] = []
    check_endpoint("http://h/v1", "m", warn=warnings.append, transport=httpx.MockTransport(hang))
    assert len(warnings) == 1 and "no answer to a 1-token request" in warnings[0]
