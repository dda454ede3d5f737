"""The routing policy: pure and deterministic given its inputs.

Candidates are the variants whose quality for (task, band) is at least 1 - tolerance and whose
context holds the request, ordered by predicted latency (ties: the more precise first).
Unhealthy variants are skipped; saturated ones (at their concurrency limit) go last; the
reference closes the list as the last fallback. Nothing below the tolerance is ever tried.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from gateway.routing.costs import Rate
from gateway.routing.quality import Quality
from quantgate.errors import ContextLengthExceeded, ToleranceUnmet, UpstreamUnavailable
from quantgate.profile import Variant
from quantgate.vocabulary import TOLERANCE_HEADER

EPS = 1e-9


class Slot(NamedTuple):
    """A variant's facts the policy reads on every request, fixed for a profile (read once:
    `slots`, not from the profile's models on each request)."""

    name: str
    max_context: int
    bands: frozenset[str] | None  # the bands it is routed, None: all
    only: str  # why it is passed over for another band
    rate: Rate
    # among equal predicted latencies, the more precise first, then the profile's order
    rank: tuple[float, float, float, int]


def slots(variants: list[Variant], rates: Mapping[str, Rate]) -> tuple[Slot, ...]:
    out = []
    for i, v in enumerate(variants):
        w, kv, a = v.quant.precision_rank
        bands = None if v.bands is None else frozenset(v.bands)
        only = "" if v.bands is None else f"routed {', '.join(v.bands)} only"
        out.append(Slot(v.name, v.max_context, bands, only, rates[v.name], (-w, -kv, -a, i)))
    return tuple(out)


class Candidate(NamedTuple):
    """One variant's place in a decision (a tuple: built once per variant a decision, it
    costs a third of a frozen dataclass)."""

    variant: str
    quality: Quality
    prompt_tokens: int
    predicted_s: float
    cost_source: str
    # chosen | fallback | last-resort | below-tolerance | too-long | other-band | unhealthy
    status: str
    reason: str

    def as_chosen(self) -> Candidate:
        """This candidate as the one chosen."""
        return self._replace(status="chosen")


@dataclass(frozen=True)
class Decision:
    task: str
    band: str
    tolerance: float
    max_tokens: int
    order: tuple[str, ...]  # the variants to try, first to last
    candidates: tuple[Candidate, ...]  # every variant, cheapest first
    summary: str  # the x-quantgate-route header

    @property
    def chosen(self) -> str:
        return self.order[0]


def _pct(x: float) -> str:
    return f"{x * 100:.1f}".rstrip("0").rstrip(".") + "%"


def decide(
    *,
    task: str,
    band: str,
    tolerance: float,
    max_tokens: int,
    fit_tokens: int,
    tokens: Mapping[str, int],
    slots: tuple[Slot, ...],
    table: Mapping[tuple[str, str, str], Quality],
    unhealthy: Collection[str] = (),
    saturated: Collection[str] = (),
    also: tuple[str, ...] = (),
) -> Decision:
    """Decide where a request goes; raise when no variant may take it.

    `fit_tokens` is what must fit the context beyond the prompt (the caller's max_tokens, or 1);
    `max_tokens` is the completion length used to predict latency. `also` names other tasks
    the request may be (an unsure classification): each variant must satisfy the strictest.
    """
    floor = 1 - tolerance - EPS
    rows = []
    for v in slots:
        name = v.name
        q = table[(task, band, name)]
        for t in also:  # an unsure classification: the strictest of the possible tasks
            q = min(q, table[(t, band, name)], key=_value)
        rate = v.rate
        n = tokens[name]
        if n + fit_tokens > v.max_context:
            status, reason = "too-long", f"{n}+{fit_tokens} tokens > {v.max_context}"
        elif v.bands is not None and band not in v.bands:
            status, reason = "other-band", v.only
        elif q.value < floor:
            status, reason = "below-tolerance", _loss(q.value, tolerance)
        elif name in unhealthy:
            status, reason = "unhealthy", "unhealthy"
        elif name in saturated:
            status, reason = "last-resort", "saturated"
        else:
            status, reason = "fallback", "within tolerance"
        seconds = rate.seconds(n, max_tokens)
        # cheapest first; among equals, the more precise (then the profile's order)
        rows.append((seconds, v.rank, Candidate(name, q, n, seconds, rate.source, status, reason)))
    rows.sort()
    ranked = [row[-1] for row in rows]
    order = [c.variant for c in ranked if c.status == "fallback"]
    order += [c.variant for c in ranked if c.status == "last-resort"]
    if not order:
        _refuse(ranked, slots, task, band, tolerance, fit_tokens)
    candidates = [c.as_chosen() if c.variant == order[0] else c for c in ranked]
    return Decision(
        task,
        band,
        tolerance,
        max_tokens,
        tuple(order),
        tuple(candidates),
        _summary(task, band, tolerance, order[0], candidates, also),
    )


