"""Outlier ejection, as Envoy does it: a variant whose requests fail `consecutive` times in a
row (5xx, timeouts, refused connections, broken streams) is ejected for a cooldown: the router
skips it and failover never picks it. Each ejection doubles the next cooldown (from `base` up to
`longest`); a variant that then serves `stable` requests in a row starts again from `base`.
At most half of the variants are ejected at once, so the gateway never ejects itself empty. An
engine the supervisor restarts is readmitted as soon as it passes its probes.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

log = logging.getLogger("quantgate.relay")


@dataclass
class _Track:
    failures: int = 0
    successes: int = 0
    ejections: int = 0
    until: float = 0.0


class Outliers:
    def __init__(
        self,
        variants: list[str],
        consecutive: int = 5,
        base: float = 30.0,
        longest: float = 300.0,
        stable: int = 20,
    ) -> None:
        self.consecutive, self.base, self.longest, self.stable = consecutive, base, longest, stable
        self._tracks = {name: _Track() for name in variants}

    def ejected(self, variant: str, now: float | None = None) -> bool:
        track = self._tracks.get(variant)
        return track is not None and (time.monotonic() if now is None else now) < track.until

    def reset(self, variant: str) -> None:
        """Readmit a variant now (its engine was restarted and passes its probes)."""
        track = self._tracks.get(variant)
        if track is not None:
            track.failures, track.until = 0, 0.0

    def report(self, variant: str, ok: bool, now: float | None = None) -> None:
        track = self._tracks.get(variant)
        if track is None:
            return
        now = time.monotonic() if now is None else now
        if ok:
            track.failures, track.successes = 0, track.successes + 1
            if track.successes >= self.stable:
                track.ejections = 0
            return
        track.failures, track.successes = track.failures + 1, 0
        if track.failures < self.consecutive or now < track.until:
            return
        ejected = sum(self.ejected(n, now) for n in self._tracks)
        if ejected + 1 > len(self._tracks) // 2:
            log.warning(
                "variant %s: %d failures in a row, not ejected (too many are)",
                variant,
                track.failures,
            )
            return
        cooldown = min(self.longest, self.base * 2**track.ejections)
        track.ejections += 1
        track.until, track.failures = now + cooldown, 0
        log.warning(
            "variant %s: ejected for %.0f s after %d failures in a row",
            variant,
            cooldown,
            self.consecutive,
        )
