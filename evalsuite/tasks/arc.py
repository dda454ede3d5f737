"""ARC-Easy and ARC-Challenge (understanding): grade-school science, multiple choice."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from evalsuite.scoring import options_chance
from evalsuite.tasks.multiple_choice import ask_choice, block
from evalsuite.types import Ask, Context, Outcome, Sample, Task
from quantgate.data import jsonl, sample


def _loader(name: str) -> Callable[[Path, int, int], list[Sample]]:
    def load(root: Path, limit: int, seed: int) -> list[Sample]:
        rows = list(enumerate(jsonl(root, f"arc/{name}.jsonl")))
        return [
            Sample(
                f"{name}:{i}",
                r["gold"],
                {"question": r["query"].removeprefix("Question: "), "options": r["choices"]},
            )
            for i, r in sample(rows, limit, seed)
        ]

    return load


async def run(s: Sample, ask: Ask, ctx: Context) -> Outcome:
    prompt = block(f"Question: {s.meta['question']}", s.meta["options"])
    return await ask_choice(s, prompt, ask, ctx)


ARC_EASY = Task(
    name="arc_easy",
    ability="understanding",
    route_task="knowledge",
    metric="accuracy",
    load=_loader("arc_easy"),
    run=run,
    chance=options_chance,
)
ARC_CHALLENGE = Task(
    name="arc_challenge",
    ability="understanding",
    route_task="knowledge",
    metric="accuracy",
    load=_loader("arc_challenge"),
    run=run,
    chance=options_chance,
)
