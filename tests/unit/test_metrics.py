"""Metrics, request ids and the usage the gateway asks for on the client's behalf."""

from __future__ import annotations

import json

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from gateway.metrics.record import RequestRecord
from tests.unit.fakes import FakeUpstreams, down

pytestmark = pytest.mark.anyio

CHAT = {"model": "demo", "messages": [{"role": "user", "content": "one two three"}]}


def sample(text: str, name: str, **labels: str) -> float | None:
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return s.value
    return None


def data_lines(text: str) -> list[dict]:
    return [json.loads(line[6:]) for line in text.splitlines() if line.startswith("data: {")]


async def test_stream_usage_is_measured_but_only_sent_when_asked(
    client: httpx.AsyncClient, upstreams: FakeUpstreams
) -> None:
    r = await client.post("/v1/chat/completions", json={**CHAT, "stream": True, "max_tokens": 4})
    assert not any("usage" in c for c in data_lines(r.text))
    assert upstreams.received["w4"][0]["stream_options"] == {"include_usage": True}
    r = await client.post(
        "/v1/chat/completions",
        json={**CHAT, "stream": True, "max_tokens": 5, "stream_options": {"include_usage": True}},
    )
    assert data_lines(r.text)[-1]["usage"]["completion_tokens"] == 5
    text = (await client.get("/metrics")).text
    assert sample(text, "quantgate_completion_tokens_total", variant="w4") == 9
    assert sample(text, "quantgate_prompt_tokens_total", variant="w4") == 6
    assert (
        sample(text, "quantgate_time_to_first_token_seconds_count", variant="w4", route="auto") == 2
    )
    # 4 + 5 tokens, one per event: 3 + 4 gaps
    assert sample(text, "quantgate_inter_token_latency_seconds_count", variant="w4") == 7
    assert sample(text, "quantgate_time_per_output_token_seconds_count", variant="w4") == 2
    assert (
        sample(text, "quantgate_requests_total", variant="w4", endpoint="chat", status="200") == 2
    )
    assert sample(text, "quantgate_requests_in_flight", variant="w4") == 0


async def test_request_ids_are_kept_or_made_and_passed_upstream(
    client: httpx.AsyncClient, upstreams: FakeUpstreams
) -> None:
    r = await client.post(
        "/v1/completions",
        json={"model": "demo@ref", "prompt": "x"},
        headers={"x-request-id": "abc-123"},
    )
    assert r.headers["x-request-id"] == "abc-123"
    assert upstreams.headers["ref"][0]["x-request-id"] == "abc-123"
    r = await client.post(
        "/v1/completions",
        json={"model": "demo@ref", "prompt": "x"},
        headers={"x-request-id": "bad id\twith junk"},
    )
    made = r.headers["x-request-id"]
    assert len(made) == 32 and made != "bad id\twith junk"
    assert upstreams.headers["ref"][1]["x-request-id"] == made


async def test_failures_failovers_and_errors_are_counted(make_app, upstreams) -> None:
    upstreams.set("w4", down())
    app = make_app()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://g") as c:
        assert (await c.post("/v1/chat/completions", json=CHAT)).status_code == 200
        assert (
            await c.post("/v1/chat/completions", json={**CHAT, "model": "nope"})
        ).status_code == 404
        text = (await c.get("/metrics")).text
    assert sample(text, "quantgate_failovers_total", variant="w4") == 1
    assert (
        sample(text, "quantgate_upstream_errors_total", variant="w4", kind="upstream_unavailable")
        == 1
    )
    assert sample(text, "quantgate_requests_total", variant="w8", status="200") == 1
    assert sample(text, "quantgate_requests_total", variant="none", status="404") == 1
    assert sample(text, "quantgate_routing_decision_seconds_count") == 1


async def test_variant_info_and_health(make_app) -> None:
    class Supervisor:
        def healthy(self, name: str) -> bool:
            return name != "w8"

    app = make_app()
    app.state.gateway.supervisor = Supervisor()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://g") as c:
        text = (await c.get("/metrics")).text
    assert (
        sample(
            text,
            "quantgate_variant_info",
            variant="w4",
            w_bits="4",
            a_bits="16",
            kv_bits="16",
            method="awq",
            engine="external",
        )
        == 1
    )
    assert sample(text, "quantgate_variant_up", variant="w8") == 0
    assert sample(text, "quantgate_variant_up", variant="w4") == 1


def test_record_derives_timings_from_raw_events(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = iter([10.0, 10.5, 10.7, 11.3])
    monkeypatch.setattr("gateway.metrics.record.time.monotonic", lambda: next(clock))
    rec = RequestRecord(request_id="r", endpoint="chat", streamed=True)  # arrives at 10.0
    rec.observe({"choices": [{"delta": {"role": "assistant", "content": ""}}]})  # not a token
    rec.observe({"choices": [{"delta": {"content": "Hel"}}]})  # 10.5
    rec.observe({"choices": [{"delta": {}}]})  # empty chunk: not a token
    rec.observe({"choices": [{"delta": {"content": "lo world"}}]})  # 10.7, two tokens
    rec.observe({"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 3}})
    rec.finish()  # 11.3
    assert rec.ttft == pytest.approx(0.5)
    assert rec.itls == [pytest.approx(0.2)]
    assert rec.tpot == pytest.approx(0.2 / 2)  # from usage, not from the 2 chunks
    assert rec.e2e == pytest.approx(1.3)
    assert (rec.prompt_tokens, rec.completion_tokens) == (3, 3)


def test_record_without_usage_has_no_tpot() -> None:
    rec = RequestRecord(request_id="r", endpoint="completions", streamed=True)
    rec.observe({"choices": [{"text": "a"}]})
    rec.observe({"choices": [{"text": "b"}]})
    assert rec.tpot is None and len(rec.itls) == 1
