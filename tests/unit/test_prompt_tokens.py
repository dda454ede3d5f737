"""Counting prompt tokens per variant: once per tokenizer, in the engine's chat format."""

from __future__ import annotations

from pathlib import Path

from gateway.routing.tokens import Counter, PromptCounter, Tokenizer, render_jinja, render_plain

TEMPLATES = Path(__file__).resolve().parents[2] / "profiles" / "templates"


class Counting(Tokenizer):
    def __init__(self, key: str) -> None:
        self.key, self.calls = key, 0

    def count(self, text: str) -> int:
        self.calls += 1
        return len(text.split())


def test_a_shared_tokenizer_counts_each_request_once() -> None:
    shared, other = Counting("a"), Counting("b")
    counter = PromptCounter(
        {
            "v1": Counter(shared, render_plain, "plain"),
            "v2": Counter(shared, render_plain, "plain"),
            "v3": Counter(other, render_plain, "plain"),
        }
    )
    counts = counter.count({"prompt": "one two three"})
    assert counts == {"v1": 3, "v2": 3, "v3": 3}
    assert (shared.calls, other.calls) == (1, 1)


def test_chat_is_counted_as_the_engine_renders_it() -> None:
    render = render_jinja(TEMPLATES / "gemma-turns.jinja")
    messages = [
        {"role": "user", "content": "Hi there"},
        {"role": "assistant", "content": "Hello"},
        {"role": "user", "content": [{"type": "text", "text": "Bye"}]},
    ]
    text = render(messages)
    assert text.count("<start_of_turn>user") == 2 and "Bye" in text
    assert text.rstrip().endswith("<start_of_turn>model")
    counting = Counting("t")
    counter = PromptCounter({"v": Counter(counting, render, "jinja")})
    assert counter.count({"messages": messages})["v"] == len(text.split())


def test_the_estimate_is_flagged_inexact() -> None:
    estimate = Tokenizer()
    assert not estimate.exact and estimate.count("x" * 400) == 100
