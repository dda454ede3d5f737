"""The gateway's Prometheus metrics, one registry per app.

Label values come only from the profile (variant names and quant specs) and from small fixed
sets (task classes, route kinds, endpoints, status codes, error codes), never from what a
client sends, so cardinality stays bounded.
"""

from __future__ import annotations

import asyncio
import bisect
import collections
import os
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from gateway.metrics.record import RequestRecord
from quantgate.errors import UpstreamError, UpstreamTimeout, UpstreamUnavailable
from quantgate.profile import Profile

# LLM latency spans milliseconds (a cached short prompt) to minutes (long generations)
LATENCY_BUCKETS = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    20.0,
    30.0,
    60.0,
    120.0,
    300.0,
    600.0,
)
TOKEN_GAP_BUCKETS = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.02,
    0.04,
    0.06,
    0.08,
    0.1,
    0.15,
    0.2,
    0.3,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)
UPSTREAM_ERROR_KINDS = tuple(e.code for e in (UpstreamError, UpstreamUnavailable, UpstreamTimeout))
DECISION_BUCKETS = (1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 0.01, 0.05)
FLUSH_SECONDS = 0.1  # a worker's summed updates reach the shared files at least this often


class GatewayMetrics:
    """The metrics of one gateway process. With several workers (`serve --workers`),
    prometheus-client's multiprocess mode is on (PROMETHEUS_MULTIPROC_DIR, set by the parent):
    each worker writes its samples to files there, and a scrape of any worker sums them all.

    There, every update is a write to a memory-mapped file under a lock (~1.2 us; ~12 us a
    request, a worker's request costing 6% more than a lone process's). So a worker sums its
    updates per sample in memory (`pending`) and writes each sum once: every FLUSH_SECONDS,
    before it answers a scrape, and when it stops. A scrape may miss the last 0.1 s of the
    other workers' requests; Prometheus scrapes seconds apart. A single process updates its
    (in-memory) samples at once."""

    def __init__(self, profile: Profile, health: Callable[[str], bool]) -> None:
        r = CollectorRegistry()  # the metric objects
        self.local = r  # this process's samples
        self.registry = r  # what a scrape reads
        # sample (a value object) -> the amount to add to it: a worker's updates, summed
        self.pending: collections.defaultdict[Any, float] | None = None
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            self.registry = CollectorRegistry()
            MultiProcessCollector(self.registry)  # type: ignore[no-untyped-call]
            self.pending = collections.defaultdict(float)
        route = ["variant", "task", "route"]
        self.requests = Counter(
            "quantgate_requests", "Requests by outcome", [*route, "endpoint", "status"], registry=r
        )
        self.e2e = Histogram(
            "quantgate_e2e_request_latency_seconds",
            "Request arrival to last byte",
            [*route, "endpoint"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.ttft = Histogram(
            "quantgate_time_to_first_token_seconds",
            "Request arrival to the first content token (streams)",
            route,
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.itl = Histogram(
            "quantgate_inter_token_latency_seconds",
            "Gap between streamed content events",
            ["variant"],
            buckets=TOKEN_GAP_BUCKETS,
            registry=r,
        )
        self.tpot = Histogram(
            "quantgate_time_per_output_token_seconds",
            "Decode time per output token after the first (streams)",
            ["variant"],
            buckets=TOKEN_GAP_BUCKETS,
            registry=r,
        )
        self.prompt_tokens = Counter(
            "quantgate_prompt_tokens",
            "Prompt tokens (usage, else the gateway's own count)",
            ["variant", "task"],
            registry=r,
        )
        self.completion_tokens = Counter(
            "quantgate_completion_tokens",
            "Completion tokens (usage)",
            ["variant", "task"],
            registry=r,
        )
        self.in_flight = Gauge(
            "quantgate_requests_in_flight",
            "Requests being served",
            ["variant"],
            registry=r,
            multiprocess_mode="livesum",  # the workers' sum, of live workers only
        )
        self.upstream_errors = Counter(
            "quantgate_upstream_errors",
            "Upstream failures by kind",
            ["variant", "kind"],
            registry=r,
        )
        self.failovers = Counter(
            "quantgate_failovers", "Requests moved past a failed variant", ["variant"], registry=r
        )
        # per API key (names come from the keys file, which an admin writes: bounded)
        self.key_requests = Counter(
            "quantgate_key_requests",
            "Requests by API key and status",
            ["key", "status"],
            registry=r,
        )
        self.key_tokens = Counter(
            "quantgate_key_tokens",
            "Prompt and completion tokens by API key",
            ["key", "kind"],
            registry=r,
        )
        self.routing = Histogram(
            "quantgate_routing_decision_seconds",
            "Time to choose the candidates of a request",
            buckets=DECISION_BUCKETS,
            registry=r,
        )
        self.registry.register(_VariantCollector(profile, health))
        # every variant's gauges and error counters exist from the start, at 0
        for variant in profile.variants:
            self.in_flight.labels(variant.name)
            self.failovers.labels(variant.name)
            for kind in UPSTREAM_ERROR_KINDS:
                self.upstream_errors.labels(variant.name, kind)

        # the per-request children, found by label values in a dict: prometheus-client's
        # `labels()` validates and locks on every call (~1 us each, seven a request)
        self._requests = _Children(self.requests)
        self._e2e = _Children(self.e2e)
        self._ttft = _Children(self.ttft)
        self._in_flight = _Children(self.in_flight)
        self._prompt_tokens = _Children(self.prompt_tokens)
        self._completion_tokens = _Children(self.completion_tokens)

    def enter(self, variant: str) -> None:
        self._add(self._in_flight[(variant,)], 1)

    def leave(self, variant: str) -> None:
        self._add(self._in_flight[(variant,)], -1)

    def record(self, rec: RequestRecord) -> None:
        """Account for a request that has ended."""
        add, observe = self._add, self._observe
        labels = (rec.variant, rec.task, rec.route)
        add(self._requests[(*labels, rec.endpoint, str(rec.status))], 1)
        if rec.e2e is not None:
            observe(self._e2e[(*labels, rec.endpoint)], rec.e2e)
        if rec.ttft is not None:
            observe(self._ttft[labels], rec.ttft)
        for gap in rec.itls:
            observe(self.itl.labels(rec.variant), gap)
        if rec.tpot is not None:
            observe(self.tpot.labels(rec.variant), rec.tpot)
        prompt_tokens = rec.prompt_tokens or rec.counted_prompt_tokens
        if prompt_tokens:
            add(self._prompt_tokens[(rec.variant, rec.task)], prompt_tokens)
        if rec.completion_tokens:
            add(self._completion_tokens[(rec.variant, rec.task)], rec.completion_tokens)
        for variant, kind in rec.failed:
            add(self.upstream_errors.labels(variant, kind), 1)
            add(self.failovers.labels(variant), 1)
        if rec.stream_error:
            add(self.upstream_errors.labels(rec.variant, rec.stream_error), 1)
        if rec.routing_seconds is not None:
            observe(self.routing, rec.routing_seconds)
        if rec.key is not None:
            add(self.key_requests.labels(rec.key, str(rec.status)), 1)
            if prompt_tokens:
                add(self.key_tokens.labels(rec.key, "prompt"), prompt_tokens)
            if rec.completion_tokens:
                add(self.key_tokens.labels(rec.key, "completion"), rec.completion_tokens)

    def _add(self, child: Any, amount: float) -> None:
        """A counter's or gauge's child, `amount` added (now, or summed until `flush`)."""
        if self.pending is None:
            child.inc(amount)
        else:
            self.pending[child._value] += amount

    def _observe(self, child: Any, amount: float) -> None:
        """A histogram's child observes `amount` (now, or summed until `flush`): its sum,
        and the first bucket whose bound holds it, as `Histogram.observe` does."""
        if self.pending is None:
            child.observe(amount)
        else:
            self.pending[child._sum] += amount
            self.pending[child._buckets[bisect.bisect_left(child._upper_bounds, amount)]] += 1

    def flush(self) -> None:
        """Write the summed updates to the shared files (multiprocess mode)."""
        if self.pending:
            pending, self.pending = self.pending, collections.defaultdict(float)
            for value, amount in pending.items():
                value.inc(amount)

    async def flush_every(self, seconds: float = FLUSH_SECONDS) -> None:
        """`flush`, every `seconds`, until cancelled (then once more)."""
        try:
            while True:
                await asyncio.sleep(seconds)
                self.flush()
        finally:
            self.flush()


class _Children(dict[tuple[str, ...], Any]):
    """A metric's children by label values, each made once by `labels()`."""

    def __init__(self, metric: Counter | Gauge | Histogram) -> None:
        super().__init__()
        self.metric = metric

    def __missing__(self, labels: tuple[str, ...]) -> Any:
        child = self[labels] = self.metric.labels(*labels)
        return child


class _VariantCollector(Collector):
    """Per-variant info (quantization, engine) and health, read at scrape time."""

    def __init__(self, profile: Profile, health: Callable[[str], bool]) -> None:
        self.profile = profile
        self.health = health

    def collect(self) -> Iterator[Metric]:
        info = GaugeMetricFamily(
            "quantgate_variant_info",
            "A variant's quantization and engine (value 1)",
            labels=["variant", "engine", "w_bits", "a_bits", "kv_bits", "method"],
        )
        up = GaugeMetricFamily(
            "quantgate_variant_up", "1 while the variant is serving", labels=["variant"]
        )
        for v in self.profile.variants:
            q = v.quant
            info.add_metric(
                [
                    v.name,
                    v.engine.kind,
                    f"{q.w_bits:g}",
                    f"{q.a_bits:g}",
                    f"{q.kv_bits:g}",
                    q.method,
                ],
                1,
            )
            up.add_metric([v.name], 1 if self.health(v.name) else 0)
        yield info
        yield up
