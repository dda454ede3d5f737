"""The OpenAI-compatible routes: chat completions, completions, the model list."""

from __future__ import annotations

import asyncio
import functools
import time
from typing import Any

import anyio
from fastapi import APIRouter
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response

from gateway.api.body import read_json, validate
from gateway.api.decide import large, plan
from gateway.api.disconnect import unless_disconnected
from gateway.api.observe import current
from gateway.api.replies import to_response
from gateway.api.schemas import (
    ERRORS,
    GENERATED,
    ChatCompletionRequest,
    CompletionRequest,
    request_body,
)
from gateway.engines.fields import adapt, unsupported
from gateway.metrics.record import RequestRecord
from gateway.relay.failover import Served, open_first
from gateway.routing.resolve import pinned_variant
from gateway.routing.router import upstream_body as without_hints
from gateway.state import GatewayState
from quantgate.errors import (
    InvalidRequest,
    ModelNotFound,
    UnsupportedParameter,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnavailable,
    VariantNotAllowed,
)
from quantgate.streams import expected_choices
from quantgate.vocabulary import DEADLINE_HEADER, FAILOVER_HEADER, SKIPPED_HEADER, VARIANT_HEADER

router = APIRouter()


@router.post(
    "/v1/chat/completions",
    openapi_extra=request_body(ChatCompletionRequest),
    responses=GENERATED,
)
async def chat_completions(request: Request) -> Response:
    return await _generate(request, "chat/completions", ChatCompletionRequest)


@router.post(
    "/v1/completions",
    openapi_extra=request_body(CompletionRequest),
    responses=GENERATED,
)
async def completions(request: Request) -> Response:
    return await _generate(request, "completions", CompletionRequest)


@router.get("/v1/models")
async def models(request: Request) -> dict[str, Any]:
    return {"object": "list", "data": _model_cards(request.app.state.gateway)}


@router.get("/v1/models/{model:path}", responses={s: ERRORS[s] for s in (401, 404)})
async def model(request: Request, model: str) -> dict[str, Any]:
    """One model (the SDK's `models.retrieve`); 404 `model_not_found` for any other name."""
    state: GatewayState = request.app.state.gateway
    for card in _model_cards(state):
        if card["id"] == model:
            return card
    pinned_variant(state.profile, model)  # raises for a name that is not the profile's
    raise ModelNotFound(  # one of its variants that this machine cannot run
        f"The model `{model}` is not served here: {state.unsupported[model.partition('@')[2]]}",
        param="model",
    )


def _model_cards(state: GatewayState) -> list[dict[str, Any]]:
    """The model (routed), then each variant this machine runs."""
    profile, created, absent = state.profile, state.started, state.unsupported
    data = [_model_card(profile.model, created, None, profile.variant(profile.default_variant))]
    data += [
        _model_card(f"{profile.model}@{v.name}", created, profile.model, v)
        for v in profile.variants
        if v.name not in absent  # this machine cannot run it
    ]
    return data


def _model_card(model_id: str, created: int, root: str | None, variant: Any) -> dict[str, Any]:
    return {
        "id": model_id,
        "object": "model",
        "created": created,
        "owned_by": "quantgate",
        "root": root or model_id,
        "parent": root,
        "max_model_len": variant.max_context,
    }


