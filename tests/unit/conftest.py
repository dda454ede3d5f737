from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from gateway.app import create_app
from gateway.settings import GatewaySettings
from quantgate.profile import Profile, parse_profile
from tests.unit.fakes import FakeUpstreams

PROFILE = """
model: demo
default_variant: w4
variants:
  - name: ref
    engine: {kind: external, url: "http://ref.test/v1", served_model: up-ref}
    quant: {w_bits: 16, method: none}
  - name: w8
    engine: {kind: external, url: "http://w8.test/v1", served_model: up-w8}
    quant: {w_bits: 8, method: rtn}
  - name: w4
    engine: {kind: external, url: "http://w4.test/v1", served_model: up-w4}
    quant: {w_bits: 4, method: awq, group_size: 128}
# relay tests want w4 first, then w8, then ref, whatever the classifier makes of their
# few-word prompts: a wide tolerance admits w4 for all but math and code
routing: {tolerance: 0.1}
"""


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def profile() -> Profile:
    return parse_profile(PROFILE)


@pytest.fixture
def upstreams() -> FakeUpstreams:
    return FakeUpstreams(["ref", "w8", "w4"])


@pytest.fixture
def make_app(profile: Profile, upstreams: FakeUpstreams) -> Callable[..., FastAPI]:
    def make(**settings: Any) -> FastAPI:
        return create_app(profile, GatewaySettings(**settings), transport=upstreams)

    return make


@pytest.fixture
async def client(make_app: Callable[..., FastAPI]) -> AsyncIterator[httpx.AsyncClient]:
    app = make_app()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as c:
        yield c
    await app.state.gateway.pool.aclose()
