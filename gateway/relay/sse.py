"""Server-sent events as the OpenAI streaming API writes them, with the model renamed."""

from __future__ import annotations

import json
from typing import Any

from httpx_sse import ServerSentEvent


def encode(event: ServerSentEvent, model: str) -> bytes:
    """One event, re-encoded; a JSON object's `model` becomes the name the caller used."""
    data = event.data
    if data and data != "[DONE]":
        data = rename_model(data, model)
    head = f"event: {event.event}\n" if event.event and event.event != "message" else ""
    return f"{head}data: {data}\n\n".encode()


def rename_model(text: str, model: str) -> str:
    """Rewrite the top-level `model` of a JSON object; leave anything else as it is."""
    try:
        obj = json.loads(text)
    except ValueError:
        return text
    if not isinstance(obj, dict) or "model" not in obj:
        return text
    obj["model"] = model
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def error_event(envelope: dict[str, Any]) -> bytes:
    """An error inside a stream (the status line is already sent): the SDKs raise on it."""
    return f"data: {json.dumps(envelope, separators=(',', ':'))}\n\n".encode()
