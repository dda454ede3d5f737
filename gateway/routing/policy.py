"""The routing policy: pure and deterministic given its inputs.

Candidates are the variants whose quality for (task, band) is at least 1 - tolerance and whose
context holds the request, ordered by predicted latency (ties: the more precise first).
Unhealthy variants are skipped; saturated ones (at their concurrency limit) go last; the
reference closes the list as the last fallback. Nothing below the tolerance is ever tried.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from gateway.routing.costs import Rate
from gateway.routing.quality import Quality
from quantgate.errors import ContextLengthExceeded, ToleranceUnmet, UpstreamUnavailable
from quantgate.profile import Variant
from quantgate.vocabulary import TOLERANCE_HEADER

EPS = 1e-9


@dataclass(frozen=True)
class Candidate:
    variant: str
    quality: Quality
    prompt_tokens: int
    predicted_s: float
    cost_source: str
    # chosen | fallback | last-resort | below-tolerance | too-long | other-band | unhealthy
    status: str
    reason: str

    def as_chosen(self) -> Candidate:
        """This candidate as the one chosen (`dataclasses.replace` cost ~1 us a request)."""
        return Candidate(
            self.variant,
            self.quality,
            self.prompt_tokens,
            self.predicted_s,
            self.cost_source,
            "chosen",
            self.reason,
        )


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
    variants: list[Variant],
    reference: str,
    table: Mapping[tuple[str, str, str], Quality],
    rates: Mapping[str, Rate],
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
    for v in variants:
        q = table[(task, band, v.name)]
        for t in also:  # an unsure classification: the strictest of the possible tasks
            q = min(q, table[(t, band, v.name)], key=_value)
        rate = rates[v.name]
        n = tokens[v.name]
        if n + fit_tokens > v.max_context:
            status, reason = "too-long", f"{n}+{fit_tokens} tokens > {v.max_context}"
        elif v.bands is not None and band not in v.bands:
            status, reason = "other-band", f"routed {', '.join(v.bands)} only"
        elif q.value < floor:
            status, reason = "below-tolerance", f"-{_pct(1 - q.value)} > {_pct(tolerance)}"
        elif v.name in unhealthy:
            status, reason = "unhealthy", "unhealthy"
        elif v.name in saturated:
            status, reason = "last-resort", "saturated"
        else:
            status, reason = "fallback", "within tolerance"
        rows.append(
            _Row(
                v, Candidate(v.name, q, n, rate.seconds(n, max_tokens), rate.source, status, reason)
            )
        )
    rows.sort(key=_cheapest_first)
    order = [r.v.name for r in rows if r.c.status == "fallback"]
    order += [r.v.name for r in rows if r.c.status == "last-resort"]
    if not order:
        _refuse(rows, task, band, tolerance, fit_tokens)
    candidates = [r.c.as_chosen() if r.v.name == order[0] else r.c for r in rows]
    return Decision(
        task,
        band,
        tolerance,
        max_tokens,
        tuple(order),
        tuple(candidates),
        _summary(task, band, tolerance, order[0], candidates, also),
    )


def _cheapest_first(row: _Row) -> tuple[float, float, float, float]:
    """Predicted seconds, then the higher precision first among equals."""
    w, kv, a = row.v.quant.precision_rank
    return (row.c.predicted_s, -w, -kv, -a)


def _value(q: Quality) -> float:
    return q.value


@dataclass(frozen=True)
class _Row:
    v: Variant
    c: Candidate


def _summary(
    task: str,
    band: str,
    tolerance: float,
    chosen: str,
    rows: list[Candidate],
    also: tuple[str, ...],
) -> str:
    cheaper: list[
        tuple[bool, str]
    ] = []  # why each cheaper variant was passed over: the first loss, every outage
    for c in rows:
        if c.variant == chosen:
            break
        if c.status == "other-band":
            continue  # never a candidate for this band: not worth a word
        lossy = c.status in ("below-tolerance", "too-long")
        if not lossy or not any(x[0] for x in cheaper):
            cheaper.append((lossy, f"{c.variant} {c.reason}"))
    why = "; ".join(t for _, t in cheaper) if cheaper else f"cheapest within {_pct(tolerance)}"
    unsure = f"; unsure, also {'/'.join(also)}" if also else ""
    return f"{task}/{band}: {chosen} ({why}{unsure})"


def _refuse(rows: list[_Row], task: str, band: str, tolerance: float, fit: int) -> None:
    fitting = [r.c for r in rows if r.c.status not in ("too-long", "other-band")]
    if not fitting:
        tokens = max(r.c.prompt_tokens for r in rows)
        limit = max(r.v.max_context for r in rows)
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
