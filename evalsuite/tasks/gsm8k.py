"""GSM8K (math multi-step reasoning): 4-shot chain of thought, final-number extraction.

The exemplars are the last four test problems (the only split stored offline), which are never
sampled for scoring.
"""

from __future__ import annotations

from pathlib import Path

from evalsuite.scoring import final_number
from evalsuite.types import Ask, Context, Outcome, Request, Sample, Task
from quantgate.data import jsonl, sample

SHOTS = 4


def load(root: Path, limit: int, seed: int) -> list[Sample]:
    rows = jsonl(root, "gsm8k/test.jsonl")
    shots = [(r["question"], r["answer"].replace("####", "The answer is")) for r in rows[-SHOTS:]]
    pool = list(enumerate(rows[:-SHOTS]))
    return [
        Sample(f"gsm8k:{i}", final_number(r["answer"]), {"question": r["question"], "shots": shots})
        for i, r in sample(pool, limit, seed)
    ]


async def run(s: Sample, ask: Ask, ctx: Context) -> Outcome:
    if ctx.form == "completion":
        shots = "".join(f"Question: {q}\nAnswer: {a}\n\n" for q, a in s.meta["shots"])
        req = Request(
            prompt=f"{shots}Question: {s.meta['question']}\nAnswer:",
            max_tokens=192,
            stop=("\n\nQuestion:", "Question:", "\n\n\n"),
        )
    else:
        text = f"{s.meta['question']}\nThink step by step, then end with 'The answer is N.'"
        req = Request(messages=(("user", text),), max_tokens=256)
    reply = await ask(req)
    if reply.error:
        return Outcome.failed(reply, req)
    got = final_number(reply.text)
    return Outcome(
        float(got is not None and got == s.target), got, reply.text, req.shown(), reply.latency_s
    )


GSM8K = Task(
    name="gsm8k",
    ability="reasoning",
    route_task="math",
    metric="accuracy",
    load=load,
    run=run,
    kl=False,  # 4-shot prompts and 192-token answers
)