def holds_at(decision: Decision, tokens: Mapping[str, int], slots: Mapping[str, Slot]) -> bool:
    """Whether `decide` would give `decision` again (its band, order, summary and statuses)
    with these counts instead, in the same band (the caller's to know) and at most the
    counts it was made with; False when it cannot tell without deciding again. No status or
    reason but too-long reads the count, and at fewer tokens what fitted still fits; so
    without a too-long candidate (or a saturated one, whose place among the last resorts
    this does not redo) only the ranking can change, and it is redone here."""
    if any(c.status in ("too-long", "last-resort") for c in decision.candidates):
        return False
    n = decision.max_tokens

    def key(c: Candidate) -> tuple[float, tuple[float, float, float, int]]:
        slot = slots[c.variant]
        return slot.rate.seconds(tokens[c.variant], n), slot.rank

    ranked = sorted(decision.candidates, key=key)
    if ranked == list(decision.candidates):  # the same ranking: the same decision
        return True
    order = tuple(c.variant for c in ranked if c.status in ("chosen", "fallback"))
    chosen = decision.order[0]
    return order == decision.order and _why(chosen, ranked) == _why(chosen, decision.candidates)


@functools.lru_cache(maxsize=4096)  # the table's qualities and the tolerances recur
def _loss(value: float, tolerance: float) -> str:
    return f"-{_pct(1 - value)} > {_pct(tolerance)}"


def _value(q: Quality) -> float:
    return q.value


def _summary(
    task: str,
    band: str,
    tolerance: float,
    chosen: str,
    rows: Sequence[Candidate],
    also: tuple[str, ...],
) -> str:
    why = _why(chosen, rows) or f"cheapest within {_pct(tolerance)}"
    unsure = f"; unsure, also {'/'.join(also)}" if also else ""
    return f"{task}/{band}: {chosen} ({why}{unsure})"


def _why(chosen: str, rows: Sequence[Candidate]) -> str:
    """Why each variant ranked before `chosen` was passed over: the first loss, every outage
    ("" when none was)."""
    cheaper: list[tuple[bool, str]] = []
    for c in rows:
        if c.variant == chosen:
            break
        if c.status == "other-band":
            continue  # never a candidate for this band: not worth a word
        lossy = c.status in ("below-tolerance", "too-long")
        if not lossy or not any(x[0] for x in cheaper):
            cheaper.append((lossy, f"{c.variant} {c.reason}"))
    return "; ".join(t for _, t in cheaper)


def _refuse(
    rows: list[Candidate],
    slots: tuple[Slot, ...],
    task: str,
    band: str,
    tolerance: float,
    fit: int,
) -> None:
    fitting = [c for c in rows if c.status not in ("too-long", "other-band")]
    if not fitting:
        tokens = max(c.prompt_tokens for c in rows)
        limit = max(v.max_context for v in slots)
        raise ContextLengthExceeded(
            f"This request needs {tokens} prompt tokens + {fit} completion tokens; the largest "
            f"context of any variant is {limit} tokens. Shorten the messages or lower max_tokens.",
            param="messages",
        )
    within = [c for c in fitting if c.status != "below-tolerance"]
    if not within:
        best = max(fitting, key=lambda c: c.quality.value)
        loss = 1 - best.quality.value
        raise ToleranceUnmet(
            f"No variant within {_pct(tolerance)} quality loss for {task}/{band} can take this "
            f"request; the best that fits is {best.variant} at -{_pct(loss)}. Set "
            f"{TOLERANCE_HEADER.title()}: {loss + 0.0005:.3f} to allow it.",
            param=TOLERANCE_HEADER.title(),
        )
    raise UpstreamUnavailable(
        f"no variant within {_pct(tolerance)} for {task}/{band} is up "
        f"(unhealthy: {', '.join(c.variant for c in within)})"
    )
