"""Running tasks against variants: samples, cached asks, outcomes as rows, with progress.

Variants run one after another (they share the machine), a task's samples run `concurrency` at
a time. Every row is one (task, variant, sample); errors are rows too (score None).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import anyio

from evalsuite.client import Endpoint, ReplyCache
from evalsuite.types import Context, Outcome, Reply, Request, Row, Sample, Task

Progress = Callable[[str, str, int, int], None]  # (variant, task, done, total)


@dataclass(frozen=True)
class Target:
    variant: str
    endpoint: Endpoint
    max_context: int | None = None
    logprobs: bool = True  # False: its engine returns none (asked without them; no KL)


JUDGE_CACHE = "judge.jsonl"  # the judge's replies, beside the variants' folders in cache/
KEPT_TOKENS = 32  # answer tokens (and their top-k logprobs) kept per row, for agreement and KL


def row(
    task: Task,
    variant: str,
    sample: Sample,
    outcome: Outcome,
    answer: Reply | None = None,
    chance: float | None = None,
) -> Row:
    """The sample's result; `answer` is its first reply (tokens, logprobs, length)."""
    tokens = answer.tokens if answer and outcome.error is None else None
    top = answer.top_logprobs if answer and outcome.error is None else None
    return Row(
        task=task.name,
        ability=task.ability,
        route_task=task.route_task,
        variant=variant,
        sample=sample.id,
        target=sample.target if _plain(sample.target) else repr(sample.target),
        prompt=outcome.prompt,
        response=outcome.response,
        parsed=outcome.parsed if _plain(outcome.parsed) else repr(outcome.parsed),
        score=outcome.score,
        latency_s=round(outcome.latency_s, 4),
        error=outcome.error,
        extra=outcome.extra,
        chance=chance,
        prompt_tokens=answer.prompt_tokens if answer else None,
        completion_tokens=answer.completion_tokens if answer else None,
        tokens=tokens[:KEPT_TOKENS] if tokens else None,
        top_logprobs=top[:KEPT_TOKENS] if top and tokens else None,
    )


def _plain(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool | list | dict)


async def run_eval(
    tasks: list[Task],
    targets: list[Target],
    *,
    data_dir: Path,
    limit: int,
    seed: int,
    run_dir: Path,
    context: Context,
    concurrency: int = 1,
    progress: Progress | None = None,
    limits: dict[str, int] | None = None,
    judge: Endpoint | None = None,
) -> list[Row]:
    """Every (target, task, sample) as a row. Replies are cached in `run_dir` (a rerun asks
    only what is missing), the `judge`'s too (`cache/judge.jsonl`: a resumed MT-Bench run
    rates again only what was not rated)."""
    limits = limits or {}
    if judge is not None:
        context = replace(
            context, judge=_cached_ask(judge, ReplyCache(run_dir / "cache" / JUDGE_CACHE))
        )
    samples = {t.name: t.load(data_dir, limits.get(t.name, limit), seed) for t in tasks}
    chance = {t.name: t.chance(samples[t.name]) if samples[t.name] else None for t in tasks}
    rows: list[Row] = []
    for target in targets:
        ctx = replace(context, max_context=target.max_context)
        if not target.logprobs:  # multiple choice by the answer's text, no perplexity, no KL
            ctx = replace(
                ctx, logprobs=False, loglikelihood=False, perplexity=False, top_logprobs=None
            )
        for task in tasks:
            cache = ReplyCache(run_dir / "cache" / target.variant / f"{task.name}.jsonl")
            task_ctx = ctx if task.kl else replace(ctx, top_logprobs=None)
            todo = samples[task.name]
            rows += await _run_task(
                task, target, todo, task_ctx, cache, concurrency, progress, chance[task.name]
            )
    return rows


async def _run_task(
    task: Task,
    target: Target,
    todo: list[Sample],
    ctx: Context,
    cache: ReplyCache,
    concurrency: int,
    progress: Progress | None,
    chance: float | None = None,
) -> list[Row]:
    cached = _cached_ask(target.endpoint, cache)
    limiter = anyio.Semaphore(concurrency)
    results: dict[int, Row] = {}

    async def one(i: int, s: Sample) -> None:
        replies: list[Reply] = []

        async def ask(req: Request) -> Reply:
            """The first request of a sample is its answer: top-k logprobs asked there.
            Every request is cut at the run's `max_tokens`, if it has one."""
            if not replies and ctx.top_logprobs and req.logprobs is None and not req.echo:
                req = replace(req, logprobs=ctx.top_logprobs)
            if ctx.max_tokens is not None and req.max_tokens > ctx.max_tokens:
                req = replace(req, max_tokens=ctx.max_tokens)
            reply: Reply = await cached(req)
            replies.append(reply)
            return reply

        async with limiter:
            outcome = await task.run(s, ask, ctx)
        answer = replies[0] if replies else None
        results[i] = row(task, target.variant, s, outcome, answer, chance)
        if progress:
            progress(target.variant, task.name, len(results), len(todo))

    if progress:
        progress(target.variant, task.name, 0, len(todo))
    async with anyio.create_task_group() as tg:
        for i, s in enumerate(todo):
            tg.start_soon(one, i, s)
    return [results[i] for i in range(len(todo))]


def _cached_ask(endpoint: Endpoint, cache: ReplyCache) -> Any:
    async def ask(req: Request) -> Reply:
        key = ReplyCache.key(endpoint.model, req)
        hit = cache.get(key)
        if hit is not None:
            return hit
        reply = await endpoint.ask(req)
        if reply.error is None:
            cache.put(key, reply)
        return reply

    return ask
