"""The eval suite's shared types: a sample, a request to an endpoint, its reply, an outcome.

Every task is a function of these (tasks/*.py): it makes samples, asks the endpoint through an
`Ask` callable (cached, so runs resume), and turns replies into an `Outcome`. Errors are data:
a failed request gives an outcome with `error` set and no score, never a wrong answer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

from quantgate.vocabulary import TASKS

Form = Literal["completion", "chat"]


@dataclass(frozen=True)
class Sample:
    id: str
    target: Any  # the gold answer, in the task's own terms
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Request:
    """One call: a completion prompt or chat messages, greedy unless said otherwise."""

    prompt: str | None = None
    messages: tuple[tuple[str, str], ...] | None = None  # (role, content)
    max_tokens: int = 16
    stop: tuple[str, ...] = ()
    logprobs: int | None = None  # top-k logprobs of each generated token
    echo: bool = False  # return the prompt's logprobs too (completions)

    def key(self) -> dict[str, Any]:
        return {
            "prompt": self.prompt,
            "messages": self.messages,
            "max_tokens": self.max_tokens,
            "stop": list(self.stop),
            "logprobs": self.logprobs,
            "echo": self.echo,
        }

    def shown(self) -> str:
        if self.prompt is not None:
            return self.prompt
        return "\n".join(f"[{role}] {content}" for role, content in self.messages or ())


@dataclass(frozen=True)
class Reply:
    text: str = ""
    latency_s: float = 0.0
    finish_reason: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    top_logprobs: list[dict[str, float]] | None = None  # per generated token
    prompt_logprobs: list[float | None] | None = None  # per prompt token (echo)
    error: str | None = None
    tokens: list[str] | None = None  # the generated tokens, where logprobs were asked


Ask = Callable[[Request], Awaitable[Reply]]


@dataclass(frozen=True)
class Outcome:
    score: float | None  # None: not scorable (an error), never counted as wrong
    parsed: Any = None
    response: str = ""
    prompt: str = ""
    latency_s: float = 0.0
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # e.g. confidence, repetition

    @classmethod
    def failed(cls, reply: Reply, request: Request) -> Outcome:
        return cls(None, None, reply.text, request.shown(), reply.latency_s, reply.error)


@dataclass(frozen=True)
class Context:
    """How a run asks: prompt form, option logprobs, an optional judge, the variant's context."""

    form: Form = "completion"
    logprobs: bool = False  # multiple choice by the first answer token's top-20 logprobs
    loglikelihood: bool = False  # ... by each option's log-likelihood (echo; completion form)
    perplexity: bool = False  # echo the prompt's logprobs (costly on llama-cpp-python)
    judge: Ask | None = None
    max_context: int | None = None
    # top-k logprobs asked on every answer of a task that allows it (Task.kl), for the KL
    # divergence from the reference; None: not asked
    top_logprobs: int | None = None
    # every reply cut at this many tokens (a quick end-to-end check: a task whose replies run
    # longer scores what the cut leaves, so `quantgate derive` refuses such a run); None: each
    # task's own limit
    max_tokens: int | None = None


@dataclass(frozen=True, kw_only=True)
class Task:
    """A task: its name, the Qllm-Eval ability and routing class it measures, and its code.
    Built with keywords only: `ability` and `route_task` are both strings and easy to swap."""

    name: str
    ability: str  # language-modeling, understanding, icl, self-calibration, reasoning, ...
    route_task: str  # the routing task class its score is evidence for
    metric: str  # what `score` means, e.g. "accuracy"
    load: Callable[[Any, int, int], list[Sample]]  # (data dir, limit, seed) -> samples
    run: Callable[[Sample, Ask, Context], Awaitable[Outcome]]
    forms: tuple[Form, ...] = ("completion", "chat")
    description: str = ""
    # the score of guessing: 1/options for multiple choice, the majority label's share for
    # yes/no, 0 for free answers; None where `score` is not a correctness (MT-Bench)
    chance: Callable[[list[Sample]], float | None] = lambda samples: 0.0
    kl: bool = True  # answers short enough to ask their top-k logprobs (see Context)

    def __post_init__(self) -> None:
        if self.route_task not in TASKS:
            raise ValueError(
                f"task {self.name}: route_task {self.route_task!r} is not a task class"
            )


@dataclass(frozen=True, kw_only=True)
class Row:
    """One (task, variant, sample) result: a line of samples.jsonl. Errors are rows too
    (`score` None, `error` set); `extra` holds task-specific measures (confidence, length...)."""

    task: str
    ability: str = ""
    route_task: str
    variant: str
    sample: str
    target: Any = None
    prompt: str = ""
    response: str = ""
    parsed: Any = None
    score: float | None = None
    latency_s: float = 0.0
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    chance: float | None = None  # the task's chance score on this run's samples
    prompt_tokens: int | None = None  # of the answer (the sample's first request)
    completion_tokens: int | None = None
    tokens: list[str] | None = None  # the answer's first tokens (with logprobs asked)
    top_logprobs: list[dict[str, float]] | None = None  # their top-k logprobs

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Row:
        """A samples.jsonl line (keys this version does not know are ignored)."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})