async def _generate(request: Request, path: str, schema: type[BaseModel]) -> Response:
    state: GatewayState = request.app.state.gateway
    record = current.get() or RequestRecord(request_id="", endpoint=path)
    body = await read_json(request, state.settings.max_body_bytes)
    parsed = validate(schema, body)
    model: str = parsed.model  # type: ignore[attr-defined]
    stream = bool(parsed.stream)  # type: ignore[attr-defined]
    started = time.perf_counter()
    planned = await plan(state, request.headers, body, model)
    record.routing_seconds = time.perf_counter() - started
    record.route = "pinned" if planned.pinned else "auto"
    record.task = planned.task
    record.streamed = stream
    order = _honouring(state, path, body, _allowed(request, planned.order))
    candidates, skipped = [], []
    for name in order:
        upstream = state.pool.get(name)
        if upstream is not None and state.healthy(name):
            candidates.append(upstream)
        else:
            skipped.append(name)
    if planned.routed is not None:  # the policy already left out what it knew was down
        skipped += [
            c.variant for c in planned.routed.decision.candidates if c.status == "unhealthy"
        ]
    if not candidates:
        absent = state.unsupported
        why = "; ".join(
            f"{n} is not run on this machine: {absent[n]}" for n in skipped if n in absent
        )
        raise UpstreamUnavailable(
            f"no variant of `{model}` is up (down or restarting: {', '.join(skipped)})"
            + (f"; {why}" if why else "")
        )
    # the gateway always asks for usage in streams (for its metrics); a client that did not
    # ask does not get the extra chunk
    client_usage = bool((body.get("stream_options") or {}).get("include_usage"))
    upstream_body = without_hints(body)
    if stream and not client_usage:
        upstream_body = {
            **upstream_body,
            "stream_options": {**(body.get("stream_options") or {}), "include_usage": True},
        }
    candidates = candidates[: 1 + state.settings.max_failovers]  # the retry budget
    deadline = _deadline(request.headers, state.settings.deadline)
    failed: list[tuple[str, UpstreamError]] = []
    try:
        async with asyncio.timeout(deadline):
            opening = _open(state, record, candidates, path, upstream_body, stream, failed)
            served = await unless_disconnected(request.receive, opening)
    except TimeoutError:
        tried = ", ".join(name for name, _ in failed) or "none finished"
        raise UpstreamTimeout(
            f"no variant answered within the {deadline:g} s deadline (failed: {tried})"
        ) from None
    finally:
        record.failed = [(name, exc.code or "error") for name, exc in failed]
    record.variant = served.upstream.name
    record.release = functools.partial(state.admission.release, record.variant)
    if planned.routed is not None:
        record.counted_prompt_tokens = planned.routed.tokens.get(record.variant)
    state.metrics.enter(record.variant)
    record.in_flight = True
    headers = {VARIANT_HEADER: served.upstream.name, **planned.headers()}
    if failed:
        headers[FAILOVER_HEADER] = ",".join(name for name, _ in failed)
    if skipped:
        headers[SKIPPED_HEADER] = ",".join(skipped)
    variant = record.variant

    async def prompt_tokens() -> int | None:
        """The exact prompt count for the variant (routing made it; pinned: made now)."""
        counter = state.router.counter
        if not counter.exact(variant):
            return None
        if record.counted_prompt_tokens is None:
            count = functools.partial(counter.count, body, (variant,))
            counts = await anyio.to_thread.run_sync(count) if large(body) else count()
            record.counted_prompt_tokens = counts[variant]
        return record.counted_prompt_tokens

    return to_response(
        served.reply,
        model,
        headers,
        record,
        keep_usage=client_usage,
        choices=expected_choices(body),
        prompt_tokens=prompt_tokens,
    )


async def _open(
    state: GatewayState,
    record: RequestRecord,
    candidates: list[Any],
    path: str,
    body: dict[str, Any],
    stream: bool,
    failed: list[tuple[str, UpstreamError]],
) -> Served:
    return await open_first(
        candidates,
        path,
        body,
        stream=stream,
        failed=failed,
        headers={"x-request-id": record.request_id},
        admission=state.admission,
        adapt=lambda name, b: adapt(state.profile.variant(name).engine, b),
    )


def _allowed(request: Request, order: tuple[str, ...]) -> tuple[str, ...]:
    """The variants of `order` the caller's key may use; 403 when none."""
    key = getattr(request.state, "key", None)
    if key is None or not key.variants:
        return order
    kept = tuple(v for v in order if v in key.variants)
    if not kept:
        raise VariantNotAllowed(
            f"key {key.name!r} may use {', '.join(key.variants)}, not {', '.join(order)}",
            param="model",
        )
    return kept


def _deadline(headers: Any, default: float | None) -> float | None:
    """Seconds from the X-Quantgate-Deadline header (or the setting); 400 when malformed."""
    raw = headers.get(DEADLINE_HEADER)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 < value < 86400:
        raise InvalidRequest(
            f"{DEADLINE_HEADER.title()} must be seconds (0 < s < 86400), not {raw!r}",
            param=DEADLINE_HEADER.title(),
        )
    return value


def _honouring(
    state: GatewayState, path: str, body: dict[str, Any], order: tuple[str, ...]
) -> list[str]:
    """The variants in `order` whose engine honours every field `body` sets; a 400 naming
    the field and the variant when none does."""
    kept, refused = [], []
    for name in order:
        variant = state.profile.variant(name)
        why = unsupported(variant.engine, path, body, logprobs=variant.logprobs)
        if why is None:
            kept.append(name)
        else:
            refused.append((name, why))
    if not kept:
        name, (param, reason) = refused[0]
        others = [n for n, _ in refused[1:]]
        also = f" (nor can {', '.join(others)})" if others else ""
        raise UnsupportedParameter(
            f"variant {name} cannot honour `{param}`{also}: {reason}", param=param
        )
    return kept
