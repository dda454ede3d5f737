"""Load shapes as small typed classes, and the runner that drives one to a stop condition.

Closed loop (`Concurrent`, `RampUp`): N streams, each sending its next request when the last
ends (`RampUp` starts them one by one).
Open loop (`ConstantRate`, `PoissonRate`): requests leave on a schedule whatever the answers.
"""

from __future__ import annotations

import random
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Literal

import anyio

from loadtest.types import RequestResult

Send = Callable[[int, float], Awaitable[RequestResult]]  # (index, scheduled time) -> result


@dataclass(frozen=True)
class Concurrent:
    kind: Literal["concurrent"] = "concurrent"
    streams: int = 1


@dataclass(frozen=True)
class RampUp:
    """Closed loop whose streams start one by one, evenly over `ramp` seconds."""

    kind: Literal["ramp-up"] = "ramp-up"
    streams: int = 1
    ramp: float = 10.0

    def delay(self, stream: int) -> float:
        return self.ramp * stream / self.streams


@dataclass(frozen=True)
class ConstantRate:
    kind: Literal["constant"] = "constant"
    rate: float = 1.0  # requests per second

    def intervals(self) -> Iterator[float]:
        while True:
            yield 1.0 / self.rate


@dataclass(frozen=True)
class PoissonRate:
    kind: Literal["poisson"] = "poisson"
    rate: float = 1.0
    seed: int = 0

    def intervals(self) -> Iterator[float]:
        rng = random.Random(self.seed)
        while True:
            yield rng.expovariate(self.rate)


Strategy = Concurrent | RampUp | ConstantRate | PoissonRate


@dataclass(frozen=True)
class Stop:
    requests: int | None = None
    duration: float | None = None  # seconds from the start; no new request after it
    max_error_rate: float | None = None  # stop once this share has failed (after 10 results)


async def run(
    strategy: Strategy,
    send: Send,
    stop: Stop,
    on_result: Callable[[RequestResult], None] | None = None,
) -> list[RequestResult]:
    if stop.requests is None and stop.duration is None:
        raise ValueError("give a request count or a duration")
    results: list[RequestResult] = []
    started = time.perf_counter()
    issued = 0

    def may_issue() -> bool:
        if stop.requests is not None and issued >= stop.requests:
            return False
        if stop.duration is not None and time.perf_counter() - started >= stop.duration:
            return False
        if stop.max_error_rate is not None and len(results) >= 10:
            failed = sum(r.status != "ok" for r in results)
            if failed / len(results) > stop.max_error_rate:
                return False
        return True

    async def one(index: int, scheduled: float) -> None:
        result = await send(index, scheduled)
        results.append(result)
        if on_result:
            on_result(result)

    async with anyio.create_task_group() as tg:
        if isinstance(strategy, Concurrent | RampUp):

            async def stream(delay: float) -> None:
                nonlocal issued
                await anyio.sleep(delay)
                while may_issue():
                    index = issued
                    issued += 1
                    await one(index, time.perf_counter())

            for n in range(strategy.streams):
                tg.start_soon(stream, strategy.delay(n) if isinstance(strategy, RampUp) else 0.0)
        else:
            next_time = started
            for interval in strategy.intervals():
                if not may_issue():
                    break
                await anyio.sleep(max(0.0, next_time - time.perf_counter()))
                if not may_issue():
                    break
                tg.start_soon(one, issued, next_time)
                issued += 1
                next_time += interval
    return sorted(results, key=lambda r: r.index)
