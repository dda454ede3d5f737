"""Read and validate a JSON request body: media type, size limit, JSON, schema.

Bad input is a 4xx in the OpenAI envelope, never a 500: the body must be declared JSON (a web
page cannot POST `text/plain` to a local gateway without a CORS preflight), at most
`max_body_bytes`, valid UTF-8 JSON without NaN or Infinity, nested at most MAX_DEPTH deep, with
no lone surrogate in a string (it cannot be re-encoded for the upstream) and no integer
beyond 64 bits.
"""

from __future__ import annotations

import re
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ValidationError
from starlette.requests import Request

from quantgate.errors import InvalidRequest, RequestTooLarge, UnsupportedMediaType

M = TypeVar("M", bound=BaseModel)
MAX_DEPTH = 32  # arrays and objects inside each other
MAX_INT = 2**63  # integers beyond int64 overflow in engines and in float conversions


async def read_json(request: Request, limit: int) -> dict[str, Any]:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/json" and not media.endswith("+json"):
        shown = media or "none"
        raise UnsupportedMediaType(f"Content-Type must be application/json, not {shown}")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise RequestTooLarge(f"request body is {declared} bytes; the limit is {limit} bytes")
    chunks = bytearray()
    async for chunk in request.stream():
        chunks += chunk
        if len(chunks) > limit:
            raise RequestTooLarge(f"request body exceeds the limit of {limit} bytes")
    try:  # orjson refuses NaN, Infinity, invalid UTF-8 and lone surrogates itself
        data = orjson.loads(chunks)
    except orjson.JSONDecodeError as exc:
        if str(exc).startswith("depth limit"):
            raise InvalidRequest(f"request body is nested more than {MAX_DEPTH} deep") from exc
        raise InvalidRequest(f"request body is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise InvalidRequest("request body must be a JSON object")
    if _may_break_rules(chunks):  # most bodies cannot: no walk on the request's hot path
        _check_values(data)
    return data


_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
# every ASCII digit to `0`, every other byte to `.`: a run of 19 digits is then a substring
# to find (bytes.find, ~20x faster than a regex that tries a digit run at every byte)
_DIGITS = bytes(48 if 48 <= b <= 57 else 46 for b in range(256))
_LONG_NUMBER = b"0" * 19


def _may_break_rules(raw: bytes | bytearray) -> bool:
    """Whether the body can hold what `_check_values` refuses: nesting needs that many
    brackets, a lone surrogate a `\\uD800`-style escape (raw UTF-8 cannot encode one), an
    integer beyond 64 bits 19 digits in a row."""
    brackets = raw.count(b"[") + raw.count(b"{")
    return (
        brackets > MAX_DEPTH
        or _SURROGATE_ESCAPE.search(raw) is not None
        or _LONG_NUMBER in raw.translate(_DIGITS)
    )


def _check_values(data: Any) -> None:
    """Depth, strings that UTF-8 can encode, integers in range; iteratively (no recursion)."""
    todo: list[tuple[Any, int]] = [(data, 1)]
    while todo:
        value, depth = todo.pop()
        if isinstance(value, dict | list):
            if depth > MAX_DEPTH:
                raise InvalidRequest(f"request body is nested more than {MAX_DEPTH} deep")
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                if isinstance(key, str):
                    _encodable(key)
                todo.append((item, depth + 1))
        elif isinstance(value, str):
            _encodable(value)
        elif isinstance(value, int) and not isinstance(value, bool) and abs(value) >= MAX_INT:
            raise InvalidRequest(f"the number {str(value)[:20]}... is out of range")


def _encodable(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidRequest(
            "request body holds a lone surrogate (\\ud800-\\udfff): not valid Unicode"
        ) from exc


def validate(schema: type[M], data: dict[str, Any]) -> M:
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        param = ".".join(str(p) for p in first["loc"]) or None
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        msg = "required" if first["type"] == "missing" else first["msg"]
        raise InvalidRequest(f"{param}: {msg}{more}", param=param) from exc
