"""A prompt's token bounds from its size, and the frame a chat template adds to it."""

from __future__ import annotations

import random
from typing import Any

from gateway.routing.pieces import PieceCounter
from gateway.routing.tokens import Counter, PromptCounter, Tokenizer, render_plain
from tests.unit.test_pieces import build


class Pieces(Tokenizer):
    """The small SentencePiece vocabulary of test_pieces, counted piece by piece."""

    key, exact = "pieces", True

    def __init__(self) -> None:
        counter = PieceCounter.for_tokenizer(build())
        assert counter is not None
        self.counter = counter

    def count(self, text: str) -> int:
        return self.counter(text)

    def bounds(self, chars: int, size: int) -> tuple[int, int] | None:
        return self.counter.bounds(size)


def chat(*texts: str) -> dict[str, Any]:
    roles = ("user", "assistant")
    return {"messages": [{"role": roles[i % 2], "content": t} for i, t in enumerate(texts)]}


def test_every_count_is_within_the_bounds_of_its_size() -> None:
    counter = PromptCounter({"v": Counter(Pieces(), render_plain, "plain")})
    rng = random.Random(0)
    alphabet = ["a", "b", "c", " ", "  ", "\n", "é", "🙂", "\u2581", "bc", "x"]
    for _ in range(500):
        texts = ["".join(rng.choices(alphabet, k=rng.randrange(40))) for _ in range(3)]
        for body in (chat(*texts[: rng.randrange(1, 4)]), {"prompt": texts[0]}):
            lo, hi = counter.bounds(body)["v"]  # type: ignore[index]
            assert lo <= counter.count(body)["v"] <= hi


def test_a_template_that_does_more_than_frame_the_text_is_counted() -> None:
    def twice(messages: list[dict[str, Any]]) -> str:
        return "".join(f"<{m['role']}>{m['content']}{m['content']}" for m in messages)

    def cut(messages: list[dict[str, Any]]) -> str:
        return "".join(f"<{m['role']}>{m['content'][:5]}" for m in messages)

    def framed(messages: list[dict[str, Any]]) -> str:
        return "".join(f"<{m['role']}>{m['content']}</{m['role']}>" for m in messages) + "<bot>"

    for render, known in ((twice, False), (cut, False), (framed, True)):
        counter = PromptCounter({"v": Counter(Pieces(), render, render.__name__)})
        found = counter.bounds(chat("a b c", "bc"))
        assert (found is not None) == known, render.__name__
    frame = len("<user></user><assistant></assistant><bot>")
    assert counter.bounds(chat("a b c", "bc")) == {"v": (1, frame + 7 + 1)}  # + <bos>


def test_an_estimate_is_its_own_bounds() -> None:
    counter = PromptCounter({"v": Counter(Tokenizer(), render_plain, "plain")})
    body = chat("x" * 400)
    n = counter.count(body)["v"]
    assert counter.bounds(body) == {"v": (n, n)}
