"""Fuzzing from the published OpenAPI schema (schemathesis): every generated request, valid or
not, to chat/completions, completions, models and route gets a declared status, in the OpenAI
error envelope for errors, never a 5xx and never a hang. The gateway runs under uvicorn in a
thread, in front of a fake upstream; 250 cases per operation."""

from __future__ import annotations

import json
import threading
import time

import httpx
import schemathesis
import uvicorn
from hypothesis import HealthCheck, settings
from schemathesis import checks
from schemathesis.specs.openapi import checks as openapi_checks

from gateway.app import create_app
from gateway.settings import GatewaySettings
from quantgate.profile import parse_profile
from tests.integration.processes import free_port
from tests.unit.conftest import PROFILE
from tests.unit.fakes import FakeUpstreams, Handler

CASES_PER_OPERATION = 250
SEEN: list[int] = []


def short(handler: Handler) -> Handler:
    """The mock engine, asked for at most 4 tokens and 2 choices: the fuzzer probes the
    gateway, not how long a fake can generate (a real engine stops at its context)."""

    async def handle(request: httpx.Request) -> httpx.Response:
        if request.method != "POST":
            return await handler(request)
        body = json.loads(await request.aread())
        for field, cap in (("max_tokens", 4), ("max_completion_tokens", 4), ("n", 2)):
            if isinstance(body.get(field), int):
                body[field] = min(body[field], cap)
        body.setdefault("max_tokens", 4)
        capped = httpx.Request(request.method, request.url, headers=request.headers, json=body)
        return await handler(capped)

    return handle


def serve() -> str:
    upstreams = FakeUpstreams(["ref", "w8", "w4"])
    for name in ("ref", "w8", "w4"):
        upstreams.set(name, short(upstreams.handlers[name]))
    app = create_app(parse_profile(PROFILE), GatewaySettings(), transport=upstreams)
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", access_log=False)
    server = uvicorn.Server(config)
    threading.Thread(target=server.run, daemon=True).start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    return f"http://127.0.0.1:{port}"


BASE = serve()
SCHEMA = schemathesis.openapi.from_url(BASE + "/openapi.json").include(path_regex="^/v1/")


@SCHEMA.parametrize()
@settings(
    max_examples=CASES_PER_OPERATION,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_no_generated_request_breaks_the_gateway(case: schemathesis.Case) -> None:
    response = case.call(base_url=BASE, timeout=10)  # a hang fails the case
    SEEN.append(response.status_code)
    case.validate_response(
        response,
        checks=(
            checks.not_a_server_error,
            openapi_checks.status_code_conformance,
            openapi_checks.content_type_conformance,
            openapi_checks.response_schema_conformance,
            openapi_checks.negative_data_rejection,
        ),
    )


def test_the_fuzzer_ran_at_least_1000_cases() -> None:
    assert len(SEEN) >= 1000, len(SEEN)
    assert all(status < 500 for status in SEEN)
    assert SEEN.count(200) >= 100  # valid requests got through to the fake upstream too
