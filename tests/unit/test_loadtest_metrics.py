"""Load-test metric math on hand-made timelines, and the client on scripted streams."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from loadtest import client
from loadtest.metrics import itls, percentile, summarize, tpot, ttft
from loadtest.strategies import ConstantRate, PoissonRate
from loadtest.types import RequestResult
from loadtest.workloads import Workload, word_counter


def result(start: float, tokens: list[float], end: float, n: int | None, **kw) -> RequestResult:
    return RequestResult(
        index=0,
        variant="v",
        scheduled=start,
        start=start,
        end=end,
        token_times=tokens,
        completion_tokens=n,
        prompt_tokens=10,
        **kw,
    )


def test_multi_token_chunks_use_usage_for_tpot() -> None:
    # 3 events carrying 1 + 3 + 2 tokens: TPOT spreads the decode time over 5 tokens
    r = result(0.0, [0.5, 0.7, 1.0], 1.1, 6)
    assert ttft(r) == pytest.approx(0.5)
    assert itls(r) == [pytest.approx(0.2), pytest.approx(0.3)]
    assert tpot(r) == pytest.approx(0.5 / 5)


def test_no_tokens_and_single_token() -> None:
    assert ttft(result(0, [], 1, 0)) is None and tpot(result(0, [], 1, 0)) is None
    assert tpot(result(0, [0.4], 1, 1)) is None  # TPOT excludes the first token


def test_percentiles_interpolate_like_numpy() -> None:
    values = [1.0, 2.0, 3.0, 4.0]
    assert percentile(values, 50) == 2.5
    assert percentile(values, 90) == pytest.approx(3.7)
    assert percentile([5.0], 99) == 5.0
    with pytest.raises(ValueError):
        percentile([], 50)


def test_summary_counts_errors_as_errors_not_latency() -> None:
    ok1 = result(0.0, [0.1, 0.2], 0.3, 2)
    ok2 = result(1.0, [1.3, 1.4], 2.0, 2)
    bad = result(0.5, [], 0.6, None, status="errored", error="http_500")
    s = summarize([ok1, ok2, bad], slo_ttft=0.2)
    assert (s.requests, s.ok, s.errors) == (3, 2, {"http_500": 1})
    assert s.duration == pytest.approx(2.0)
    assert s.request_throughput == pytest.approx(1.0)
    assert s.output_token_throughput == pytest.approx(2.0)
    assert s.ttft is not None and s.ttft.n == 2 and s.ttft.median == pytest.approx(0.2)
    assert s.goodput == pytest.approx(0.5)  # only ok1 meets TTFT <= 0.2


def test_arrival_shapes() -> None:
    constant = ConstantRate(rate=4).intervals()
    assert [next(constant) for _ in range(3)] == [0.25, 0.25, 0.25]
    a, b = PoissonRate(rate=10, seed=1).intervals(), PoissonRate(rate=10, seed=1).intervals()
    first = [next(a) for _ in range(2000)]
    assert first[:5] == [next(b) for _ in range(5)]
    assert sum(first) / len(first) == pytest.approx(0.1, rel=0.1)


def test_prompts_have_exactly_the_asked_token_count() -> None:
    w = Workload(input_tokens=37, output_tokens=5)
    assert word_counter(w.prompt(0, word_counter)) == 37
    assert w.prompt(0, word_counter) != w.prompt(1, word_counter)
    # a tokenizer that splits every word in two
    two = lambda text: 2 * len(text.split())  # noqa: E731
    assert two(Workload(input_tokens=40, output_tokens=1).prompt(3, two)) == 40


def sse_stream(*events: object) -> httpx.MockTransport:
    body = "".join(f"data: {e if isinstance(e, str) else json.dumps(e)}\n\n" for e in events)

    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, headers={"content-type": "text/event-stream"}, content=body.encode()
        )

    return httpx.MockTransport(handle)


@pytest.mark.anyio
async def test_client_skips_role_and_empty_chunks_and_reads_usage() -> None:
    transport = sse_stream(
        {"choices": [{"delta": {"role": "assistant", "content": ""}}]},
        {"choices": [{"delta": {"content": "Hi"}}]},
        {"choices": [{"delta": {}}]},
        {"choices": [{"delta": {"content": " there you"}, "finish_reason": "length"}]},
        {"choices": [], "usage": {"prompt_tokens": 4, "completion_tokens": 3}},
        "[DONE]",
    )
    async with httpx.AsyncClient(transport=transport, base_url="http://x/v1/") as http:
        r = await client.send(
            http, "chat/completions", {"stream": True}, index=0, variant="v", scheduled=0.0
        )
    assert r.status == "ok" and len(r.token_times) == 2
    assert (r.prompt_tokens, r.completion_tokens) == (4, 3)


@pytest.mark.anyio
@pytest.mark.parametrize(
    "ending",
    [["[DONE]"], [{"choices": [{"text": "b", "finish_reason": "stop"}]}]],
    ids=["done-without-finish", "finish-without-done"],
)
async def test_client_counts_a_cut_stream_as_an_error(ending: list[Any]) -> None:
    transport = sse_stream({"choices": [{"text": "a", "finish_reason": None}]}, *ending)
    async with httpx.AsyncClient(transport=transport, base_url="http://x/v1/") as http:
        r = await client.send(
            http, "completions", {"stream": True}, index=0, variant="v", scheduled=0.0
        )
    assert (r.status, r.error) == ("errored", "incomplete")
    assert len(r.token_times) >= 1  # what arrived is kept as data


@pytest.mark.anyio
async def test_client_records_errors_as_data() -> None:
    transport = sse_stream({"choices": [{"text": "a"}]}, {"error": {"message": "boom"}})
    async with httpx.AsyncClient(transport=transport, base_url="http://x/v1/") as http:
        r = await client.send(
            http, "completions", {"stream": True}, index=0, variant="v", scheduled=0.0
        )
    assert (r.status, r.error) == ("errored", "stream")

    def fail(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, json={"error": {"message": "down"}})

    async with httpx.AsyncClient(
        transport=httpx.MockTransport(fail), base_url="http://x/v1/"
    ) as http:
        r = await client.send(
            http, "completions", {"stream": False}, index=0, variant="v", scheduled=0.0
        )
    assert (r.status, r.error, r.http_status) == ("errored", "http_503", 503)


@pytest.mark.anyio
async def test_warmup_requests_are_sent_first_and_not_counted() -> None:
    from loadtest.runner import WARMUP_INDEX, Target, run_variants
    from loadtest.strategies import Concurrent, Stop
    from quantgate.mock import MockConfig, create_mock_app

    seen: list[str] = []
    mock = httpx.ASGITransport(app=create_mock_app(MockConfig(model="m")))

    async def record(request: httpx.Request) -> httpx.Response:
        seen.append(json.loads(await request.aread())["prompt"])
        return await mock.handle_async_request(request)

    class Recording(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            return await record(request)

    workload = Workload(input_tokens=4, output_tokens=2)
    results, summaries = await run_variants(
        Target("http://mock/v1", "m", []),
        workload,
        Concurrent(streams=1),
        Stop(requests=3),
        word_counter,
        transport=Recording(),
        warmup=2,
    )
    assert len(seen) == 5 and len(results) == 3 and summaries["m"].requests == 3
    warm = [workload.prompt(WARMUP_INDEX + i, word_counter) for i in range(2)]
    assert seen[:2] == warm and not set(warm) & set(seen[2:])


@pytest.mark.anyio
async def test_sweep_keeps_the_slos_for_goodput() -> None:
    from loadtest.runner import Target, sweep
    from loadtest.strategies import Stop
    from quantgate.mock import MockConfig, create_mock_app

    transport = httpx.ASGITransport(app=create_mock_app(MockConfig(model="m")))
    runs = await sweep(
        Target("http://mock/v1", "m", []),
        Workload(input_tokens=4, output_tokens=2),
        Stop(requests=2),
        word_counter,
        max_concurrency=2,
        rates=1,
        slo_ttft=60.0,
        slo_tpot=60.0,
        transport=transport,
    )
    assert [name for name, _, _ in runs][:2] == ["synchronous", "throughput"]
    assert all(s["m"].goodput is not None for _, _, s in runs)


def test_cdf_plots_of_a_run_where_nothing_completed_are_drawn_without_a_warning(
    tmp_path: Path,
) -> None:
    pytest.importorskip("matplotlib")
    import warnings

    from loadtest.report import plot_cdfs

    failed = [result(0.0, [], 0.1, None, status="errored", error="http_503")]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib warned: no artists with labels in legend
        written = plot_cdfs(tmp_path, failed)
    assert [p.name for p in written] == ["cdf_ttft.png", "cdf_tpot.png", "cdf_e2e.png"]
    assert all(p.read_bytes()[:4] == b"\x89PNG" for p in written)
