"""Fields an engine would drop silently are refused; the ones it spells differently adapted."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.engines.fields import adapt, unsupported
from quantgate.profile import ExternalEngine, LlamaCppEngine, VllmEngine

CHAT = "chat/completions"
TEXT = "completions"
IMAGE = {"type": "image_url", "image_url": {"url": "http://127.0.0.1/cat.png"}}


LLAMACPP = LlamaCppEngine(artifact="x")
GEMMA = LlamaCppEngine(artifact="x", args={"chat_format": "gemma"})
VLLM = VllmEngine(artifact="x")
EXTERNAL = ExternalEngine(url="http://127.0.0.1:1/v1")


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        (CHAT, {"n": 2}, "n"),
        (TEXT, {"n": 3}, "n"),
        (TEXT, {"best_of": 2}, "best_of"),
        (CHAT, {"echo": True}, "echo"),
        (TEXT, {"echo": True, "stream": True}, "echo"),
        (TEXT, {"prompt": ["a", "b"]}, "prompt"),
        (TEXT, {"prompt": [1, 2, 3]}, "prompt"),
        (TEXT, {"prompt": "def f(", "suffix": "    return x"}, "suffix"),
        (TEXT, {"prompt": "x", "suffix": ""}, "suffix"),
        (CHAT, {"messages": [{"role": "user", "content": [IMAGE]}]}, "messages"),
    ],
)
def test_llamacpp_refuses_what_its_server_drops(
    path: str, body: dict[str, Any], field: str
) -> None:
    found = unsupported(LLAMACPP, path, body)
    assert found is not None and found[0] == field
    assert "llama.cpp" in found[1]
    assert unsupported(VLLM, path, body) is None
    assert unsupported(EXTERNAL, path, body) is None


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (CHAT, {"n": 1, "stop": ["\n"], "seed": 1, "logprobs": True, "top_logprobs": 2}),
        (CHAT, {"response_format": {"type": "json_object"}, "max_completion_tokens": 3}),
        (CHAT, {"messages": [{"role": "user", "content": [{"type": "text", "text": "x"}]}]}),
        (TEXT, {"prompt": "x", "echo": True, "logprobs": 1}),
        (TEXT, {"prompt": ["x"], "stream": True, "logprobs": 2}),
        (TEXT, {"prompt": "x", "suffix": None}),
    ],
)
def test_llamacpp_accepts_what_it_honours(path: str, body: dict[str, Any]) -> None:
    assert unsupported(LLAMACPP, path, body) is None


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (CHAT, {"logprobs": True}),
        (CHAT, {"top_logprobs": 0}),
        (TEXT, {"logprobs": 0}),
        (TEXT, {"prompt": "x", "echo": True, "logprobs": 1}),
    ],
)
def test_a_variant_without_logprobs_refuses_them(path: str, body: dict[str, Any]) -> None:
    found = unsupported(LLAMACPP, path, body, logprobs=False)
    assert found is not None and found[0] == "logprobs" and "logits_all" in found[1]
    assert unsupported(LLAMACPP, path, body) is None  # logits_all on: served


@pytest.mark.parametrize(
    ("path", "body"), [(CHAT, {"logprobs": False}), (TEXT, {"logprobs": None}), (CHAT, {})]
)
def test_not_asking_for_logprobs_is_fine_without_them(path: str, body: dict[str, Any]) -> None:
    assert unsupported(LLAMACPP, path, body, logprobs=False) is None


def test_max_completion_tokens_becomes_max_tokens_for_llamacpp() -> None:
    body = {"max_completion_tokens": 5, "messages": []}
    assert adapt(LLAMACPP, body) == {"max_tokens": 5, "messages": []}
    assert adapt(LLAMACPP, {"max_completion_tokens": 5, "max_tokens": 3}) == {"max_tokens": 3}
    assert adapt(VLLM, body) is body
    assert body == {"max_completion_tokens": 5, "messages": []}  # not changed in place


def test_developer_messages_reach_llamacpp_as_system_messages() -> None:
    messages = [{"role": "developer", "content": "Be brief."}, {"role": "user", "content": "Hi"}]
    body = {"messages": messages}
    sent = adapt(LLAMACPP, body)["messages"]
    assert sent == [{"role": "system", "content": "Be brief."}, messages[1]]
    assert body == {"messages": messages} and messages[0]["role"] == "developer"
    assert adapt(VLLM, body) is body  # vLLM takes the role
    plain = {"messages": [{"role": "system", "content": "x"}, {"role": "user", "content": "y"}]}
    assert adapt(LLAMACPP, plain) is plain  # nothing to change: nothing copied


def test_gemma_turns_keep_system_text_tool_results_and_parts() -> None:
    """llama-cpp-python's `gemma` format drops all but user and assistant turns: the gateway
    folds the rest in, as profiles/templates/gemma-turns.jinja does for vLLM."""
    body = {
        "messages": [
            {"role": "system", "content": "Answer in French."},
            {"role": "developer", "content": "Be brief."},
            {"role": "user", "content": [{"type": "text", "text": "Hi"}]},
            {"role": "assistant", "content": "Salut"},
            {"role": "tool", "content": "42", "tool_call_id": "1"},
            {"role": "system", "content": "Stop."},
        ]
    }
    assert adapt(GEMMA, body)["messages"] == [
        {"role": "user", "content": "Answer in French.\n\nBe brief.\n\nHi"},
        {"role": "assistant", "content": "Salut"},
        {"role": "user", "content": "42"},
        {"role": "user", "content": "Stop."},
    ]
    turns = {"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]}
    assert adapt(GEMMA, turns) is turns


TOOLS = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"tools": TOOLS}, "tools"),
        ({"tools": TOOLS, "tool_choice": "auto"}, "tools"),
        ({"tools": TOOLS, "tool_choice": "required"}, "tools"),
        ({"functions": [TOOLS[0]["function"]]}, "functions"),
    ],
)
def test_tools_a_turn_format_never_shows_are_refused(body: dict[str, Any], field: str) -> None:
    found = unsupported(GEMMA, CHAT, body)
    assert found is not None and found[0] == field and "`gemma`" in found[1]
    assert unsupported(LLAMACPP, CHAT, body) is not None  # a format guessed, or llama-2's
    calling = LlamaCppEngine(artifact="x", args={"chat_format": "chatml-function-calling"})
    assert unsupported(calling, CHAT, body) is None
    assert unsupported(VLLM, CHAT, body) is None


@pytest.mark.parametrize(
    "body",
    [
        {"tools": TOOLS, "tool_choice": {"type": "function", "function": {"name": "f"}}},
        {"tools": TOOLS, "tool_choice": "none"},
        {"functions": [TOOLS[0]["function"]], "function_call": {"name": "f"}},
        {"tools": []},
    ],
)
def test_a_named_tool_or_none_is_served_by_a_turn_format(body: dict[str, Any]) -> None:
    assert unsupported(GEMMA, CHAT, body) is None


def test_a_json_schema_reaches_llamacpp_as_a_json_object_with_that_schema() -> None:
    schema = {"type": "object", "properties": {"name": {"type": "string"}}}
    body = {
        "response_format": {"type": "json_schema", "json_schema": {"name": "p", "schema": schema}}
    }
    assert adapt(LLAMACPP, body) == {"response_format": {"type": "json_object", "schema": schema}}
    bare = {"response_format": {"type": "json_schema", "json_schema": {"name": "p"}}}
    assert adapt(LLAMACPP, bare) == {"response_format": {"type": "json_object"}}
    assert adapt(VLLM, body) is body
    plain = {"response_format": {"type": "json_object"}}
    assert adapt(LLAMACPP, plain) is plain


def test_an_assistant_turn_that_only_called_tools_reaches_llamacpp_with_empty_content() -> None:
    call = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    turns = [
        {"role": "user", "content": "Weather?"},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
    ]
    sent = adapt(LLAMACPP, {"messages": turns})["messages"]
    assert sent[1] == {"role": "assistant", "content": "", "tool_calls": [call]}
    assert sent[0] is turns[0] and sent[2] is turns[2] and turns[1]["content"] is None
    assert adapt(GEMMA, {"messages": turns})["messages"][1]["content"] == ""
