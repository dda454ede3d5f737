"""LAMBADA (language modeling): predict a passage's last word, greedy.

Accuracy compares the first word of the continuation with the target, both lower-cased. With
`--perplexity` on a completion endpoint that echoes prompt logprobs, the passage's perplexity
(with the target word as written, capitals kept) is recorded too (`nll`, `tokens` per
sample); endpoints that do not echo them are reported as such.
"""

from __future__ import annotations

from pathlib import Path

from evalsuite.scoring import last_word
from evalsuite.types import Ask, Context, Outcome, Request, Sample, Task
from quantgate.data import jsonl, sample


def load(root: Path, limit: int, seed: int) -> list[Sample]:
    rows = list(enumerate(jsonl(root, "lambada/lambada_test.jsonl")))
    out = []
    for i, r in sample(rows, limit, seed):
        context, word = r["text"].rsplit(" ", 1)
        word = word.strip()  # the target as written: perplexity scores it (2439 are capitalized)
        out.append(Sample(f"lambada:{i}", word.lower(), {"context": context, "word": word}))
    return out


async def run(s: Sample, ask: Ask, ctx: Context) -> Outcome:
    context = s.meta["context"]
    if ctx.form == "completion":
        req = Request(prompt=context, max_tokens=5)
    else:
        ask_text = f"Continue this passage with exactly one word:\n\n{context}"
        req = Request(messages=(("user", ask_text),), max_tokens=5)
    reply = await ask(req)
    if reply.error:
        return Outcome.failed(reply, req)
    guess = last_word(reply.text)
    extra: dict[str, object] = {}
    if ctx.perplexity and ctx.form == "completion":
        scored = await ask(
            Request(prompt=f"{context} {s.meta['word']}", max_tokens=1, logprobs=1, echo=True)
        )
        values = [v for v in (scored.prompt_logprobs or [])[1:] if v is not None]
        extra = {"nll": -sum(values), "tokens": len(values)} if values else {"nll": None}
    return Outcome(
        float(guess == s.target), guess, reply.text, req.shown(), reply.latency_s, extra=extra
    )


LAMBADA = Task(
    name="lambada",
    ability="language-modeling",
    route_task="general",
    metric="accuracy",
    load=load,
    run=run,
)
