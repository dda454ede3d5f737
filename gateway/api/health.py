"""Liveness (`/health`) and readiness (`/ready`: at least one variant is up).

`/ready` shows each variant up or down; the engines' PIDs, ports and log paths only to an
admin key (gateway/access.py); `load` holds what vLLM engines report running and waiting
(gateway/engines/load.py). It reads the supervisor's state for the engines quantgate runs
and sends them nothing: a request to a llama.cpp engine would wait behind its running
generation. Only external upstreams, of which the gateway has no other view, are probed.
"""

from __future__ import annotations

import anyio
from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse

from gateway.state import GatewayState

router = APIRouter()


@router.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/ready")
async def ready(request: Request) -> JSONResponse:
    state: GatewayState = request.app.state.gateway
    variants = {v.name: False for v in state.profile.variants}

    supervisor = state.supervisor
    managed = supervisor.status() if supervisor is not None else {}

    async def probe(name: str) -> None:
        upstream = state.pool.get(name)
        if name in managed:
            variants[name] = state.healthy(name)
            return
        if upstream is None:
            return
        with anyio.move_on_after(state.settings.ready_timeout):
            variants[name] = await upstream.probe()

    async with anyio.create_task_group() as tg:
        for name in variants:
            tg.start_soon(probe, name)
    ok = any(variants.values())
    body: dict[str, object] = {
        "status": "ready" if ok else "unavailable",
        "variants": {n: "up" if up else "down" for n, up in variants.items()},
    }
    load = {n: state.load.current(n) for n in variants}
    body["load"] = {  # the engines that publish it (vLLM): all gateways' requests
        n: {"running": r.running, "waiting": r.waiting} for n, r in load.items() if r
    }
    if supervisor is not None and state.keys.is_admin(request):
        body["engines"] = managed  # PIDs, ports and log paths: for an admin key only
    return JSONResponse(body, status_code=200 if ok else 503)
