"""The raw record of one request: timestamps and counts, nothing derived."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Status = Literal["ok", "errored", "cancelled"]


@dataclass
class RequestResult:
    """One request as it happened. Times are `time.perf_counter()` seconds.

    `token_times` holds the arrival of every streamed event that carried content (a role-only
    first chunk and empty chunks are not tokens; one event may carry several tokens, so token
    counts come from `usage`).
    """

    index: int
    variant: str
    scheduled: float  # when the strategy wanted it sent
    start: float  # when it was sent
    end: float = 0.0
    token_times: list[float] = field(default_factory=list)
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    status: Status = "ok"
    error: str | None = None  # kind: http_5xx, http_4xx, timeout, connect, stream, ...
    http_status: int | None = None
    stream: bool = True

    def to_json(self) -> dict[str, Any]:
        return asdict(self)
