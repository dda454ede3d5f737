"""The router: a request body and its hints -> a routing decision.

Composes the pure parts: hints (task, tolerance) or the classifier, the prompt counter, the
quality table, the cost rates and the policy. Built once per profile; `route` is called once
per request with the health and load the gateway knows at that moment.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from gateway.routing.classifier import Classification, Classifier, default_classifier
from gateway.routing.costs import Rate, rates
from gateway.routing.policy import Decision, Slot, decide, holds_at, slots
from gateway.routing.quality import Quality, quality_table, reference
from gateway.routing.tokens import PromptCounter, prompt_counter
from quantgate.errors import InvalidRequest, QuantgateError
from quantgate.profile import Profile
from quantgate.vocabulary import TASK_HEADER, TASKS, TOLERANCE_HEADER, band_of


@dataclass(frozen=True)
class Hints:
    task: str | None = None
    task_source: str = "classifier"  # header | metadata | classifier
    tolerance: float | None = None


@dataclass(frozen=True)
class Routed:
    decision: Decision
    classification: Classification | None
    task_source: str
    tokens: dict[str, int]
    timings_us: dict[str, float] = field(default_factory=dict)
    exact: dict[str, bool] = field(default_factory=dict)  # counted by the variant's tokenizer?


def parse_hints(headers: Mapping[str, str], body: Mapping[str, Any]) -> Hints:
    """The caller's task and tolerance, from headers or `metadata.task`; 400 when malformed."""
    task, source = headers.get(TASK_HEADER), "header"
    metadata = body.get("metadata")
    if task is None and isinstance(metadata, dict) and metadata.get("task") is not None:
        task, source = str(metadata["task"]), "metadata"
    if task is not None:
        task = task.strip().lower()
        if task not in TASKS:
            param = TASK_HEADER.title() if source == "header" else "metadata.task"
            raise InvalidRequest(f"unknown task {task!r}; one of: {', '.join(TASKS)}", param=param)
    tolerance = None
    raw = headers.get(TOLERANCE_HEADER)
    if raw is not None:
        text = raw.strip()
        try:
            tolerance = float(text[:-1]) / 100 if text.endswith("%") else float(text)
        except ValueError:
            tolerance = -1.0
        if not 0 <= tolerance <= 1:
            raise InvalidRequest(
                f"{TOLERANCE_HEADER.title()} must be a fraction in [0, 1] (0.05) or a percent "
                f"(5%), got {raw!r}",
                param=TOLERANCE_HEADER.title(),
            )
    return Hints(task, source if task else "classifier", tolerance)


def upstream_body(body: dict[str, Any]) -> dict[str, Any]:
    """The body without quantgate's own `metadata.task` (engines may reject unknown fields)."""
    metadata = body.get("metadata")
    if not isinstance(metadata, dict) or "task" not in metadata:
        return body
    rest = {k: v for k, v in metadata.items() if k != "task"}
    out = {k: v for k, v in body.items() if k != "metadata"}
    if rest:
        out["metadata"] = rest
    return out


