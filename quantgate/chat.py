"""A chat's messages: their text, and how llama-cpp-python's chat formats take them.

llama-cpp-python 0.3.36's server (read in its `server/types.py` and `llama_chat_format.py`):
- refuses the `developer` role, OpenAI's name for the system message of its newer models,
  with a 500 of validation errors: it is sent as `system`, which means the same; and an
  assistant turn whose content is null (it only called tools), sent with empty content;
- its `gemma` format keeps user and assistant turns only and drops every other message
  unannounced (system, developer, tool and function results), and a content given as parts.
  Sent to it, system and developer text is folded into the next user turn (each followed by
  a blank line, as Gemma's own template and profiles/templates/gemma-turns.jinja do for
  vLLM), tool and function results become user turns, and content parts their text.
The gateway sends these messages (gateway/engines/fields.py) and counts them the same way
(gateway/routing/tokens.py), so the count is of what the engine sees.
"""

from __future__ import annotations

from typing import Any

SYSTEM_ROLES = ("system", "developer")
FOLDS_SYSTEM = ("gemma",)  # chat formats that keep only user and assistant turns
Message = dict[str, Any]


def sent_in_turn(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The requests a chat client sends to reach the chat `body`, in order: each one ends at
    a user turn (the last is `body`'s messages up to its last user turn)."""
    messages = body["messages"]
    return [{"messages": messages[: i + 1]} for i, m in enumerate(messages) if m["role"] == "user"]


def text_of(message: Message) -> str:
    """A message's text: its content, or its text parts joined by spaces."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts: keep the text ones
        return " ".join(
            str(p.get("text", ""))
            for p in content
            if isinstance(p, dict) and p.get("type") == "text"
        )
    return ""


def llamacpp_messages(chat_format: str | None, messages: list[Message]) -> list[Message]:
    """`messages` as llama-cpp-python's `chat_format` keeps their meaning (see the module);
    `messages` itself when nothing needs to change."""
    if chat_format in FOLDS_SYSTEM:
        return _folded(messages)
    if not any(_spelled(m) is not m for m in messages):
        return messages
    return [_spelled(m) for m in messages]


def _spelled(m: Message) -> Message:
    """A message as llama-cpp-python's server takes it: `developer` as `system`, and an
    assistant turn that only called tools with empty content (it refuses null, with a 500)."""
    if m.get("role") == "developer":
        return {**m, "role": "system"}
    if m.get("role") == "assistant" and m.get("content") is None:
        return {**m, "content": ""}
    return m


def _folded(messages: list[Message]) -> list[Message]:
    """User and assistant turns only: system text into the next user turn (or a user turn
    of its own at the end), every other message a user turn, all content text."""
    if all(
        m.get("role") in ("user", "assistant") and isinstance(m.get("content"), str)
        for m in messages
    ):
        return messages
    out: list[Message] = []
    system = ""
    for m in messages:
        role = m.get("role")
        if role in SYSTEM_ROLES:
            system += text_of(m) + "\n\n"
        elif role == "assistant":  # (no content, when it only called tools: empty)
            out.append(m if isinstance(m.get("content"), str) else {**m, "content": text_of(m)})
        else:
            out.append({"role": "user", "content": system + text_of(m)})
            system = ""
    if system:
        out.append({"role": "user", "content": system.rstrip("\n")})
    return out
