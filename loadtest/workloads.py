"""What the requests ask: input and output sizes (presets) and prompts of that many tokens.

Prompts are seeded random words, different for every request (so a prefix cache cannot make
them look cheaper), or a dataset's prompts in turn (`loadtest.datasets`). `words` counts a
token per word (exact against the mock server); `gguf` counts with the model's own tokenizer
(llama.cpp, vocabulary only) and trims or pads until the prompt is exactly `input_tokens`
long. The real counts are read back from `usage`.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

PRESETS: dict[str, tuple[int, int]] = {  # name -> (input tokens, output tokens)
    "prefill-heavy": (1024, 16),
    "decode-heavy": (64, 256),
    "mixed": (512, 128),
}
WORDS = [
    "time",
    "year",
    "people",
    "way",
    "day",
    "man",
    "thing",
    "woman",
    "life",
    "child",
    "world",
    "school",
    "state",
    "family",
    "student",
    "group",
    "country",
    "problem",
    "hand",
    "part",
    "place",
    "case",
    "week",
    "company",
    "system",
    "program",
    "question",
    "work",
    "government",
    "number",
    "night",
    "point",
    "home",
    "water",
    "room",
    "mother",
    "area",
    "money",
    "story",
    "fact",
    "month",
    "lot",
    "right",
    "study",
    "book",
    "eye",
    "job",
    "word",
    "business",
    "issue",
    "side",
    "kind",
    "head",
    "house",
    "service",
    "friend",
    "father",
    "power",
    "hour",
    "game",
    "line",
    "end",
    "member",
    "law",
    "car",
    "city",
    "name",
    "team",
    "minute",
    "idea",
    "kid",
    "body",
    "information",
    "back",
    "parent",
    "face",
    "others",
    "level",
    "office",
    "door",
    "health",
    "person",
    "art",
    "war",
    "history",
    "party",
    "result",
    "change",
    "morning",
    "reason",
    "research",
    "girl",
    "guy",
    "moment",
    "air",
    "teacher",
    "force",
    "education",
]

Counter = Callable[[str], int]


@dataclass(frozen=True)
class Workload:
    input_tokens: int
    output_tokens: int
    kind: Literal["chat", "completion"] = "completion"
    seed: int = 0
    prompts: tuple[str, ...] = ()  # from a dataset: used in turn instead of random words

    @classmethod
    def preset(cls, name: str, **kw: object) -> Workload:
        if name not in PRESETS:
            raise ValueError(f"unknown workload {name!r}; presets: {', '.join(PRESETS)}")
        i, o = PRESETS[name]
        return cls(input_tokens=i, output_tokens=o, **kw)  # type: ignore[arg-type]

    def prompt(self, index: int, count: Counter) -> str:
        if self.prompts:
            return self.prompts[index % len(self.prompts)]
        rng = random.Random(f"{self.seed}:{index}")
        words = [rng.choice(WORDS) for _ in range(self.input_tokens)]
        text = " ".join(words)
        # shrink or grow a word at a time until the tokenizer agrees
        while count(text) > self.input_tokens and words:
            words.pop()
            text = " ".join(words)
        while count(text) < self.input_tokens:
            words.append(rng.choice(WORDS))
            text = " ".join(words)
        return text

    def body(self, model: str, index: int, count: Counter, stream: bool) -> dict[str, object]:
        prompt = self.prompt(index, count)
        body: dict[str, object] = {
            "model": model,
            "max_tokens": self.output_tokens,
            "temperature": 0.0,
            "stream": stream,
            # a fixed output length: vLLM honours both, other servers ignore them
            "ignore_eos": True,
            "min_tokens": self.output_tokens,
        }
        if stream:
            body["stream_options"] = {"include_usage": True}
        if self.kind == "chat":
            body["messages"] = [{"role": "user", "content": prompt}]
        else:
            body["prompt"] = prompt
        return body


def word_counter(text: str) -> int:
    return len(text.split())


def gguf_counter(path: str) -> Counter:
    import llama_cpp

    model = llama_cpp.Llama(path, vocab_only=True, verbose=False)
    return lambda text: len(model.tokenize(text.encode(), add_bos=True, special=False))
