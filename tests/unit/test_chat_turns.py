"""Gemma's turns, the same on both engines: llama-cpp-python's `gemma` format given the
messages the gateway sends it (quantgate/chat.py) renders what the vLLM demo's template
renders, system and developer text, tool results and late system text included."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gateway.routing.tokens import render_jinja, render_llamacpp

TEMPLATE = Path(__file__).resolve().parents[2] / "profiles" / "templates" / "gemma-turns.jinja"

CHATS: list[list[dict[str, Any]]] = [
    [{"role": "user", "content": "Hi"}],
    [{"role": "system", "content": "Answer in French."}, {"role": "user", "content": "Hi"}],
    [{"role": "developer", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
    [
        {"role": "system", "content": "S"},
        {"role": "developer", "content": "D"},
        {"role": "user", "content": [{"type": "text", "text": "Hi"}]},
        {"role": "assistant", "content": "Yo"},
        {"role": "tool", "content": "42", "tool_call_id": "1"},
        {"role": "system", "content": "late"},
    ],
]


@pytest.mark.parametrize("messages", CHATS)
def test_both_engines_render_the_same_turns(messages: list[dict[str, Any]]) -> None:
    assert render_llamacpp("gemma")(messages) == render_jinja(TEMPLATE)(messages)


def test_no_message_is_dropped() -> None:
    rendered = render_llamacpp("gemma")(CHATS[-1])
    for text in ("S", "D", "Hi", "Yo", "42", "late"):
        assert f"\n{text}" in rendered
