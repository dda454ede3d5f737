"""MT-Bench (dialogue): 80 two-turn questions in 8 categories.

Always measured: sentence- and token-level repetition of both answers (the seed's W3/KV3 and
W2/KV2 failure modes). With a judge endpoint, each turn is rated 1-10 with the stored judge
prompts (reference-guided for math, reasoning and coding where a reference exists) and the
score is the mean rating / 10; without one the score is 1 - the worse repetition rate.
Completion form renders the turns as a `User:` / `Assistant:` transcript (the demo model is a
base model).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from evalsuite.scoring import sentence_repetition, token_repetition
from evalsuite.types import Ask, Context, Outcome, Reply, Request, Sample, Task
from quantgate.data import jsonl, sample

MAX_TOKENS = 200
NEEDS_REFERENCE = ("math", "reasoning", "coding")


def load(root: Path, limit: int, seed: int) -> list[Sample]:
    refs = {
        r["question_id"]: r["choices"][0]["turns"]
        for r in jsonl(root, "mt_bench/reference_answer_gpt-4.jsonl")
    }
    judges = {j["name"]: j for j in jsonl(root, "mt_bench/judge_prompts.jsonl")}
    return [
        Sample(
            f"mt_bench:{q['question_id']}",
            refs.get(q["question_id"]),
            {"category": q["category"], "turns": q["turns"], "judges": judges},
        )
        for q in sample(jsonl(root, "mt_bench/question.jsonl"), limit, seed)
    ]


def _request(turns: list[str], answers: list[str], ctx: Context) -> Request:
    if ctx.form == "chat":
        messages: list[tuple[str, str]] = []
        for i, turn in enumerate(turns):
            messages.append(("user", turn))
            if i < len(answers):
                messages.append(("assistant", answers[i]))
        return Request(messages=tuple(messages), max_tokens=MAX_TOKENS)
    text = ""
    for i, turn in enumerate(turns):
        text += f"User: {turn}\n\nAssistant:"
        if i < len(answers):
            text += f" {answers[i]}\n\n"
    return Request(prompt=text, max_tokens=MAX_TOKENS, stop=("\nUser:", "User:"))


async def run(s: Sample, ask: Ask, ctx: Context) -> Outcome:
    turns: list[str] = s.meta["turns"]
    answers: list[str] = []
    latency = 0.0
    req = _request(turns[:1], [], ctx)
    for n in range(len(turns)):
        req = _request(turns[: n + 1], answers, ctx)
        reply = await ask(req)
        if reply.error:
            return Outcome.failed(reply, req)
        answers.append(reply.text.strip())
        latency += reply.latency_s
    sentence = max(sentence_repetition(a) for a in answers)
    token = max(token_repetition(a) for a in answers)
    extra: dict[str, Any] = {"sentence_repetition": sentence, "token_repetition": token}
    score = 1 - max(sentence, token)
    if ctx.judge is not None:
        judged = [await _judge(s, turns, answers, n, ctx.judge) for n in range(len(turns))]
        extra["ratings"] = ratings = [_rating(reply) for reply in judged]
        valid = [r for r in ratings if r is not None]
        if not valid:
            failed = next((r.error for r in judged if r.error), None)
            error = f"the judge: {failed}" if failed else "the judge gave no [[rating]]"
            text = "\n---\n".join(answers)
            return Outcome(None, None, text, req.shown(), latency, error, extra)
        score = sum(valid) / len(valid) / 10
    return Outcome(score, answers, "\n---\n".join(answers), req.shown(), latency, extra=extra)


async def _judge(s: Sample, turns: list[str], answers: list[str], n: int, judge: Ask) -> Reply:
    """The judge's reply on turn `n` (its stored prompt for the category and turn)."""
    reference = s.target if s.meta["category"] in NEEDS_REFERENCE and s.target else None
    name = ("single-math-v1" if reference else "single-v1") + ("-multi-turn" if n else "")
    spec = s.meta["judges"][name]
    fields = {
        "question": turns[0],
        "answer": answers[0],
        "question_1": turns[0],
        "question_2": turns[-1],
        "answer_1": answers[0],
        "answer_2": answers[-1],
        "ref_answer_1": reference[0] if reference else "",
        "ref_answer_2": reference[-1] if reference else "",
    }
    prompt = spec["prompt_template"].format(**fields)
    return await judge(
        Request(messages=(("system", spec["system_prompt"]), ("user", prompt)), max_tokens=512)
    )


def _rating(reply: Reply) -> float | None:
    """The [[N]] rating in a judge's reply, if it gave one."""
    found = re.search(r"\[\[(\d+(?:\.\d+)?)\]\]", reply.text or "")
    return float(found.group(1)) if found else None


MT_BENCH = Task(
    name="mt_bench",
    ability="dialogue",
    route_task="dialogue",
    metric="judge rating / 10, else 1 - repetition",
    load=load,
    run=run,
    chance=lambda samples: None,  # a rating or repetition, not a correctness
    kl=False,  # two 200-token turns
)
