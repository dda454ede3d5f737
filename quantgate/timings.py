"""Latency from raw timestamps, as vLLM's benchmark defines it; one set of formulas for the
gateway's metrics and the load tester.

TTFT: request start to the first content event. ITL: gaps between content events (an event may
carry several tokens). TPOT: (last content event - first) / (completion_tokens - 1), the time
per output token after the first; the token count comes from `usage`, never from events.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise


def ttft(start: float, token_times: Sequence[float]) -> float | None:
    return token_times[0] - start if token_times else None


def itls(token_times: Sequence[float]) -> list[float]:
    return [b - a for a, b in pairwise(token_times)]


def tpot(token_times: Sequence[float], completion_tokens: int | None) -> float | None:
    if not token_times or not completion_tokens or completion_tokens < 2:
        return None
    return (token_times[-1] - token_times[0]) / (completion_tokens - 1)
