"""Fields an engine would drop silently are refused; the ones it spells differently adapted."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.engines.fields import adapt, unsupported

CHAT = "chat/completions"
TEXT = "completions"


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
    ],
)
def test_llamacpp_refuses_what_its_server_drops(
    path: str, body: dict[str, Any], field: str
) -> None:
    found = unsupported("llamacpp", path, body)
    assert found is not None and found[0] == field
    assert "llama.cpp" in found[1]
    assert unsupported("vllm", path, body) is None
    assert unsupported("external", path, body) is None


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (CHAT, {"n": 1, "stop": ["\n"], "seed": 1, "logprobs": True, "top_logprobs": 2}),
        (CHAT, {"response_format": {"type": "json_object"}, "max_completion_tokens": 3}),
        (TEXT, {"prompt": "x", "echo": True, "logprobs": 1}),
        (TEXT, {"prompt": ["x"], "stream": True, "logprobs": 2}),
    ],
)
def test_llamacpp_accepts_what_it_honours(path: str, body: dict[str, Any]) -> None:
    assert unsupported("llamacpp", path, body) is None


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
    found = unsupported("llamacpp", path, body, logprobs=False)
    assert found is not None and found[0] == "logprobs" and "logits_all" in found[1]
    assert unsupported("llamacpp", path, body) is None  # logits_all on: served


@pytest.mark.parametrize(
    ("path", "body"), [(CHAT, {"logprobs": False}), (TEXT, {"logprobs": None}), (CHAT, {})]
)
def test_not_asking_for_logprobs_is_fine_without_them(path: str, body: dict[str, Any]) -> None:
    assert unsupported("llamacpp", path, body, logprobs=False) is None


def test_max_completion_tokens_becomes_max_tokens_for_llamacpp() -> None:
    body = {"max_completion_tokens": 5, "messages": []}
    assert adapt("llamacpp", body) == {"max_tokens": 5, "messages": []}
    assert adapt("llamacpp", {"max_completion_tokens": 5, "max_tokens": 3}) == {"max_tokens": 3}
    assert adapt("vllm", body) is body
    assert body == {"max_completion_tokens": 5, "messages": []}  # not changed in place
