"""What a relayed stream has shown so far, to tell a complete stream from a cut one.

An OpenAI stream is complete when every choice it was asked for (`n`) has had a chunk with a
`finish_reason`, and the upstream then sent `[DONE]`. Anything else (`[DONE]` before the
finish chunk, as llama-cpp-python sends when it interrupts a generation; a closed connection;
an error event) is a broken stream, whatever the client already received.

The tally also counts content events per choice: llama-cpp-python yields one token per event
(several only where a multi-byte character or a possible stop sequence is held back), and it
sends no `usage`, so the gateway fills `usage.completion_tokens` from this count.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DONE = "[DONE]"


@dataclass
class StreamTally:
    choices: int = 1  # `n`: how many choices must finish
    finished: dict[int, str] = field(default_factory=dict)  # choice index -> finish_reason
    tokens: int = 0  # content events, over all choices
    usage: dict[str, Any] | None = None  # the upstream's own usage, if it sent one
    last: dict[str, Any] | None = None  # the last chunk with choices (its id, object, created)

    def observe(self, obj: Any) -> None:
        if not isinstance(obj, dict):
            return
        if isinstance(obj.get("usage"), dict):
            self.usage = obj["usage"]
        choices = obj.get("choices")
        if not isinstance(choices, list):
            return
        if choices:
            self.last = obj
        for choice in choices:
            if not isinstance(choice, dict):
                continue
            if has_content(choice):
                self.tokens += 1
            reason = choice.get("finish_reason")
            if reason:
                self.finished[int(choice.get("index") or 0)] = str(reason)

    @property
    def complete(self) -> bool:
        return all(i in self.finished for i in range(self.choices))

    def missing(self) -> str:
        """Which choices never finished, for the error message."""
        left = [str(i) for i in range(self.choices) if i not in self.finished]
        return "choice " + ", ".join(left) if self.choices > 1 else "the choice"

    def usage_chunk(self, prompt_tokens: int, model: str) -> dict[str, Any]:
        """The last chunk `stream_options.include_usage` asks for, filled by the gateway."""
        last = self.last or {}
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": self.tokens,
            "total_tokens": prompt_tokens + self.tokens,
        }
        return {
            "id": last.get("id", ""),
            "object": last.get("object", "chat.completion.chunk"),
            "created": last.get("created", 0),
            "model": model,
            "choices": [],
            "usage": usage,
        }


def has_content(choice: dict[str, Any]) -> bool:
    """A choice chunk that carries generated text (a role-only chunk is not a token)."""
    delta = choice.get("delta")
    if isinstance(delta, dict) and (delta.get("content") or delta.get("tool_calls")):
        return True
    return bool(choice.get("text"))


def expected_choices(body: dict[str, Any]) -> int:
    """How many choices a stream must finish: `n` per prompt (a completions batch has several)."""
    n = body.get("n")
    n = n if isinstance(n, int) and n > 0 else 1
    prompt = body.get("prompt")
    if isinstance(prompt, list) and prompt and not isinstance(prompt[0], int):
        n *= len(prompt)
    return n
