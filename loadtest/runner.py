"""Run the same workload and load shape against each variant in turn."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import httpx

from loadtest import client, strategies
from loadtest.metrics import Summary, summarize
from loadtest.types import RequestResult
from loadtest.workloads import Counter, Workload

WARMUP_INDEX = 1_000_000  # warm-up prompts come from indices no measured request uses
SWEEP_RATES = 3


@dataclass(frozen=True)
class Target:
    url: str  # base URL including /v1
    model: str
    variants: list[str]  # empty: just `model`
    api_key: str | None = None
    timeout: float = 600.0

    def models(self) -> dict[str, str]:
        """label -> the `model` to send (`<model>@<variant>` per variant)."""
        if not self.variants:
            return {self.model: self.model}
        return {v: f"{self.model}@{v}" for v in self.variants}


async def run_variants(
    target: Target,
    workload: Workload,
    strategy: strategies.Strategy,
    stop: strategies.Stop,
    count: Counter,
    *,
    stream: bool = True,
    slo_ttft: float | None = None,
    slo_tpot: float | None = None,
    on_result: Callable[[str, RequestResult], None] | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    warmup: int = 0,
) -> tuple[list[RequestResult], dict[str, Summary]]:
    """Each variant in turn: `warmup` requests one at a time, not counted (their prompts are
    not among the measured ones, so no prefix cache favours the first measured request), then
    the strategy until `stop`."""
    path = "chat/completions" if workload.kind == "chat" else "completions"
    headers = {"authorization": f"Bearer {target.api_key}"} if target.api_key else {}
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
    all_results: list[RequestResult] = []
    summaries: dict[str, Summary] = {}
    async with httpx.AsyncClient(
        base_url=target.url.rstrip("/") + "/",
        headers=headers,
        timeout=target.timeout,
        limits=limits,
        transport=transport,
    ) as http:
        for label, model in target.models().items():

            async def send(
                index: int, scheduled: float, label: str = label, model: str = model
            ) -> RequestResult:
                body = workload.body(model, index, count, stream)
                return await client.send(
                    http, path, body, index=index, variant=label, scheduled=scheduled
                )

            def collect(result: RequestResult, label: str = label) -> None:
                if on_result:
                    on_result(label, result)

            for i in range(warmup):
                await send(WARMUP_INDEX + i, 0.0)
            results = await strategies.run(strategy, send, stop, collect)
            all_results += results
            summaries[label] = summarize(results, slo_ttft=slo_ttft, slo_tpot=slo_tpot)
    return all_results, summaries


async def sweep(
    target: Target,
    workload: Workload,
    stop: strategies.Stop,
    count: Counter,
    *,
    max_concurrency: int = 16,
    rates: int = SWEEP_RATES,
    stream: bool = True,
    on_result: Callable[[str, RequestResult], None] | None = None,
    warmup: int = 0,
    slo_ttft: float | None = None,
    slo_tpot: float | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> list[tuple[str, list[RequestResult], dict[str, Summary]]]:
    """Synchronous (one at a time), then max throughput (`max_concurrency` streams), then
    `rates` constant rates evenly between the two throughputs, per variant."""
    runs: list[tuple[str, list[RequestResult], dict[str, Summary]]] = []

    async def one(name: str, shape: strategies.Strategy) -> dict[str, Summary]:
        first = not runs  # warm up once, before the first shape
        results, summaries = await run_variants(
            target,
            workload,
            shape,
            stop,
            count,
            stream=stream,
            on_result=on_result,
            warmup=warmup if first else 0,
            slo_ttft=slo_ttft,
            slo_tpot=slo_tpot,
            transport=transport,
        )
        runs.append((name, results, summaries))
        return summaries

    low = await one("synchronous", strategies.Concurrent(streams=1))
    high = await one("throughput", strategies.Concurrent(streams=max_concurrency))
    slowest = min(s.request_throughput for s in low.values())
    fastest = max(s.request_throughput for s in high.values())
    for k in range(1, rates + 1):
        rate = slowest + (fastest - slowest) * k / (rates + 1)
        if rate > 0:
            await one(f"rate-{rate:.2f}", strategies.ConstantRate(rate=rate))
    return runs
