"""MMLU (understanding, 57 subjects) zero-shot, and 5-shot with the dev exemplars (ICL).

Self-calibration (expected calibration error) is computed from the same samples' option
probabilities when the run asks for logprobs.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from evalsuite.scoring import options_chance
from evalsuite.tasks.multiple_choice import ask_choice, block
from evalsuite.types import Ask, Context, Outcome, Sample, Task
from quantgate.data import csv_rows, need, sample


def _rows(root: Path, split: str) -> list[tuple[str, dict[str, str]]]:
    rows = []
    for path in sorted(need(root, f"mmlu/{split}").glob("*.csv")):
        subject = path.stem.rsplit("_", 1)[0]
        rows += [(subject, r) for r in csv_rows(root, f"mmlu/{split}/{path.name}")]
    return rows


def _options(r: dict[str, str]) -> list[str]:
    return [r[f"choice{k}"] for k in range(4)]


def load(root: Path, limit: int, seed: int) -> list[Sample]:
    dev: dict[str, list[dict[str, str]]] = {}
    for subject, r in _rows(root, "dev"):
        dev.setdefault(subject, []).append(r)
    picked = sample(list(enumerate(_rows(root, "test"))), limit, seed)
    return [
        Sample(
            f"mmlu:{i}",
            int(r["answer"]),
            {
                "subject": subject,
                "question": r["question"],
                "options": _options(r),
                "shots": [(d["question"], _options(d), int(d["answer"])) for d in dev[subject][:5]],
            },
        )
        for i, (subject, r) in picked
    ]


def _header(subject: str) -> str:
    name = subject.replace("_", " ")
    return f"The following are multiple choice questions (with answers) about {name}.\n\n"


async def zero_shot(s: Sample, ask: Ask, ctx: Context) -> Outcome:
    prompt = _header(s.meta["subject"]) + block(s.meta["question"], s.meta["options"])
    return await ask_choice(s, prompt, ask, ctx)


async def five_shot(s: Sample, ask: Ask, ctx: Context) -> Outcome:
    shots = "".join(block(q, o, a) + "\n\n" for q, o, a in s.meta["shots"])
    prompt = _header(s.meta["subject"]) + shots + block(s.meta["question"], s.meta["options"])
    # scored by the generated letter: llama-cpp-python's logprobs work over every prompt
    # position (20 s for a 1.6k-token 5-shot prompt on this CPU); calibration uses `mmlu`
    return await ask_choice(s, prompt, ask, replace(ctx, logprobs=False))


MMLU = Task(
    name="mmlu",
    ability="understanding",
    route_task="knowledge",
    metric="accuracy",
    load=load,
    run=zero_shot,
    chance=options_chance,
)
MMLU_5SHOT = Task(
    name="mmlu_5shot",
    ability="icl",
    route_task="icl",
    metric="accuracy",
    load=load,
    run=five_shot,
    chance=options_chance,
    kl=False,  # 5-shot prompts: logprobs cost ~20 s a request on llama-cpp-python
)
