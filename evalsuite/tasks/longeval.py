"""LongEval (long context): lines retrieval at target lengths, and topic recall.

Lines: a seeded generator writes records in LongChat's format ("line <name>: REGISTER_CONTENT
is <number>") until the prompt reaches a target token length (about 17 tokens per line on
Gemma's tokenizer; the reply's usage gives the real count), then asks for one line's number.
Topics: conversations from the stored LongEval topics source, concatenated, then "what was
the first topic we discussed?", scored by the share of the topic's content words in the reply.
Lengths above the variant's context are skipped.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

from evalsuite.types import Ask, Context, Outcome, Request, Sample, Task
from quantgate.data import jsonl

# prompt tokens: below 2k and 4k contexts with room, and three points in the long band (> 4k)
# below 8k, where the seed's KV finding lives
LENGTHS = (1000, 1900, 3800, 5000, 6200, 7600)
TOKENS_PER_LINE = 17  # Gemma 3: 17.4 measured (3327 prompt tokens for 184 lines)
HEAD = (
    "Below is a record of lines I want you to remember. Each line begins with 'line <line "
    "index>' and contains a '<REGISTER_CONTENT>' at the end of the line as a numerical value. "
    "For each line index, memorize its corresponding <REGISTER_CONTENT>. At the end of the "
    "record, I will ask you to retrieve the corresponding <REGISTER_CONTENT> of a certain line "
    "index. Now the record start:\n\n"
)
_WORDS = (
    "amber brisk cobalt dusty eager fancy gusty hollow icy jolly keen lucky misty "
    "noble oval plain quiet rapid shiny tidy urban vivid windy young zesty"
)
WORDS = tuple(_WORDS.split())
_NOUNS = (
    "anchor badge candle dagger engine falcon garden harbor island jacket kettle lantern magnet "
    "needle orchard pepper quilt ribbon saddle tunnel velvet wagon yarn zipper"
)
NOUNS = tuple(_NOUNS.split())


def lines_record(n_lines: int, rng: random.Random) -> tuple[str, str, str]:
    """(prompt, asked line name, expected number) in the LongChat lines format."""
    names: list[str] = []
    while len(names) < n_lines:
        name = f"{rng.choice(WORDS)}-{rng.choice(NOUNS)}"
        if name not in names:
            names.append(name)
    values = [str(rng.randrange(10000, 50000)) for _ in names]
    body = "\n".join(
        f"line {n}: REGISTER_CONTENT is <{v}>" for n, v in zip(names, values, strict=True)
    )
    k = rng.randrange(n_lines)
    question = (
        f"\n\nNow the record is over. Tell me what is the <REGISTER_CONTENT> in line "
        f"{names[k]}? I need the number."
    )
    return HEAD + body + question, names[k], values[k]


def load_lines(root: Path, limit: int, seed: int) -> list[Sample]:
    per_length = max(1, limit // len(LENGTHS)) if limit > 0 else 25
    out = []
    for length in LENGTHS:
        rng = random.Random(f"{seed}:{length}")
        lines = max(4, (length - 120) // TOKENS_PER_LINE)
        for i in range(per_length):
            prompt, _name, value = lines_record(lines, rng)
            out.append(Sample(f"lines:{length}:{i}", value, {"prompt": prompt, "length": length}))
    return out


async def run_lines(s: Sample, ask: Ask, ctx: Context) -> Outcome:
    if ctx.max_context is not None and s.meta["length"] + 32 > ctx.max_context:
        return Outcome(
            None,
            None,
            error=f"skipped: {s.meta['length']} tokens > context",
            extra={"length": s.meta["length"], "skipped": True},
        )
    if ctx.form == "completion":
        req = Request(
            prompt=s.meta["prompt"] + "\nAnswer: The <REGISTER_CONTENT> is <", max_tokens=12
        )
    else:
        req = Request(messages=(("user", s.meta["prompt"]),), max_tokens=24)
    reply = await ask(req)
    if reply.error:
        return Outcome.failed(reply, req)
    numbers = re.findall(r"\d+", reply.text)
    got = numbers[0] if numbers else None
    return Outcome(
        float(got == s.target),
        got,
        reply.text,
        req.shown()[-300:],
        reply.latency_s,
        extra={"length": s.meta["length"], "prompt_tokens": reply.prompt_tokens},
    )


def load_topics(root: Path, limit: int, seed: int) -> list[Sample]:
    conversations = jsonl(root, "longeval/topics_conversations.jsonl")
    rng = random.Random(seed)
    out = []
    for k in (1, 2, 3):  # conversations per prompt: ~0.5k, 1k, 1.5k tokens
        for i in range(max(1, limit // 3) if limit > 0 else 10):
            picked = rng.sample(conversations, k)
            out.append(
                Sample(
                    f"topics:{k}:{i}",
                    picked[0]["topic"],
                    {"conversations": [c["conversation"] for c in picked], "k": k},
                )
            )
    return out


async def run_topics(s: Sample, ask: Ask, ctx: Context) -> Outcome:
    record = "\n\n".join(s.meta["conversations"])
    question = "What is the first topic we discussed? Only give the topic name."
    if ctx.form == "completion":
        req = Request(
            prompt=f"{record}\n\nUSER: {question}\nASSISTANT: The first topic we discussed is",
            max_tokens=16,
            stop=("\n",),
        )
    else:
        req = Request(messages=(("user", f"{record}\n\n{question}"),), max_tokens=24)
    reply = await ask(req)
    if reply.error:
        return Outcome.failed(reply, req)
    wanted = {w for w in re.findall(r"[a-z]+", s.target.lower()) if len(w) > 3}
    said = set(re.findall(r"[a-z]+", reply.text.lower()))
    share = len(wanted & said) / len(wanted) if wanted else 0.0
    return Outcome(
        share,
        sorted(wanted & said),
        reply.text,
        req.shown()[-300:],
        reply.latency_s,
        extra={"conversations": s.meta["k"], "prompt_tokens": reply.prompt_tokens},
    )


LONGEVAL_LINES = Task(
    name="longeval_lines",
    ability="long-context",
    route_task="general",
    metric="accuracy",
    load=load_lines,
    run=run_lines,
    kl=False,  # long prompts
)
LONGEVAL_TOPICS = Task(
    name="longeval_topics",
    ability="long-context",
    route_task="dialogue",
    metric="topic word recall",
    load=load_topics,
    run=run_topics,
    kl=False,  # long prompts
)
