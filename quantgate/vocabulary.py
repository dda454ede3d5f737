"""The words every package shares: task classes, context bands, the gateway's header names.

One home for each: the profile schema validates rules against these, the gateway routes with
them, the eval suite and `derive` label their measurements with them.
"""

from __future__ import annotations

from collections.abc import Sequence

# The task classes a request can belong to, aligned with Qllm-Eval's abilities. Long context
# is not a class: it is a context band (the profile's `routing.bands`). A request is labelled
# by what its last user turn asks: a math problem in the third turn of a chat is math, and a
# short follow-up that leans on an earlier turn ("And for 3 people?") continues its task.
TASKS: dict[str, str] = {
    "math": "multi-step math word problems (GSM8K)",
    "reasoning": "commonsense multi-step reasoning, yes/no questions (StrategyQA)",
    "knowledge": "understanding and multiple choice (MMLU, ARC)",
    "instruction": "verifiable format constraints (IFEval)",
    "icl": "few-shot prompts: exemplars, then the question (MMLU 5-shot)",
    "dialogue": "conversation for its own sake and open writing: small talk, role-play, "
    "stories, poems, letters (MT-Bench)",
    "ethics": "moral judgement of a scenario (ETHICS commonsense)",
    "code": "writing, explaining or fixing programs",
    "general": "everything else: information, advice and plans, summaries, extraction, "
    "rewriting, text continuation",
}

# request headers (hints) and response headers (what the gateway decided)
TASK_HEADER = "x-quantgate-task"
TOLERANCE_HEADER = "x-quantgate-max-quality-loss"
ROUTE_HEADER = "x-quantgate-route"
VARIANT_HEADER = "x-quantgate-variant"
FAILOVER_HEADER = "x-quantgate-failover"
SKIPPED_HEADER = "x-quantgate-skipped"
DEADLINE_HEADER = "x-quantgate-deadline"  # seconds the client gives the gateway to start answering


def band_of(bands: Sequence[tuple[str, int | None]], tokens: int) -> str:
    """The first band (name, max tokens or None = open) that holds `tokens`; else the last."""
    for name, bound in bands:
        if bound is None or tokens <= bound:
            return name
    return bands[-1][0]
