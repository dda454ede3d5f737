"""The task classes a request can belong to, aligned with Qllm-Eval's abilities.

Long context is not a class: it is a context band (see the profile's `routing.bands`).
"""

from __future__ import annotations

TASKS: dict[str, str] = {
    "math": "multi-step math word problems (GSM8K)",
    "reasoning": "commonsense multi-step reasoning, yes/no questions (StrategyQA)",
    "knowledge": "understanding and multiple choice (MMLU, ARC)",
    "instruction": "verifiable format constraints (IFEval)",
    "icl": "few-shot prompts: exemplars, then the question (MMLU 5-shot)",
    "dialogue": "multi-turn conversation and open writing (MT-Bench)",
    "ethics": "moral judgement of a scenario (ETHICS commonsense)",
    "code": "writing, explaining or fixing programs",
    "general": "everything else: text continuation, summaries, retrieval, open questions",
}
