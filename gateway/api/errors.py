"""The one place errors become responses: the OpenAI error envelope with the right status."""

from __future__ import annotations

import logging

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse

from quantgate.errors import GatewayError, InvalidRequest, TooManyRequests

log = logging.getLogger("quantgate.gateway")

_STATUS_TYPES = {404: "invalid_request_error", 405: "invalid_request_error"}


def error_response(err: GatewayError) -> JSONResponse:
    retry = err.retry_after if isinstance(err, TooManyRequests) else None
    headers = {"retry-after": str(retry)} if retry is not None else None
    return JSONResponse(err.envelope(), status_code=err.status, headers=headers)


def served(app: FastAPI) -> str:
    """The app's OpenAI-style paths, as an unknown path's error names them (from its OpenAPI
    schema, made once)."""
    paths = app.openapi()["paths"]
    found = [
        f"{method.upper()} {path}"
        for path, methods in paths.items()
        if path.startswith("/v1/")
        for method in methods
    ]
    return ", ".join(found)


def install(app: FastAPI) -> None:
    @app.exception_handler(GatewayError)
    async def gateway_error(_: Request, exc: GatewayError) -> JSONResponse:
        if exc.status >= 500:
            log.warning("%s: %s", exc.code, exc.message)
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0]
        param = ".".join(str(p) for p in first["loc"] if p != "body") or None
        return error_response(InvalidRequest(f"{param}: {first['msg']}", param=param))

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        message = str(exc.detail)
        where = f"{request.method} {request.url.path}"
        if exc.status_code == 404 and message == "Not Found":  # no such route: OpenAI's words
            message = f"Invalid URL ({where}); served: {served(request.app)}"
        elif exc.status_code == 405 and (allow := (exc.headers or {}).get("Allow")):
            message = f"Method not allowed ({where}); allowed: {allow}"
        envelope = {
            "error": {
                "message": message,
                "type": _STATUS_TYPES.get(exc.status_code, "invalid_request_error"),
                "param": None,
                "code": None,
            }
        }
        return JSONResponse(envelope, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error")
        return error_response(GatewayError(f"internal error: {type(exc).__name__}"))
