"""What one request did, filled in along the request path and read once it has ended.

Raw timestamps first (STYLE.md): the record keeps when the request arrived, when each content
token event arrived and what `usage` said; TTFT, ITL and TPOT are derived from them after.
A role-only first chunk is not a token; several tokens may share a chunk, so token counts
come from `usage`, never from chunks.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from quantgate import timings
from quantgate.streams import has_content

NONE = "none"  # label value before a variant, task or route is known


@dataclass
class RequestRecord:
    request_id: str
    endpoint: str
    started: float = field(default_factory=lambda: time.monotonic())
    variant: str = NONE
    task: str = NONE
    route: str = NONE
    status: int = 0
    streamed: bool = False
    token_times: list[float] = field(default_factory=list)  # content events, monotonic
    ended: float | None = None
    prompt_tokens: int | None = None  # from the upstream's usage
    counted_prompt_tokens: int | None = None  # the router's count, for upstreams without usage
    completion_tokens: int | None = None
    failed: list[tuple[str, str]] = field(default_factory=list)  # (variant, error code)
    stream_error: str | None = None  # error code of a stream broken after its first byte
    routing_seconds: float | None = None
    in_flight: bool = False
    key: str | None = None  # the API key's name (never the key)
    release: Callable[[], None] | None = None  # gives the variant's admission slot back

    def observe(self, obj: Any) -> None:
        """One JSON object from the upstream (a stream event or a whole body)."""
        if not isinstance(obj, dict):
            return
        usage = obj.get("usage")
        if isinstance(usage, dict):
            self.prompt_tokens = _int(usage.get("prompt_tokens"), self.prompt_tokens)
            self.completion_tokens = _int(usage.get("completion_tokens"), self.completion_tokens)
        choices = obj.get("choices") or ()
        if self.streamed and any(isinstance(c, dict) and has_content(c) for c in choices):
            self.token_times.append(time.monotonic())

    def finish(self) -> None:
        if self.ended is None:
            self.ended = time.monotonic()

    @property
    def e2e(self) -> float | None:
        return None if self.ended is None else self.ended - self.started

    @property
    def ttft(self) -> float | None:
        return timings.ttft(self.started, self.token_times)

    @property
    def itls(self) -> list[float]:
        """Gaps between content events (an event may carry several tokens)."""
        return timings.itls(self.token_times)

    @property
    def tpot(self) -> float | None:
        """Time per output token after the first, as vLLM defines it: needs `usage`."""
        return timings.tpot(self.token_times, self.completion_tokens)


def _int(value: Any, default: int | None) -> int | None:
    return value if isinstance(value, int) else default
