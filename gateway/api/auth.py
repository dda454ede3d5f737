"""The API routes' dependency: the caller's key, checked and spent (gateway/access.py)."""

from __future__ import annotations

from starlette.requests import Request

from gateway.api.observe import current
from quantgate.keys import Key


async def authorized(request: Request) -> None:
    """Admit the request's key; its name goes to the access log, the key to the handlers
    (which read the variants it may use)."""
    record = current.get()

    def seen(key: Key) -> None:
        if record is not None:
            record.key = key.name

    request.state.key = await request.app.state.gateway.keys.admit(request, seen)
