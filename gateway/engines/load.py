"""Engines' own load, read from their metrics: requests running and requests waiting.

A gateway process counts only its own requests in flight. An engine that several processes
share (`serve --workers N`, or N gateway replicas in front of one vLLM Deployment) is busy with
all of theirs, and only the engine knows it: vLLM publishes its scheduler's state on
`/metrics` as `vllm:num_requests_running` and `vllm:num_requests_waiting`. Each gateway process
polls those every `load_interval` seconds and treats a variant as saturated (routed to last,
like one at its own concurrency limit) when its engine queues requests or runs as many as the
variant's `max_concurrency`. So every replica sees the same busy variant, whichever replica
sent the requests.

A reading older than three intervals is ignored: an engine that stops answering is the
supervisor's and the outlier detector's business, not a load signal. Engines without such
metrics (llama.cpp's server has none) are judged by the gateway's own count alone.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass

import anyio
import httpx
from prometheus_client.parser import text_string_to_metric_families

from quantgate.profile import ExternalEngine, Profile, VllmEngine

log = logging.getLogger("quantgate.gateway")

RUNNING, WAITING = "vllm:num_requests_running", "vllm:num_requests_waiting"
STALE_INTERVALS = 3


@dataclass(frozen=True)
class Load:
    running: float
    waiting: float
    at: float  # time.monotonic() of the reading

    def saturated(self, concurrency: int) -> bool:
        return self.waiting > 0 or self.running >= concurrency


def parse_vllm(text: str) -> tuple[float, float] | None:
    """(running, waiting) from vLLM's /metrics text, summed over its engines; None when the
    text has neither gauge. Only those two families' lines are handed to the parser: the rest
    (histograms, hundreds of lines) is never parsed."""
    lines = [line for line in text.splitlines() if _ours(line)]
    values = {RUNNING: 0.0, WAITING: 0.0}
    seen = False
    for family in text_string_to_metric_families("\n".join(lines) + "\n"):
        for sample in family.samples:
            if sample.name in values:
                values[sample.name] += sample.value
                seen = True
    return (values[RUNNING], values[WAITING]) if seen else None


def _ours(line: str) -> bool:
    for name in (RUNNING, WAITING):
        if line.startswith(name) and line[len(name) : len(name) + 1] in ("{", " "):
            return True
        if line.startswith("# ") and line.split(" ", 3)[2:3] == [name]:
            return True  # its HELP and TYPE lines
    return False


def metrics_url(base: str) -> str:
    """An OpenAI base URL (`http://host:8000/v1`) -> the server's `/metrics`."""
    root = base.rstrip("/").removesuffix("/v1")
    return root + "/metrics"


def sources(profile: Profile, endpoints: Mapping[str, str]) -> dict[str, str]:
    """The variants whose engines publish vLLM's load gauges, and where: the vLLM engines
    quantgate starts (at `endpoints`), and external ones marked `load_metrics: vllm`."""
    found = {}
    for v in profile.variants:
        engine = v.engine
        if isinstance(engine, VllmEngine) and v.name in endpoints:
            found[v.name] = metrics_url(endpoints[v.name])
        elif isinstance(engine, ExternalEngine) and engine.load_metrics == "vllm":
            found[v.name] = metrics_url(endpoints.get(v.name, str(engine.url)))
    return found


class EngineLoad:
    """The latest reading of each engine that publishes one; `watch` keeps them fresh."""

    def __init__(self, urls: Mapping[str, str], interval: float) -> None:
        self.urls, self.interval = dict(urls), interval
        self.readings: dict[str, Load] = {}
        self._failing: set[str] = set()

    def current(self, name: str) -> Load | None:
        reading = self.readings.get(name)
        if reading is None or time.monotonic() - reading.at > STALE_INTERVALS * self.interval:
            return None
        return reading

    def saturated(self, name: str, concurrency: int) -> bool:
        reading = self.current(name)
        return reading is not None and reading.saturated(concurrency)

    async def watch(self) -> None:
        if not self.urls:
            return
        timeout = httpx.Timeout(self.interval)
        async with httpx.AsyncClient(timeout=timeout) as client:
            while True:
                async with anyio.create_task_group() as tg:
                    for name in self.urls:
                        tg.start_soon(self.poll, client, name)
                await anyio.sleep(self.interval)

    async def poll(self, client: httpx.AsyncClient, name: str) -> None:
        url = self.urls[name]
        try:
            response = await client.get(url)
            response.raise_for_status()
            values = parse_vllm(response.text)
            if values is None:
                raise ValueError("no vllm:num_requests_running/waiting gauges")
        except (httpx.HTTPError, ValueError) as e:
            if name not in self._failing:  # once per outage, not once a second
                log.warning("variant %s: no load reading from %s: %s", name, url, e)
                self._failing.add(name)
            return
        self._failing.discard(name)
        self.readings[name] = Load(*values, at=time.monotonic())
