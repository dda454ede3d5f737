"""Metrics, request ids and the usage the gateway asks for on the client's behalf."""

from __future__ import annotations

import json
from pathlib import Path
from typing import ClassVar

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from gateway.metrics.record import RequestRecord
from quantgate.profile import Profile
from tests.unit.fakes import FakeUpstreams, down

pytestmark = pytest.mark.anyio

# three words (the fake upstream counts words as tokens) that the classifier reads as general
CHAT = {"model": "demo", "messages": [{"role": "user", "content": "tell me more"}]}


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
        unsupported: ClassVar[dict[str, str]] = {}

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


def test_a_workers_updates_are_summed_then_written_as_one_processs_would_be(
    profile: Profile, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """In multiprocess mode (`serve --workers`) updates wait in memory until `flush`; after
    it, every sample equals what a lone process recorded at once."""
    from prometheus_client import generate_latest

    from gateway.metrics.registry import GatewayMetrics

    def records() -> list[RequestRecord]:
        done = []
        for i, (status, e2e) in enumerate([(200, 0.004), (200, 0.3), (502, 7.0), (200, 0.3)]):
            rec = RequestRecord(request_id=str(i), endpoint="chat", variant="w4", route="auto")
            rec.status, rec.started, rec.ended = status, 0.0, e2e
            rec.prompt_tokens, rec.completion_tokens, rec.routing_seconds = 5, 3, 2e-5
            rec.failed = [("w8", "upstream_error")] if status == 502 else []
            done.append(rec)
        return done

    alone = GatewayMetrics(profile, lambda _: True)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    worker = GatewayMetrics(profile, lambda _: True)
    assert alone.pending is None and worker.pending is not None
    for metrics in (alone, worker):
        metrics.enter("w4")
        for rec in records():
            metrics.record(rec)
        metrics.enter("w4")
        metrics.leave("w4")

    def samples(m: GatewayMetrics) -> dict[tuple[str, str], float]:
        text = generate_latest(m.local).decode()  # this process's own samples
        return {
            (s.name, str(sorted(s.labels.items()))): s.value
            for f in text_string_to_metric_families(text)
            for s in f.samples
            if not s.name.endswith("_created") and not s.name.startswith("quantgate_variant_")
        }

    def total(found: dict[tuple[str, str], float], name: str) -> float:
        return sum(v for (n, _), v in found.items() if n == name)

    for name in ("quantgate_requests_total", "quantgate_e2e_request_latency_seconds_count"):
        assert total(samples(worker), name) == 0  # nothing written yet
        assert total(samples(alone), name) == 4
    worker.flush()
    assert samples(worker) == samples(alone)
    assert samples(alone)[("quantgate_requests_in_flight", "[('variant', 'w4')]")] == 1
    worker.flush()  # nothing pending: nothing changes
    assert samples(worker) == samples(alone)
