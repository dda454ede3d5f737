"""What the running app holds: the profile, its settings, the upstream pool, and the live
per-variant state (the supervisor's engine health; admission's requests in flight and queued;
the engines' own load)."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field

from gateway.access import KeyCheck
from gateway.engines.base import Engines
from gateway.engines.load import EngineLoad, sources
from gateway.limits import LocalBuckets, RedisBuckets
from gateway.metrics.record import RequestRecord
from gateway.metrics.registry import GatewayMetrics
from gateway.relay.admission import Admission
from gateway.relay.outliers import Outliers
from gateway.relay.pool import UpstreamPool
from gateway.routing.router import Router
from gateway.settings import GatewaySettings
from quantgate.keys import default_path as default_keys_path
from quantgate.profile import Profile, Variant

log = logging.getLogger("quantgate.gateway")


@dataclass
class GatewayState:
    profile: Profile
    settings: GatewaySettings
    pool: UpstreamPool
    supervisor: Engines | None = None
    router: Router = field(default=None)  # type: ignore[assignment]
    started: int = field(default_factory=lambda: int(time.time()))
    metrics: GatewayMetrics = field(init=False)
    admission: Admission = field(init=False)
    keys: KeyCheck = field(init=False)
    outliers: Outliers = field(init=False)
    load: EngineLoad = field(init=False)

    def __post_init__(self) -> None:
        s = self.settings
        limits = {v.name: min(v.concurrency, s.max_connections) for v in self.profile.variants}
        self.admission = Admission(limits, s.max_queue, s.queue_timeout)
        buckets = (
            RedisBuckets(s.redis_url, fail_open=s.redis_failure == "open")
            if s.redis_url
            else LocalBuckets()
        )
        self.keys = KeyCheck(s.keys_file or default_keys_path(), buckets)
        served = {v.name for v in self.profile.variants}
        for key in self.keys.keys().values():
            if unknown := [v for v in key.variants if v not in served]:
                log.warning(
                    "key %r may use %s, which this profile does not serve (its requests for "
                    "them get 403): %s",
                    key.name,
                    ", ".join(unknown),
                    self.keys.path,
                )
        self.outliers = Outliers([v.name for v in self.profile.variants])
        endpoints = self.supervisor.endpoints if self.supervisor is not None else {}
        self.load = EngineLoad(sources(self.profile, endpoints), s.load_interval)
        self.metrics = GatewayMetrics(self.profile, self.healthy)
        if self.router is None:
            self.router = Router(self.profile)

    @property
    def unsupported(self) -> dict[str, str]:
        """Managed variants this machine cannot run: name -> why (none without engines)."""
        return self.supervisor.unsupported if self.supervisor is not None else {}

    def healthy(self, variant: str) -> bool:
        """False while the supervisor knows the variant's engine is down or restarting, or
        while the variant is ejected for failing request after request."""
        if self.outliers.ejected(variant):
            return False
        return self.supervisor is None or self.supervisor.healthy(variant)

    def saturated(self, variant: Variant) -> bool:
        """At its concurrency limit: by this process's count of requests in flight, or by its
        engine's own count (all processes' requests, gateway/engines/load.py)."""
        name, limit = variant.name, variant.concurrency
        return self.admission.active[name] >= limit or self.load.saturated(name, limit)

    def ended(self, record: RequestRecord) -> Awaitable[None] | None:
        """A request has ended: what it says of the variants it tried, and of its key (the
        key's token debit is returned, to be awaited; None when there is nothing to debit)."""
        for name, _ in record.failed:
            self.outliers.report(name, ok=False)
        if record.variant and record.in_flight:
            self.outliers.report(record.variant, ok=record.status < 500 and not record.stream_error)
        if record.key is None:
            return None
        used = (record.prompt_tokens or 0) + (record.completion_tokens or 0)
        return self.keys.spend(record.key, used)
