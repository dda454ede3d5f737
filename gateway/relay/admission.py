"""Admission control: how many requests each variant serves at once, and who waits.

Each variant admits up to its limit of requests at once (the profile's `max_concurrency`,
capped by QUANTGATE_MAX_CONNECTIONS, the HTTP pool's size, so a request never waits inside
httpx), counting those waiting for their first byte and those being relayed. A request
takes the first of its candidates with room; when none has room, it queues for its first
choice, at most `queue` requests deep and for at most `wait` seconds, and is refused with 429
and Retry-After past that. Requests are never dropped silently: admitted, queued, or refused.
"""

from __future__ import annotations

import collections
import math
from collections.abc import Mapping, Sequence

import anyio

from quantgate.errors import Overloaded


class Admission:
    def __init__(self, limits: Mapping[str, int], queue: int, wait: float) -> None:
        self.limits, self.queue, self.wait = dict(limits), queue, wait
        self.active: collections.Counter[str] = collections.Counter()  # admitted, not released
        self.queued: collections.Counter[str] = collections.Counter()
        self._freed: dict[str, anyio.Event] = {}

    @property
    def retry_after(self) -> int:
        """Seconds a refused client is told to wait: a quarter of the queue's wait."""
        return max(1, math.ceil(self.wait / 4))

    def busy(self, variant: str) -> bool:
        return self.active[variant] > 0

    def try_admit(self, variant: str) -> bool:
        if self.active[variant] >= self.limits[variant] or self.queued[variant]:
            return False  # the queue goes first
        self.active[variant] += 1
        return True

    async def admit(self, candidates: Sequence[str]) -> str:
        """The first candidate with room, or the first choice after queueing for it."""
        for name in candidates:
            if self.try_admit(name):
                return name
        first = candidates[0]
        if self.queued[first] >= self.queue:
            raise Overloaded(
                f"variant {first} is at its limit of {self.limits[first]} requests with "
                f"{self.queued[first]} queued; retry later",
                retry_after=self.retry_after,
            )
        self.queued[first] += 1
        try:
            with anyio.move_on_after(self.wait):
                while self.active[first] >= self.limits[first]:
                    await self._event(first).wait()
                self.active[first] += 1
                return first
        finally:
            self.queued[first] -= 1
        raise Overloaded(
            f"variant {first} stayed at its limit of {self.limits[first]} requests for "
            f"{self.wait:g} s; retry later",
            retry_after=self.retry_after,
        )

    def release(self, variant: str) -> None:
        self.active[variant] -= 1
        event = self._freed.pop(variant, None)
        if event is not None:
            event.set()  # every waiter re-checks; the first to run takes the slot

    def _event(self, variant: str) -> anyio.Event:
        event = self._freed.get(variant)
        if event is None:
            event = self._freed[variant] = anyio.Event()
        return event
