"""Shared by the multiple-choice tasks (ARC, MMLU, MMLU 5-shot): prompt and scoring.

With `logprobs`, the answer is the option letter with the highest probability among the next
token's top logprobs (and that probability is the confidence, for calibration); otherwise the
reply's first letter with a strict parser (anything else is wrong, and counted as unparsed).
"""

from __future__ import annotations

from evalsuite.scoring import LETTERS, option_probs, strict_letter
from evalsuite.types import Ask, Context, Outcome, Request, Sample

INSTRUCTION = "Answer with the letter of the correct option."


def block(question: str, options: list[str], answer: int | None = None) -> str:
    lines = [question.strip(), *(f"{LETTERS[i]}. {o}" for i, o in enumerate(options))]
    tail = f"Answer: {LETTERS[answer]}" if answer is not None else "Answer:"
    return "\n".join([*lines, tail])


async def ask_choice(sample: Sample, prompt: str, ask: Ask, ctx: Context) -> Outcome:
    n = len(sample.meta["options"])
    if ctx.form == "completion":  # with logprobs only the first token matters
        req = Request(
            prompt=prompt,
            max_tokens=1 if ctx.logprobs else 2,
            logprobs=20 if ctx.logprobs else None,
        )
    else:
        req = Request(
            messages=(("user", f"{prompt.rsplit('Answer:', 1)[0]}{INSTRUCTION}"),),
            max_tokens=4,
            logprobs=20 if ctx.logprobs else None,
        )
    reply = await ask(req)
    if reply.error:
        return Outcome.failed(reply, req)
    probs = option_probs(reply.top_logprobs[0], n) if ctx.logprobs and reply.top_logprobs else None
    extra: dict[str, object] = {"scored_by": "generated letter"}
    choice: str | None
    if probs is not None:
        choice = LETTERS[max(range(n), key=probs.__getitem__)]
        extra = {"scored_by": "logprobs", "confidence": max(probs), "probs": probs}
    else:
        choice = strict_letter(reply.text, n)
        extra["unparsed"] = choice is None
    score = float(choice == LETTERS[sample.target])
    return Outcome(score, choice, reply.text, req.shown(), reply.latency_s, extra=extra)
