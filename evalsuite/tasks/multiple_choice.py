"""Shared by the multiple-choice tasks (ARC, MMLU, MMLU 5-shot): prompt and scoring.

With `loglikelihood` (completion form), as lm-evaluation-harness scores: each continuation
" A", " B", ... is scored after the prompt (one echo request per option; a letter is one
token), and the softmax over the options is the confidence (for calibration). Echoed prompt
logprobs cost seconds a request on llama-cpp-python (it sorts the 262k vocabulary in Python
for every prompt position), so this is opt-in. With `logprobs`: the option letters among the
first answer token's top-20 logprobs (spellings summed); the confidence is only kept when
every letter is among them. Otherwise: the reply's first letter with a strict parser
(anything else is wrong, and counted as unparsed).
"""

from __future__ import annotations

from evalsuite.scoring import LETTERS, letter_probs, option_probs, strict_letter
from evalsuite.types import Ask, Context, Outcome, Reply, Request, Sample

INSTRUCTION = "Answer with the letter of the correct option."


def block(question: str, options: list[str], answer: int | None = None) -> str:
    lines = [question.strip(), *(f"{LETTERS[i]}. {o}" for i, o in enumerate(options))]
    tail = f"Answer: {LETTERS[answer]}" if answer is not None else "Answer:"
    return "\n".join([*lines, tail])


async def _loglikelihoods(prompt: str, n: int, ask: Ask) -> tuple[list[float], Reply] | Reply:
    """log P(" X" | prompt) for each option letter, from echoed prompt logprobs."""
    values = []
    reply = Reply()
    for letter in LETTERS[:n]:
        reply = await ask(Request(prompt=f"{prompt} {letter}", max_tokens=1, logprobs=1, echo=True))
        last = (reply.prompt_logprobs or [None])[-1]
        if reply.error or last is None:
            return reply if reply.error else Reply(error="the endpoint echoed no prompt logprobs")
        values.append(last)
    return values, reply


async def ask_choice(sample: Sample, prompt: str, ask: Ask, ctx: Context) -> Outcome:
    n = len(sample.meta["options"])
    if ctx.form == "completion" and ctx.loglikelihood:
        return await _by_loglikelihood(sample, prompt, n, ask)
    if ctx.form == "completion":
        req = Request(prompt=prompt, max_tokens=2, logprobs=20 if ctx.logprobs else None)
    else:
        req = Request(
            messages=(("user", f"{prompt.rsplit('Answer:', 1)[0]}{INSTRUCTION}"),),
            max_tokens=4,
            logprobs=20 if ctx.logprobs else None,
        )
    reply = await ask(req)
    if reply.error:
        return Outcome.failed(reply, req)
    top = reply.top_logprobs[0] if ctx.logprobs and reply.top_logprobs else {}
    probs = option_probs(top, n)
    extra: dict[str, object] = {"scored_by": "generated letter"}
    choice: str | None
    if probs is not None:
        choice = LETTERS[max(range(n), key=probs.__getitem__)]
        extra = {"scored_by": "top logprobs", "probs": probs}
        if all(probs):  # every letter among the top-k: a confidence worth calibrating
            extra["confidence"] = max(probs)
    else:
        choice = strict_letter(reply.text, n)
        extra["unparsed"] = choice is None
    score = float(choice == LETTERS[sample.target])
    return Outcome(score, choice, reply.text, req.shown(), reply.latency_s, extra=extra)


async def _by_loglikelihood(sample: Sample, prompt: str, n: int, ask: Ask) -> Outcome:
    """The generated answer first (agreement and KL compare it), then each option scored."""
    answer = Request(prompt=prompt, max_tokens=2)
    generated = await ask(answer)
    if generated.error:
        return Outcome.failed(generated, answer)
    scored = await _loglikelihoods(prompt, n, ask)
    if isinstance(scored, Reply):
        return Outcome.failed(scored, answer)
    probs = letter_probs(scored[0])
    choice = LETTERS[max(range(n), key=probs.__getitem__)]
    extra = {"scored_by": "log-likelihood", "confidence": max(probs), "probs": probs}
    score = float(choice == LETTERS[sample.target])
    return Outcome(score, choice, generated.text, answer.shown(), generated.latency_s, extra=extra)
