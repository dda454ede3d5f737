"""Which OpenAI request fields each engine kind honours, and how a body is adapted to it.

A field an engine would drop silently is refused (400 `unsupported_parameter`, naming the
field and the variant) rather than forwarded: a client that asked for two choices must not
get one and think it got what it asked for. Unknown fields still pass through untouched.

llama-cpp-python 0.3.36 (read in its `server/app.py` and `llama.py`): the server excludes `n`
and `best_of` from what it passes on, takes one text prompt per request, echoes only in
non-streamed completions, knows `max_tokens` but not `max_completion_tokens` (which it
drops: the gateway renames it), puts token id 0 where a `suffix` prompt's fill-in-the-middle
tokens belong (its `_create_completion`: "TODO: Fix"; refused), and takes a response format's
schema as `json_object` with a `schema`, not as `json_schema` (a 500: the gateway respells
it). Its chat formats drop or refuse some messages (see quantgate/chat.py) and read text only
(an image part would be dropped). Its turn formats leave `tools` out of the prompt, so only
the tool that `tool_choice` names can be called (its server holds the answer to that tool's
schema); its function-calling formats (`chatml-function-calling`, `functionary*`) show them.
vLLM honours all of these but `suffix` (its own 400 for a model without fill-in-the-middle
rendering); an external upstream is trusted.
"""

from __future__ import annotations

from typing import Any

from quantgate.chat import llamacpp_messages
from quantgate.profile import Engine, LlamaCppEngine

CHAT = "chat/completions"
# llama-cpp-python chat formats that do show tools to the model
TOOL_FORMATS = ("chatml-function-calling", "functionary", "functionary-v1", "functionary-v2")


def unsupported(
    engine: Engine, path: str, body: dict[str, Any], *, logprobs: bool = True
) -> tuple[str, str] | None:
    """(field, why) for the first field `body` sets that `engine` cannot honour; `logprobs`
    False: the engine returns none (llama.cpp without `logits_all`)."""
    if not logprobs and wants_logprobs(path, body):
        return "logprobs", "this variant's llama.cpp engine runs without logits_all: no logprobs"
    if not isinstance(engine, LlamaCppEngine):
        return None
    if _int(body.get("n")) > 1:
        return "n", "llama.cpp's server generates one choice per request"
    if _int(body.get("best_of")) > 1:
        return "best_of", "llama.cpp's server generates one choice per request"
    if path == CHAT:
        if body.get("echo"):
            return "echo", "llama.cpp's server does not echo chat prompts"
        if kind := _not_text(body.get("messages")):
            return "messages", f"llama.cpp's chat formats read text only, not `{kind}` parts"
        return _unseen_tools(engine, body)
    prompt = body.get("prompt")
    if isinstance(prompt, list) and (
        len(prompt) > 1 or any(not isinstance(p, str) for p in prompt)
    ):
        return "prompt", "llama.cpp's server takes one text prompt (no batches, no token ids)"
    if body.get("echo") and body.get("stream"):
        return "echo", "llama.cpp's server echoes the prompt only in non-streamed completions"
    if body.get("suffix") is not None:
        return "suffix", (
            "llama.cpp's server builds the fill-in-the-middle prompt around token id 0, not "
            "the model's own prefix, suffix and middle tokens, so the prompt would be corrupted"
        )
    return None


def _unseen_tools(engine: LlamaCppEngine, body: dict[str, Any]) -> tuple[str, str] | None:
    """Tools the model would never see: llama-cpp-python's turn formats (a named
    `chat_format`, or the one it guesses from the GGUF's template, else `llama-2`) leave them
    out of the prompt, so the model can only call the one `tool_choice` names (its answer
    is then held to that tool's schema). Its function-calling formats do show them."""
    chat_format = engine.args.get("chat_format")
    if chat_format in TOOL_FORMATS:
        return None
    shown = f"`{chat_format}` chat format" if chat_format else "chat format (none set)"
    for field, choice in (("tools", "tool_choice"), ("functions", "function_call")):
        asked = body.get(choice)
        if body.get(field) and not isinstance(asked, dict) and asked != "none":
            return field, (
                f"llama.cpp's {shown} does not show tools to the model; name the one to call "
                f"in `{choice}`, or serve with chat_format {TOOL_FORMATS[0]}"
            )
    return None


def _not_text(messages: Any) -> str | None:
    """The type of the first content part that is not text, if any."""
    for m in messages if isinstance(messages, list) else ():
        content = m.get("content") if isinstance(m, dict) else None
        for part in content if isinstance(content, list) else ():
            kind = part.get("type") if isinstance(part, dict) else None
            if kind != "text":
                return str(kind)
    return None


def wants_logprobs(path: str, body: dict[str, Any]) -> bool:
    """Chat: `logprobs: true` or `top_logprobs`; completions: `logprobs` set (0 included)."""
    if path == CHAT:
        return bool(body.get("logprobs")) or body.get("top_logprobs") is not None
    return body.get("logprobs") is not None


def adapt(engine: Engine, body: dict[str, Any]) -> dict[str, Any]:
    """`body` as `engine` understands it (same meaning, its spelling): for llama.cpp,
    `max_completion_tokens` as `max_tokens`, a `json_schema` response format as
    `json_object` with its schema, and the messages as its chat format keeps their meaning
    (quantgate/chat.py: `developer` as `system`; Gemma's turns fold system text into the next
    user turn)."""
    if not isinstance(engine, LlamaCppEngine):
        return body
    adapted = body
    if "max_completion_tokens" in body:
        adapted = dict(body)
        limit = adapted.pop("max_completion_tokens")
        if limit is not None and adapted.get("max_tokens") is None:
            adapted["max_tokens"] = limit
    fmt = body.get("response_format")
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        adapted = {**adapted, "response_format": _json_object(fmt)}
    messages = body.get("messages")
    if isinstance(messages, list):
        kept = llamacpp_messages(engine.args.get("chat_format"), messages)
        if kept is not messages:
            adapted = {**adapted, "messages": kept}
    return adapted


def _json_object(fmt: dict[str, Any]) -> dict[str, Any]:
    """OpenAI's `json_schema` response format as llama-cpp-python spells it: `json_object`
    with the schema (its server refuses `json_schema` with a 500; the schema becomes the
    grammar the answer is held to either way)."""
    spec = fmt.get("json_schema")
    schema = spec.get("schema") if isinstance(spec, dict) else None
    return {"type": "json_object", **({"schema": schema} if schema is not None else {})}


def _int(value: Any) -> int:
    return value if isinstance(value, int) else 1
