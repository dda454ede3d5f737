"""Server-sent events as the OpenAI streaming API writes them, with the model renamed.

JSON goes through orjson: every streamed event is parsed (the relay counts tokens and checks
that each choice finishes) and written again with the caller's model name.
"""

from __future__ import annotations

from typing import Any

import orjson
from httpx_sse import ServerSentEvent

dumps = orjson.dumps  # compact, UTF-8, no NaN: what the OpenAI API sends


def parse(text: str | bytes) -> Any:
    """The JSON in an event or body, or None when it is not JSON (`[DONE]`, a comment)."""
    if not text or text == "[DONE]":
        return None
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return None


def encode(event: ServerSentEvent, obj: Any, model: str) -> bytes:
    """One event, re-encoded; a JSON object's `model` becomes the name the caller used."""
    head = f"event: {event.event}\n".encode() if event.event and event.event != "message" else b""
    return head + b"data: " + rename_model(event.data, obj, model) + b"\n\n"


def rename_model(text: str | bytes, obj: Any, model: str) -> bytes:
    """`text` (whose parsed form is `obj`) with its top-level `model` rewritten, if it has one."""
    if not isinstance(obj, dict) or "model" not in obj:
        return text.encode() if isinstance(text, str) else text
    return dumps({**obj, "model": model})


def is_usage_only(obj: Any) -> bool:
    """The last chunk of a stream asked with `include_usage`: usage and no choices."""
    return isinstance(obj, dict) and "usage" in obj and not obj.get("choices")


def data_event(obj: Any) -> bytes:
    """One `data:` event holding `obj`."""
    return b"data: " + dumps(obj) + b"\n\n"


def error_event(envelope: dict[str, Any]) -> bytes:
    """An error inside a stream (the status line is already sent): the SDKs raise on it."""
    return data_event(envelope)
