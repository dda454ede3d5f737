"""Metrics derived from raw request records, the way vLLM's benchmark defines them.

TTFT: send to the first content event. ITL: gaps between content events. TPOT: (last token -
first token) / (completion_tokens - 1), i.e. excluding the first token. E2E: send to last byte.
Token counts come from `usage`. Errored requests count as errors, never as latency samples.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from statistics import fmean

from loadtest.types import RequestResult
from quantgate import timings


def ttft(r: RequestResult) -> float | None:
    return timings.ttft(r.start, r.token_times)


def itls(r: RequestResult) -> list[float]:
    return timings.itls(r.token_times)


def tpot(r: RequestResult) -> float | None:
    return timings.tpot(r.token_times, r.completion_tokens)


def e2e(r: RequestResult) -> float:
    return r.end - r.start


def percentile(values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default), q in [0, 100]."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


@dataclass(frozen=True)
class Distribution:
    n: int
    mean: float
    median: float
    p90: float
    p95: float
    p99: float

    @classmethod
    def of(cls, values: list[float]) -> Distribution | None:
        if not values:
            return None
        return cls(
            len(values),
            fmean(values),
            percentile(values, 50),
            percentile(values, 90),
            percentile(values, 95),
            percentile(values, 99),
        )


@dataclass(frozen=True)
class Summary:
    requests: int
    ok: int
    errors: dict[str, int]
    duration: float
    request_throughput: float  # completed requests per second
    output_token_throughput: float  # completion tokens per second
    input_token_throughput: float
    ttft: Distribution | None
    itl: Distribution | None
    tpot: Distribution | None
    e2e: Distribution | None
    goodput: float | None  # requests per second meeting every SLO given


def summarize(
    results: list[RequestResult], *, slo_ttft: float | None = None, slo_tpot: float | None = None
) -> Summary:
    ok = [r for r in results if r.status == "ok"]
    errors = Counter(r.error or r.status for r in results if r.status != "ok")
    duration = max(r.end for r in results) - min(r.start for r in results) if results else 0.0
    per_second = (lambda x: x / duration) if duration > 0 else (lambda x: 0.0)
    goodput = None
    if slo_ttft is not None or slo_tpot is not None:
        good = [r for r in ok if _meets(r, slo_ttft, slo_tpot)]
        goodput = per_second(len(good))
    return Summary(
        requests=len(results),
        ok=len(ok),
        errors=dict(errors),
        duration=duration,
        request_throughput=per_second(len(ok)),
        output_token_throughput=per_second(sum(r.completion_tokens or 0 for r in ok)),
        input_token_throughput=per_second(sum(r.prompt_tokens or 0 for r in ok)),
        ttft=Distribution.of([t for r in ok if (t := ttft(r)) is not None]),
        itl=Distribution.of([g for r in ok for g in itls(r)]),
        tpot=Distribution.of([t for r in ok if (t := tpot(r)) is not None]),
        e2e=Distribution.of([e2e(r) for r in ok]),
        goodput=goodput,
    )


def _meets(r: RequestResult, slo_ttft: float | None, slo_tpot: float | None) -> bool:
    first, per_token = ttft(r), tpot(r)
    if slo_ttft is not None and (first is None or first > slo_ttft):
        return False
    return slo_tpot is None or per_token is None or per_token <= slo_tpot
