"""Explainable features of a request for the task classifier.

Cost is bounded whatever the prompt length: text features read a window of the last user
message (its head and tail), structure features count messages. Every feature has a name a
person can read in the routing explanation (`fewshot_answers`, `word:wrong`, ...).
"""

from __future__ import annotations

import math
import re
from typing import Any

HEAD = 700  # characters read from the start of the last user message
TAIL = 300  # and from its end

_TOKEN = re.compile(r"[a-z]+(?:'[a-z]+)?|\d+(?:[.,]\d+)?")  # words and numbers, one pass
_NUMBER = re.compile(r"\d+")
_OPTION = re.compile(r"^\s*\(?[A-E][.):]\s", re.M)
_ANSWERED = re.compile(r"^(?:Answer|A|Label|Output):\s*\S", re.M)
_ASKED = re.compile(r"^(?:Question|Q|Scenario|Input):", re.M)
_FENCE = re.compile(r"```")
_OPERATOR = re.compile(r"\d\s*[-+*/x\u00d7=%]\s*\d|\$\d")
# substring counts (str.count runs in C; a regex alternation here cost ~0.4 ms on 2 kB)
CODE_MARKS = ("def ", "return ", "import ", "#include", "=>", "function", "{", "};", "();")
CONSTRAINT_MARKS = (
    "at least ",
    "at most ",
    "less than ",
    "more than ",
    "exactly ",
    "all lowercase",
    "all capital",
    "uppercase",
    "json",
    "p.s.",
    "<<",
    "comma",
    "wrap your",
    "end your",
    "markdown",
    "bullet",
    "paragraph",
    "highlight",
    "section",
    "placeholder",
)
_AUX_START = re.compile(
    r"^(?:is|are|was|were|can|could|would|will|do|does|did|has|have|had|should|might)\b", re.I
)
_FIRST_PERSON = re.compile(r"^(?:i|my|i'm|i've|we)\b", re.I)
# few-shot structure, whatever the relation: lines that map one thing to another with the same
# delimiter, lines that open with the same label, and a last line left open
MAPPINGS = ("->", "=>", "\u2192", " | ", "\t", " = ")
_LABEL = re.compile(r"^\s*([A-Za-z][A-Za-z ]{0,20}):", re.M)
OPEN_ENDS = ("->", "=>", "\u2192", "|", "=", "/")


NAMED = (
    "completion_form",
    "user_turns",
    "assistant_turns",
    "has_system",
    "log_chars",
    "lines",
    "numbers",
    "arithmetic",
    "options",
    "fewshot_answers",
    "fewshot_asked",
    "code_fences",
    "code_tokens",
    "format_constraints",
    "ends_question",
    "ends_colon",
    "aux_start",
    "first_person_start",
    "questions",
    "mapped_lines",
    "repeated_labels",
    "ends_open",
)  # plus one `word:<w>` per distinct word in the window


def view(body: dict[str, Any]) -> tuple[list[dict[str, Any]], bool]:
    """(messages, completion form?) from a chat or completion request body."""
    if "messages" in body:
        messages = body.get("messages") or []
        return [m for m in messages if isinstance(m, dict)], False
    prompt = body.get("prompt")
    if isinstance(prompt, list):
        prompt = prompt[0] if prompt and isinstance(prompt[0], str) else ""
    return [{"role": "user", "content": prompt if isinstance(prompt, str) else ""}], True


def text_of(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts: keep the text ones
        return " ".join(
            str(p.get("text", ""))
            for p in content
            if isinstance(p, dict) and p.get("type") == "text"
        )
    return ""


def last_user_text(messages: list[dict[str, Any]]) -> str:
    users = [m for m in messages if m.get("role") == "user"]
    return text_of(users[-1]) if users else ""


def clip(text: str) -> str:
    """The head and tail of a text: what the classifier reads of it."""
    return text if len(text) <= HEAD + TAIL else text[:HEAD] + "\n" + text[-TAIL:]


def window(body: dict[str, Any]) -> str:
    """The part of a request the classifier reads: the last user message's head and tail."""
    return clip(last_user_text(view(body)[0]))


def features(body: dict[str, Any], vocabulary: frozenset[str] | None = None) -> dict[str, float]:
    """Feature name -> value (only non-zero ones); word features only from `vocabulary`."""
    messages, completion = view(body)
    roles = [m.get("role") for m in messages]
    users = [m for m in messages if m.get("role") == "user"]
    last = last_user_text(messages)
    seen = clip(last)
    lower = seen.lower()
    tokens = _TOKEN.findall(lower)
    stripped = seen.strip()
    f: dict[str, float] = {
        "completion_form": float(completion),
        "user_turns": min(len(users), 6) / 3,
        "assistant_turns": min(roles.count("assistant"), 6) / 3,
        "has_system": float("system" in roles),
        "log_chars": math.log1p(len(last)) / 8,
        "lines": min(seen.count("\n"), 60) / 20,
        "numbers": min(len(_NUMBER.findall(seen)), 20) / 10,
        "arithmetic": min(len(_OPERATOR.findall(seen)), 10) / 5,
        "options": min(len(_OPTION.findall(seen)), 12) / 4,
        "fewshot_answers": min(len(_ANSWERED.findall(seen)), 8) / 4,
        "fewshot_asked": min(len(_ASKED.findall(seen)), 8) / 4,
        "code_fences": min(len(_FENCE.findall(seen)), 4) / 2,
        "code_tokens": min(sum(seen.count(m) for m in CODE_MARKS), 10) / 5,
        "format_constraints": min(sum(lower.count(m) for m in CONSTRAINT_MARKS), 6) / 3,
        "ends_question": float(stripped.endswith("?")),
        "ends_colon": float(stripped.endswith(":")),
        "aux_start": float(bool(_AUX_START.match(stripped))),
        "first_person_start": float(bool(_FIRST_PERSON.match(stripped))),
        "questions": min(seen.count("?"), 6) / 3,
        "mapped_lines": _mapped_lines(seen),
        "repeated_labels": _repeated_labels(seen),
        "ends_open": float(stripped.endswith(OPEN_ENDS)),
    }
    words = set(tokens)
    for word in words if vocabulary is None else words & vocabulary:
        f["word:" + word] = 1.0
    return {k: v for k, v in f.items() if v}


def _mapped_lines(text: str) -> float:
    """Lines that share a mapping delimiter (`x -> y`, `x = y`, ...), the most shared one."""
    if "\n" not in text:
        return 0.0
    lines = text.splitlines()
    most = max(sum(d in line for line in lines) for d in MAPPINGS)
    return min(most, 8) / 4 if most >= 2 else 0.0


def _repeated_labels(text: str) -> float:
    """How often the most repeated line-opening label (`Review:`, `English:`) recurs."""
    labels = _LABEL.findall(text)
    if len(labels) < 2:
        return 0.0
    most = max(labels.count(x) for x in set(labels))
    return min(most, 8) / 4 if most >= 2 else 0.0
