"""The API routes' dependency: the caller's key, checked and spent (gateway/access.py)."""

from __future__ import annotations

from starlette.requests import Request

from gateway.api.observe import current


async def authorized(request: Request) -> None:
    """Admit the request's key; its name goes to the access log, the key to the handlers
    (which read the variants it may use)."""
    key = request.app.state.gateway.keys.admit(request)
    request.state.key = key
    record = current.get()
    if key is not None and record is not None:
        record.key = key.name
