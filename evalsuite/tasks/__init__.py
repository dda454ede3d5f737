"""The task registry: one task per file, each a load and a run function (see evalsuite.types)."""

from __future__ import annotations

from evalsuite.tasks.arc import ARC_CHALLENGE, ARC_EASY
from evalsuite.tasks.ethics import ETHICS
from evalsuite.tasks.gsm8k import GSM8K
from evalsuite.tasks.ifeval import IFEVAL
from evalsuite.tasks.lambada import LAMBADA
from evalsuite.tasks.longeval import LONGEVAL_LINES, LONGEVAL_TOPICS
from evalsuite.tasks.mmlu import MMLU, MMLU_5SHOT
from evalsuite.tasks.mt_bench import MT_BENCH
from evalsuite.tasks.strategyqa import STRATEGYQA
from evalsuite.types import Task

TASKS: dict[str, Task] = {
    t.name: t
    for t in (
        LAMBADA,
        ARC_EASY,
        ARC_CHALLENGE,
        MMLU,
        MMLU_5SHOT,
        STRATEGYQA,
        GSM8K,
        IFEVAL,
        ETHICS,
        MT_BENCH,
        LONGEVAL_LINES,
        LONGEVAL_TOPICS,
    )
}


def select(names: str | None) -> list[Task]:
    """Comma-separated task names (default: all) -> tasks; unknown names are a ValueError."""
    if not names:
        return list(TASKS.values())
    wanted = [n.strip() for n in names.split(",") if n.strip()]
    unknown = [n for n in wanted if n not in TASKS]
    if unknown:
        raise ValueError(f"unknown task(s) {', '.join(unknown)}; known: {', '.join(TASKS)}")
    return [TASKS[n] for n in wanted]
