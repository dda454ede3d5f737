"""StrategyQA (commonsense multi-step reasoning): yes/no questions, 3-shot from train.

Scored on the authors' dev split (229 questions); the exemplars come from train.
"""

from __future__ import annotations

import random
from pathlib import Path

from evalsuite.scoring import majority_chance
from evalsuite.tasks.yes_no import ask_yes_no
from evalsuite.types import Ask, Context, Outcome, Request, Sample, Task
from quantgate.data import json_file, sample


def load(root: Path, limit: int, seed: int) -> list[Sample]:
    dev = json_file(root, "strategyqa/dev.json")
    train = json_file(root, "strategyqa/train.json")
    rng = random.Random(seed)
    yes = [r for r in train if r["answer"]]
    no = [r for r in train if not r["answer"]]
    shots = [rng.choice(yes), rng.choice(no), rng.choice(yes)]
    exemplars = [(r["question"], r["answer"]) for r in shots]
    return [
        Sample(
            f"strategyqa:{r['qid']}",
            bool(r["answer"]),
            {"question": r["question"], "shots": exemplars},
        )
        for r in sample(dev, limit, seed)
    ]


async def run(s: Sample, ask: Ask, ctx: Context) -> Outcome:
    shots = "".join(f"Q: {q}\nA: {'yes' if a else 'no'}\n\n" for q, a in s.meta["shots"])
    if ctx.form == "completion":
        req = Request(prompt=f"{shots}Q: {s.meta['question']}\nA:", max_tokens=3, stop=("\n",))
    else:
        req = Request(messages=(("user", f"{s.meta['question']} Answer yes or no."),), max_tokens=4)
    return await ask_yes_no(req, s.target, ask)


STRATEGYQA = Task(
    name="strategyqa",
    ability="reasoning",
    route_task="reasoning",
    metric="accuracy",
    load=load,
    run=run,
    chance=majority_chance,
)
