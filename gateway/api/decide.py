"""Where a request goes: the router's decision (automatic) or the pinned variant.

Shared by the generation routes and `POST /v1/route`. Counting the tokens of a large prompt
takes milliseconds, so large bodies are decided in a worker thread, off the event loop.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import anyio

from gateway.metrics.record import NONE
from gateway.routing.resolve import pinned_variant
from gateway.routing.router import Routed, parse_hints
from gateway.state import GatewayState
from quantgate.errors import ContextLengthExceeded
from quantgate.vocabulary import ROUTE_HEADER, TASK_HEADER

INLINE_CHARS = 8192  # prompts up to this size are decided on the event loop


@dataclass(frozen=True)
class Planned:
    order: tuple[str, ...]
    pinned: bool
    task: str
    routed: Routed | None  # None when pinned
    unhealthy: tuple[str, ...]

    def headers(self) -> dict[str, str]:
        if self.routed is None:
            pinned = {ROUTE_HEADER: f"pinned: {self.order[0]}"}
            return pinned if self.task == NONE else {TASK_HEADER: self.task, **pinned}
        return {TASK_HEADER: self.task, ROUTE_HEADER: self.routed.decision.summary}


async def plan(
    state: GatewayState,
    headers: Mapping[str, str],
    body: dict[str, Any],
    model: str,
    *,
    explain: bool = False,
) -> Planned:
    pinned = pinned_variant(state.profile, model)
    hints = parse_hints(headers, body)
    router = state.router
    unhealthy = tuple(v.name for v in state.profile.variants if not state.healthy(v.name))
    if pinned is not None:  # the caller chose: no classifier on its path (its task, if said)
        _fits(state, pinned, body)
        return Planned((pinned,), True, hints.task or NONE, None, unhealthy)
    saturated = [v.name for v in state.profile.variants if state.saturated(v)]

    def run() -> Routed:
        return router.route(body, hints, unhealthy=unhealthy, saturated=saturated, explain=explain)

    routed = await anyio.to_thread.run_sync(run) if large(body) else run()
    return Planned(routed.decision.order, False, routed.decision.task, routed, unhealthy)


def _fits(state: GatewayState, variant: str, body: dict[str, Any]) -> None:
    """A pinned request may not ask for more completion tokens than its variant's context
    holds (routed requests are checked with their prompt by the policy)."""
    asked = body.get("max_completion_tokens") or body.get("max_tokens")
    limit = state.profile.variant(variant).max_context
    if isinstance(asked, int) and asked > limit:
        field = "max_completion_tokens" if body.get("max_completion_tokens") else "max_tokens"
        raise ContextLengthExceeded(
            f"{field} is {asked}; variant {variant} has a context of {limit} tokens, prompt "
            "included. Lower it.",
            param=field,
        )


def large(body: dict[str, Any]) -> bool:
    size = len(str(body.get("prompt", "")))
    for m in body.get("messages") or []:
        if isinstance(m, dict):
            size += len(str(m.get("content", "")))
    return size > INLINE_CHARS
