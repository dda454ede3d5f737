"""`GET /metrics`: the gateway's Prometheus metrics; `GET /sd/engines`: scrape targets."""

from __future__ import annotations

from fastapi import APIRouter
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import Response

from gateway.state import GatewayState

router = APIRouter()


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    state: GatewayState = request.app.state.gateway
    if state.settings.admin_metrics:
        state.keys.require_admin(request)
    state.metrics.flush()  # this worker's updates of the last moment too
    return Response(generate_latest(state.metrics.registry), media_type=CONTENT_TYPE_LATEST)


@router.get("/sd/engines")
async def engine_targets(request: Request) -> list[dict[str, object]]:
    """Prometheus HTTP service discovery: the engines quantgate started that export metrics
    (vLLM's /metrics), each labelled with its variant."""
    state: GatewayState = request.app.state.gateway
    state.keys.require_admin(request)
    if state.supervisor is None:
        return []
    targets: list[dict[str, object]] = []
    for name, port in state.supervisor.ports.items():
        if state.profile.variant(name).engine.kind == "vllm":
            targets.append(
                {
                    "targets": [f"127.0.0.1:{port}"],
                    "labels": {"variant": name, "engine": "vllm"},
                }
            )
    return targets
