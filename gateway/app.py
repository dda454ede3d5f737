"""The app factory: `create_app(profile, settings)` wires routes, state and error handling."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI

from gateway.api import errors, health, openai
from gateway.relay.pool import UpstreamPool
from gateway.settings import GatewaySettings
from gateway.state import GatewayState
from quantgate import __version__
from quantgate.profile import Profile


def create_app(
    profile: Profile,
    settings: GatewaySettings | None = None,
    *,
    endpoints: Mapping[str, str] | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    """The gateway for `profile`.

    `endpoints` maps variant names to the URLs of engines started by the supervisor;
    `transport` replaces the network for every upstream client (tests inject fakes here).
    """
    settings = settings or GatewaySettings()
    pool = UpstreamPool.from_profile(profile, settings, endpoints=endpoints, transport=transport)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await pool.aclose()

    app = FastAPI(
        title="quantgate", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None
    )
    app.state.gateway = GatewayState(profile, settings, pool)
    errors.install(app)
    app.include_router(openai.router)
    app.include_router(health.router)
    return app
