"""Routing through the gateway's API: headers, hints, errors, POST /v1/route (fake upstreams)."""

from __future__ import annotations

import httpx
import pytest

from tests.unit.fakes import FakeUpstreams

pytestmark = pytest.mark.anyio

MATH = "A farmer has 12 cows and buys 3 times as many sheep. How many animals does he have?"
GENERAL = {"model": "demo", "messages": [{"role": "user", "content": "Tell me about Paris."}]}


async def test_headers_name_task_and_route(client: httpx.AsyncClient) -> None:
    r = await client.post("/v1/chat/completions", json=GENERAL)
    assert r.status_code == 200
    assert r.headers["x-quantgate-task"] == "general"
    assert r.headers["x-quantgate-route"].startswith(
        f"general/short: {r.headers['x-quantgate-variant']} ("
    )


async def test_task_header_and_metadata_hint_route_math_away_from_w4(
    client: httpx.AsyncClient, upstreams: FakeUpstreams
) -> None:
    r = await client.post(
        "/v1/chat/completions", json=GENERAL, headers={"X-Quantgate-Task": "math"}
    )
    assert r.headers["x-quantgate-task"] == "math"
    assert r.headers["x-quantgate-variant"] == "w8"
    assert "w4 -12.7% > 10%" in r.headers["x-quantgate-route"]
    body = {**GENERAL, "metadata": {"task": "math", "user": "u1"}}
    r = await client.post("/v1/chat/completions", json=body)
    assert r.headers["x-quantgate-variant"] == "w8"
    sent = upstreams.received["w8"][-1]
    assert sent["metadata"] == {"user": "u1"}  # quantgate's own hint is not forwarded


async def test_classifier_sends_a_word_problem_to_w8(client: httpx.AsyncClient) -> None:
    body = {"model": "demo", "messages": [{"role": "user", "content": MATH}]}
    r = await client.post("/v1/chat/completions", json=body)
    assert r.headers["x-quantgate-task"] == "math"
    assert r.headers["x-quantgate-variant"] == "w8"


async def test_zero_tolerance_header_goes_to_the_reference(client: httpx.AsyncClient) -> None:
    for value in ("0", "0%"):
        r = await client.post(
            "/v1/chat/completions", json=GENERAL, headers={"X-Quantgate-Max-Quality-Loss": value}
        )
        assert r.headers["x-quantgate-variant"] == "ref"


@pytest.mark.parametrize(
    ("headers", "body_extra", "param"),
    [
        ({"X-Quantgate-Task": "poetry"}, {}, "X-Quantgate-Task"),
        ({}, {"metadata": {"task": "astrology"}}, "metadata.task"),
        ({"X-Quantgate-Max-Quality-Loss": "lots"}, {}, "X-Quantgate-Max-Quality-Loss"),
        ({"X-Quantgate-Max-Quality-Loss": "1.5"}, {}, "X-Quantgate-Max-Quality-Loss"),
    ],
)
async def test_bad_hints_are_400_in_the_openai_envelope(
    client: httpx.AsyncClient, headers: dict[str, str], body_extra: dict, param: str
) -> None:
    r = await client.post("/v1/chat/completions", json={**GENERAL, **body_extra}, headers=headers)
    assert r.status_code == 400
    error = r.json()["error"]
    assert error["type"] == "invalid_request_error" and error["param"] == param


async def test_prompt_beyond_every_context_is_context_length_exceeded(
    client: httpx.AsyncClient, upstreams: FakeUpstreams
) -> None:
    long = " ".join(["word"] * 20000)  # ~25k estimated tokens; the variants hold 4096
    r = await client.post("/v1/completions", json={"model": "demo", "prompt": long})
    assert r.status_code == 400
    error = r.json()["error"]
    assert error["code"] == "context_length_exceeded" and "4096" in error["message"]
    assert not any(upstreams.received.values())


async def test_pinned_requests_bypass_the_policy_and_the_classifier(
    client: httpx.AsyncClient,
) -> None:
    body = {"model": "demo@w4", "messages": [{"role": "user", "content": MATH}]}
    r = await client.post("/v1/chat/completions", json=body)
    assert r.headers["x-quantgate-variant"] == "w4"
    assert r.headers["x-quantgate-route"] == "pinned: w4"
    assert "x-quantgate-task" not in r.headers  # nobody classified it
    hinted = await client.post(
        "/v1/chat/completions", json=body, headers={"x-quantgate-task": "code"}
    )
    assert hinted.headers["x-quantgate-task"] == "code"  # the caller's word, kept for metrics


async def test_route_endpoint_explains_every_candidate(
    client: httpx.AsyncClient, upstreams: FakeUpstreams
) -> None:
    body = {"model": "demo", "messages": [{"role": "user", "content": MATH}], "max_tokens": 32}
    r = await client.post("/v1/route", json=body)
    assert r.status_code == 200
    d = r.json()
    assert d["task"] == "math" and d["task_source"] == "classifier"
    assert d["classifier"]["features"]
    assert d["chosen"] == "w8" and d["order"] == ["w8", "ref"]
    rows = {c["variant"]: c for c in d["candidates"]}
    assert set(rows) == {"ref", "w8", "w4"}
    assert rows["w4"]["status"] == "below-tolerance" and rows["w4"]["quality"] < 0.9
    assert rows["ref"]["quality"] == 1.0 and rows["ref"]["quality_source"] == "reference"
    assert all(c["predicted_latency_ms"] > 0 and c["prompt_tokens"] > 0 for c in rows.values())
    # the unit profile's external upstreams have no tokenizer: 4 characters per token
    assert all(c["prompt_tokens_exact"] is False for c in rows.values())
    assert d["route"].startswith("math/short: w8")
    assert not any(upstreams.received.values())  # nothing was generated
    pinned = (await client.post("/v1/route", json={**body, "model": "demo@w4"})).json()
    assert pinned["pinned"] and pinned["order"] == ["w4"]
    bad = await client.post("/v1/route", json={"model": "nope", "messages": body["messages"]})
    assert bad.status_code == 404 and bad.json()["error"]["code"] == "model_not_found"
    neither = await client.post("/v1/route", json={"model": "demo"})
    assert neither.status_code == 400
    error = neither.json()["error"]
    assert error["message"] == "give `messages` (a chat) or `prompt` (a completion)"
    assert error["param"] == "messages"