class Router:
    def __init__(
        self,
        profile: Profile,
        counter: PromptCounter | None = None,
        classifier: Classifier | None = None,
    ) -> None:
        self.profile = profile
        self.reference = reference(profile)
        self.table: dict[tuple[str, str, str], Quality] = quality_table(profile)
        self.rates: dict[str, Rate] = rates(profile, self.reference)
        self.slots: tuple[Slot, ...] = slots(profile.variants, self.rates)
        self.by_name = {s.name: s for s in self.slots}
        self.counter = counter or prompt_counter(profile)
        self.classifier = classifier or default_classifier()
        self.bands = [(b.name, b.max_tokens) for b in profile.routing.bands]

    def band(self, span: Mapping[str, tuple[int, int]], end: int, max_tokens: int) -> str:
        """The band at one end of `span` (0: the fewest tokens, 1: the most)."""
        return band_of(self.bands, max(bounds[end] for bounds in span.values()) + max_tokens)

    def classify(
        self, body: dict[str, Any], hints: Hints, *, explain: bool = False
    ) -> tuple[str, Classification | None]:
        if hints.task is not None:
            return hints.task, None
        below = self.profile.routing.unsure_below
        found = self.classifier.classify(body, explain=explain, unsure_below=below)
        return found.task, found

    def route(
        self,
        body: dict[str, Any],
        hints: Hints,
        *,
        unhealthy: Collection[str] = (),
        saturated: Collection[str] = (),
        tokens: dict[str, int] | None = None,
        explain: bool = False,
    ) -> Routed:
        """The decision; `explain` also names the classifier's deciding features and counts
        the prompt. Otherwise the prompt is counted only when its count could change the
        decision: when the decisions at the fewest and at the most tokens its size allows
        differ (then `tokens` is empty: the caller counts later if it needs the figure)."""
        t0 = time.perf_counter()
        task, found = self.classify(body, hints, explain=explain)
        t1 = time.perf_counter()
        asked = body.get("max_completion_tokens") or body.get("max_tokens")
        asked = asked if isinstance(asked, int) and asked > 0 else None
        max_tokens = asked or self.profile.routing.default_max_tokens
        tolerance = self.profile.routing.tolerance if hints.tolerance is None else hints.tolerance
        also = (found.runner_up,) if found is not None and found.unsure else ()

        def decision(tokens: Mapping[str, int]) -> Decision:
            return decide(
                task=task,
                band=band_of(self.bands, max(tokens.values()) + max_tokens),
                tolerance=tolerance,
                max_tokens=max_tokens,
                fit_tokens=asked or 1,
                tokens=tokens,
                slots=self.slots,
                table=self.table,
                unhealthy=unhealthy,
                saturated=saturated,
                also=also,
            )

        decided = None
        if tokens is None and not explain:
            span = self.counter.bounds(body)
            if span and self.band(span, 0, max_tokens) == self.band(span, 1, max_tokens):
                # (a band edge between: count)
                decided = either_way(decision, span, lambda d, t: holds_at(d, t, self.by_name))
        t2 = time.perf_counter()
        if decided is None:
            if tokens is None:
                tokens = self.counter.count(body)
            t2 = time.perf_counter()
            decided = decision(tokens)
        t3 = time.perf_counter()
        timings = {
            "classify_us": (t1 - t0) * 1e6,
            "tokenize_us": (t2 - t1) * 1e6,
            "policy_us": (t3 - t2) * 1e6,
        }
        tokens = tokens or {}
        exact = {v: self.counter.exact(v) for v in tokens} if explain else {}
        return Routed(decided, found, hints.task_source, tokens, timings, exact)


def either_way(
    decision: Callable[[Mapping[str, int]], Decision],
    span: Mapping[str, tuple[int, int]],
    holds: Callable[[Decision, Mapping[str, int]], bool] | None = None,
) -> Decision | None:
    """The decision if it is the same at the fewest and at the most tokens of `span` (one
    band at both ends: the caller checks), else None. It is then the same at any count
    between: the band and whether a prompt fits only change once as the count grows, and
    each variant's predicted latency is linear in it, so two variants that rank the same way
    at both ends rank so between them. `holds(most, fewest counts)` says, where it can
    without deciding again, that the decision at the most tokens is also the one at the
    fewest (policy.holds_at: one decision made, not two)."""
    try:
        most = decision({v: hi for v, (_, hi) in span.items()})
        if all(lo == hi for lo, hi in span.values()):
            return most  # one count only (an estimate's): nothing to compare it with
        fewest_counts = {v: lo for v, (lo, _) in span.items()}
        if holds is not None and holds(most, fewest_counts):
            return most
        fewest = decision(fewest_counts)
    except QuantgateError:  # refused at one end: the count decides
        return None
    same = (most.band, most.order, most.summary) == (fewest.band, fewest.order, fewest.summary)
    statuses = {c.variant: c.status for c in most.candidates}
    if same and statuses == {c.variant: c.status for c in fewest.candidates}:
        return most  # its candidates' tokens and latencies are those at the most tokens
    return None
