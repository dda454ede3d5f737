"""Server-sent events as the OpenAI streaming API writes them, with the model renamed."""

from __future__ import annotations

import json
from typing import Any

from httpx_sse import ServerSentEvent


def parse(text: str) -> Any:
    """The JSON in an event or body, or None when it is not JSON (`[DONE]`, a comment)."""
    if not text or text == "[DONE]":
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def encode(event: ServerSentEvent, obj: Any, model: str) -> bytes:
    """One event, re-encoded; a JSON object's `model` becomes the name the caller used."""
    data = rename_model(event.data, obj, model)
    head = f"event: {event.event}\n" if event.event and event.event != "message" else ""
    return f"{head}data: {data}\n\n".encode()


def rename_model(text: str, obj: Any, model: str) -> str:
    """`text` (whose parsed form is `obj`) with its top-level `model` rewritten, if it has one."""
    if not isinstance(obj, dict) or "model" not in obj:
        return text
    return json.dumps({**obj, "model": model}, ensure_ascii=False, separators=(",", ":"))


def is_usage_only(obj: Any) -> bool:
    """The last chunk of a stream asked with `include_usage`: usage and no choices."""
    return isinstance(obj, dict) and "usage" in obj and not obj.get("choices")


def error_event(envelope: dict[str, Any]) -> bytes:
    """An error inside a stream (the status line is already sent): the SDKs raise on it."""
    return f"data: {json.dumps(envelope, separators=(',', ':'))}\n\n".encode()
