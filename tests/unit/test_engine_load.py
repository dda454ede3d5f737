"""Engines' own load: vLLM's scheduler gauges read from /metrics, and when they saturate."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from gateway.engines.load import EngineLoad, Load, metrics_url, parse_vllm, sources
from quantgate.mock import MockConfig, create_mock_app
from quantgate.profile import parse_profile

# the shape vLLM 0.32 writes (v1/metrics/loggers.py), with a family around them left unread
VLLM_TEXT = """\
# HELP vllm:num_requests_running Number of requests in model execution batches.
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{engine="0",model_name="bf16"} 2.0
vllm:num_requests_running{engine="1",model_name="bf16"} 1.0
# HELP vllm:num_requests_waiting Number of requests waiting to be processed.
# TYPE vllm:num_requests_waiting gauge
vllm:num_requests_waiting{engine="0",model_name="bf16"} 4.0
vllm:num_requests_waiting{engine="1",model_name="bf16"} 0.0
# HELP vllm:num_requests_waiting_by_reason Number of waiting requests by reason.
# TYPE vllm:num_requests_waiting_by_reason gauge
vllm:num_requests_waiting_by_reason{engine="0",model_name="bf16",reason="capacity"} 4.0
# HELP vllm:time_to_first_token_seconds Histogram of time to first token in seconds.
# TYPE vllm:time_to_first_token_seconds histogram
vllm:time_to_first_token_seconds_bucket{engine="0",le="0.001",model_name="bf16"} 0.0
"""


def test_running_and_waiting_are_summed_over_engines() -> None:
    assert parse_vllm(VLLM_TEXT) == (3.0, 4.0)  # waiting_by_reason is not waiting again


def test_text_without_the_gauges_is_no_reading() -> None:
    assert (
        parse_vllm("# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total 1\n")
        is None
    )


def test_saturated_when_the_engine_queues_or_runs_its_limit() -> None:
    now = time.monotonic()
    assert not Load(3, 0, now).saturated(4)
    assert Load(4, 0, now).saturated(4)
    assert Load(0, 1, now).saturated(256)  # its queue is the engine's own verdict


def test_a_stale_reading_is_ignored() -> None:
    load = EngineLoad({"a": "http://x/metrics"}, interval=1.0)
    load.readings["a"] = Load(9, 9, time.monotonic() - 10)
    assert load.current("a") is None and not load.saturated("a", 1)
    load.readings["a"] = Load(9, 9, time.monotonic())
    assert load.saturated("a", 1)


def test_metrics_url_drops_the_openai_suffix() -> None:
    assert metrics_url("http://engine:8000/v1") == "http://engine:8000/metrics"
    assert metrics_url("http://engine:8000/v1/") == "http://engine:8000/metrics"


def test_sources_are_vllm_engines_and_marked_externals() -> None:
    profile = parse_profile(
        """
model: m
default_variant: a
variants:
- {name: a, engine: {kind: external, url: "http://a:1/v1"}}
- {name: b, engine: {kind: external, url: "http://b:2/v1", load_metrics: vllm}}
- {name: c, engine: {kind: vllm, artifact: x}}
- {name: d, engine: {kind: llamacpp, artifact: y}}
"""
    )
    found = sources(profile, {"c": "http://127.0.0.1:5/v1", "d": "http://127.0.0.1:6/v1"})
    assert found == {"b": "http://b:2/metrics", "c": "http://127.0.0.1:5/metrics"}


@pytest.mark.anyio
async def test_poll_reads_a_server_whose_requests_wait() -> None:
    app = create_mock_app(MockConfig(model="up", ttft_ms=300, max_running=1))
    transport = httpx.ASGITransport(app=app)
    body = {"model": "up", "prompt": "hi", "max_tokens": 2}
    load = EngineLoad({"a": "http://mock/metrics"}, interval=1.0)
    async with httpx.AsyncClient(transport=transport, base_url="http://mock") as client:
        calls = [asyncio.create_task(client.post("/v1/completions", json=body)) for _ in range(3)]
        await asyncio.sleep(0.1)
        await load.poll(client, "a")
        busy = load.current("a")
        assert [r.status_code for r in await asyncio.gather(*calls)] == [200, 200, 200]
        await load.poll(client, "a")
        idle = load.current("a")
    assert busy is not None and (busy.running, busy.waiting) == (1, 2)
    assert idle is not None and (idle.running, idle.waiting) == (0, 0)
    assert load.saturated("a", 256) is False


@pytest.mark.anyio
async def test_a_failing_engine_leaves_no_reading(caplog: pytest.LogCaptureFixture) -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(503))
    load = EngineLoad({"a": "http://down/metrics"}, interval=1.0)
    async with httpx.AsyncClient(transport=transport) as client:
        await load.poll(client, "a")
        await load.poll(client, "a")
    assert load.current("a") is None
    assert len([r for r in caplog.records if "no load reading" in r.message]) == 1  # once
