"""IFEval (instruction following): prompts with verifiable instructions, checked here.

Score: prompt-level strict accuracy (every instruction followed); instruction-level results and
the loose score (the reference's: also tried without the first/last line and without `*`)
are kept per sample. Answers may run to 1280 tokens, as in the reference. Prompts using an
instruction type this suite does not check are skipped (`evalsuite.ifeval_checks.UNCOVERED`).
"""

from __future__ import annotations

from pathlib import Path

from evalsuite.ifeval_checks import CHECKS, check, check_loose
from evalsuite.types import Ask, Context, Outcome, Request, Sample, Task
from quantgate.data import jsonl, sample

MAX_TOKENS = 1280  # the reference's generation limit


def load(root: Path, limit: int, seed: int) -> list[Sample]:
    rows = [
        r
        for r in jsonl(root, "ifeval/input_data.jsonl")
        if all(i in CHECKS for i in r["instruction_id_list"])
    ]
    return [
        Sample(
            f"ifeval:{r['key']}",
            list(zip(r["instruction_id_list"], r["kwargs"], strict=True)),
            {"prompt": r["prompt"]},
        )
        for r in sample(rows, limit, seed)
    ]


async def run(s: Sample, ask: Ask, ctx: Context) -> Outcome:
    if ctx.form == "completion":
        req = Request(prompt=f"{s.meta['prompt']}\n\n", max_tokens=MAX_TOKENS)
    else:
        req = Request(messages=(("user", s.meta["prompt"]),), max_tokens=MAX_TOKENS)
    reply = await ask(req)
    if reply.error:
        return Outcome.failed(reply, req)
    followed = {i: check(i, reply.text, kwargs) for i, kwargs in s.target}
    loose = {i: check_loose(i, reply.text, kwargs) for i, kwargs in s.target}
    return Outcome(
        float(all(followed.values())),
        followed,
        reply.text,
        req.shown(),
        reply.latency_s,
        extra={"instructions": followed, "loose": all(loose.values())},
    )


IFEVAL = Task(
    name="ifeval",
    ability="instruction-following",
    route_task="instruction",
    metric="prompt-level accuracy",
    load=load,
    run=run,
    kl=False,  # long answers
)
