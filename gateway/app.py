"""The app factory: `create_app(profile, settings)` wires routes, state and error handling."""

from __future__ import annotations

import copy
import functools
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx
from fastapi import Depends, FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.api import auth, errors, health, metrics, openai, route
from gateway.api.direct import DirectRoutes
from gateway.api.observe import ENDPOINTS, ObserveMiddleware
from gateway.api.schemas import COMPONENTS
from gateway.engines.base import Engines
from gateway.heap import settle
from gateway.relay.pool import UpstreamPool
from gateway.routing.router import Router
from gateway.settings import GatewaySettings
from gateway.state import GatewayState
from quantgate import __version__
from quantgate.profile import Profile

log = logging.getLogger("quantgate.gateway")


class GatewayApp(FastAPI):
    """FastAPI, except that the generation routes are reached before its middleware stack
    (server errors, telemetry, body limit: ~20 us a request that the direct routes, which
    catch their own errors and bound their own bodies, do not need)."""

    direct: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.direct is not None and scope["type"] == "http" and scope["path"] in ENDPOINTS:
            scope["app"] = self
            await self.direct(scope, receive, send)
        else:
            await super().__call__(scope, receive, send)


def create_app(
    profile: Profile,
    settings: GatewaySettings | None = None,
    *,
    supervisor: Engines | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    router: Router | None = None,
) -> FastAPI:
    """The gateway for `profile`.

    `supervisor` starts and watches the managed engines (started with the app, stopped with
    it); `transport` replaces the network for every upstream client (tests inject fakes here);
    `router` brings the variants' tokenizers (default: estimated token counts).
    """
    settings = settings or GatewaySettings()
    pool = UpstreamPool.from_profile(
        profile,
        settings,
        endpoints=supervisor.endpoints if supervisor else None,
        served_models=supervisor.served_models if supervisor else None,
        transport=transport,
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        try:
            async with anyio.create_task_group() as tg:
                if supervisor is not None:
                    for name, seconds in (await supervisor.start()).items():
                        log.info("variant %s ready in %.1f s", name, seconds)
                    tg.start_soon(supervisor.watch)
                tg.start_soon(state.load.watch)
                if state.metrics.pending is not None:  # a worker: its summed metric updates
                    tg.start_soon(state.metrics.flush_every)
                settle()  # what start-up made, out of the collector's sight; free pages back
                yield
                tg.cancel_scope.cancel()
        finally:
            if supervisor is not None:
                supervisor.stop()
            await pool.aclose()

    app = GatewayApp(
        title="quantgate", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None
    )
    state = GatewayState(profile, settings, pool, supervisor, router=router or Router(profile))
    app.state.gateway = state
    if supervisor is not None:
        supervisor.busy = state.admission.busy
        supervisor.recovered = state.outliers.reset
    routes = {
        "/v1/chat/completions": openai.chat_completions,
        "/v1/completions": openai.completions,
    }
    # the rest of each route's requests (a GET, say) gets FastAPI's answer; the observer
    # wraps both, so it sees every request to these paths
    everything_else = functools.partial(FastAPI.__call__, app)
    app.direct = ObserveMiddleware(
        DirectRoutes(everything_else, routes), metrics=lambda: state.metrics, ended=state.ended
    )
    errors.install(app)
    app.include_router(openai.router, dependencies=[Depends(auth.authorized)])
    app.include_router(route.router, dependencies=[Depends(auth.authorized)])
    app.include_router(health.router)
    app.include_router(metrics.router)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's schema, plus the request bodies' definitions (gateway/api/schemas.py)."""
    if app.openapi_schema is None:
        from fastapi.openapi.utils import get_openapi

        schema = get_openapi(title=app.title, version=app.version, routes=app.routes)
        components = copy.deepcopy(COMPONENTS)
        profile = app.state.gateway.profile
        served = [profile.model] + [f"{profile.model}@{v.name}" for v in profile.variants]
        for body in components.values():  # `model` names what this gateway serves
            if "model" in body.get("properties", {}):
                body["properties"]["model"] = {"type": "string", "enum": served}
        schema.setdefault("components", {}).setdefault("schemas", {}).update(components)
        app.openapi_schema = schema
    return app.openapi_schema
