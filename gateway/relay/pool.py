"""The upstreams of a profile: one connection pool per variant.

The pool is the gateway's own (gateway/relay/http1.py): httpcore's pool scans every
connection on every request, and at 32 concurrent requests its bookkeeping cost more than the
relay (bench/overhead.py: 540 req/s at 32 connections with httpcore, 1040 with aiohttp, on one
core); aiohttp's costs 2.4x what the gateway's does a request (bench/http_clients.py). Tests
hand in their own httpx transport instead.
"""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from gateway.relay.http1 import Http1Sender
from gateway.relay.transport import HttpxSender
from gateway.relay.upstream import Timeouts, Upstream
from gateway.settings import GatewaySettings
from quantgate.profile import ExternalEngine, Profile


class UpstreamPool:
    def __init__(self, upstreams: Mapping[str, Upstream]) -> None:
        self._upstreams = dict(upstreams)

    @classmethod
    def from_profile(
        cls,
        profile: Profile,
        settings: GatewaySettings,
        *,
        endpoints: Mapping[str, str] | None = None,
        served_models: Mapping[str, str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> UpstreamPool:
        """Clients for every variant; `endpoints` and `served_models` describe the engines
        started by the supervisor (their URL and the model name they serve)."""
        endpoints = endpoints or {}
        served_models = served_models or {}
        timeouts = Timeouts(
            settings.connect_timeout, settings.first_byte_timeout, settings.idle_timeout
        )
        upstreams = {}
        for variant in profile.variants:
            engine = variant.engine
            headers = {}
            served_model = None
            if isinstance(engine, ExternalEngine):
                url = endpoints.get(variant.name, str(engine.url))
                served_model = engine.served_model
                if engine.api_key:
                    headers["authorization"] = f"Bearer {engine.api_key}"
            elif variant.name in endpoints:
                url = endpoints[variant.name]
                served_model = served_models.get(variant.name)
            else:
                continue  # a managed engine that is not running: not a candidate
            upstreams[variant.name] = Upstream(
                variant.name,
                url,
                (
                    Http1Sender(settings.max_connections, settings.connect_timeout)
                    if transport is None
                    else HttpxSender(transport, settings.connect_timeout)
                ),
                timeouts=timeouts,
                headers=headers,
                served_model=served_model,
            )
        return cls(upstreams)

    def get(self, name: str) -> Upstream | None:
        return self._upstreams.get(name)

    async def aclose(self) -> None:
        for upstream in self._upstreams.values():
            await upstream.aclose()
