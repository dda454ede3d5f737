"""The generation routes called straight from the ASGI stack, past FastAPI's router.

FastAPI's routing, dependency solving, exception middleware and request wrappers cost more per
request than the relay's own work (bench/overhead.py; docs/overhead.md). The two routes that
carry the traffic stay declared in the FastAPI app (OpenAPI, `/docs`-style tools, tests of the
schema) and run the same handler, key check and error envelope, but requests reach them here.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.api.auth import authorized
from gateway.api.errors import error_response
from quantgate.errors import GatewayError

log = logging.getLogger("quantgate.gateway")

Handler = Callable[[Request], Awaitable[Response]]


class DirectRoutes:
    def __init__(self, app: ASGIApp, routes: Mapping[str, Handler]) -> None:
        self.app = app
        self.routes = dict(routes)  # POST path -> handler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        handler = self.routes.get(scope["path"]) if scope["type"] == "http" else None
        if handler is None or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive, send)
        try:
            await authorized(request)
            response = await handler(request)
        except ClientDisconnect:  # nobody to answer: the access log says 499
            return
        except GatewayError as exc:
            if exc.status >= 500:
                log.warning("%s: %s", exc.code, exc.message)
            response = error_response(exc)
        except Exception as exc:  # as the app's own handler of the unexpected does
            log.exception("unhandled error")
            response = error_response(GatewayError(f"internal error: {type(exc).__name__}"))
        await response(scope, receive, send)
