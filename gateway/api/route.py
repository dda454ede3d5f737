"""`POST /v1/route`: the routing decision for a chat or completion body, without generating."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.requests import Request

from gateway.api.body import read_json, validate
from gateway.api.decide import plan
from gateway.api.schemas import (
    ERRORS,
    ChatCompletionRequest,
    CompletionRequest,
    RouteRequest,
    request_body,
)
from gateway.routing.explain import explain
from gateway.state import GatewayState
from quantgate.errors import InvalidRequest
from quantgate.vocabulary import ROUTE_HEADER

router = APIRouter()


@router.post("/v1/route", openapi_extra=request_body(RouteRequest), responses=ERRORS)
async def route(request: Request) -> dict[str, Any]:
    state: GatewayState = request.app.state.gateway
    body = await read_json(request, state.settings.max_body_bytes)
    validate(RouteRequest, body)
    if "messages" not in body and "prompt" not in body:
        raise InvalidRequest(
            "give `messages` (a chat) or `prompt` (a completion)", param="messages"
        )
    validate(ChatCompletionRequest if "messages" in body else CompletionRequest, body)
    planned = await plan(state, request.headers, body, body["model"], explain=True)
    if planned.routed is None:
        return {
            "model": body["model"],
            "pinned": True,
            "task": planned.task,
            "order": list(planned.order),
            "route": planned.headers()[ROUTE_HEADER],
        }
    return {"model": body["model"], "pinned": False, **explain(planned.routed)}
