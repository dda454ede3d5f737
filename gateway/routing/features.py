"""Explainable features of a request for the task classifier.

Cost is bounded whatever the prompt length: text features read a window of the last user
message (its head and tail), structure features count messages. Every feature has a name a
person can read in the routing explanation (`fewshot_answers`, `word:wrong`, ...).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

from quantgate.chat import SYSTEM_ROLES, text_of

HEAD = 700  # characters read from the start of the last user message
TAIL = 300  # and from its end

_TOKEN = re.compile(r"[a-z]+(?:'[a-z]+)?|\d+(?:[.,]\d+)?")  # words and numbers, one pass
_NUMBER = re.compile(r"\d+")
_OPTION = re.compile(r"^\s*\(?[A-E][.):]\s", re.M)
_ANSWERED = re.compile(r"^(?:Answer|A|Label|Output):\s*\S", re.M)
_ASKED = re.compile(r"^(?:Question|Q|Scenario|Input):", re.M)
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


SHORT_FOLLOW_UP = 40  # characters: a later turn this short leans on the ones before it
# and one up to this long does when it opens as a continuation ("Now only the customers with
# more than five orders, sorted by count desc.": `continues`)
LONG_FOLLOW_UP = 120
NAMED = (
    "completion_form",
    "user_turns",
    "assistant_turns",
    "short_follow_up",
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


def last_user_text(messages: list[dict[str, Any]]) -> str:
    users = [m for m in messages if m.get("role") == "user"]
    return text_of(users[-1]) if users else ""


def clip(text: str) -> str:
    """The head and tail of a text: what the classifier reads of it."""
    return text if len(text) <= HEAD + TAIL else text[:HEAD] + "\n" + text[-TAIL:]


def window(body: dict[str, Any]) -> str:
    """The part of a request the classifier reads: the last user message's head and tail."""
    return clip(last_user_text(view(body)[0]))


def followed_turn(body: dict[str, Any]) -> dict[str, Any] | None:
    """For a short follow-up (the `short_follow_up` feature): the request as it was at the
    user turn before the last, the one it leans on. None for any other request, or without
    an earlier user turn."""
    messages = view(body)[0]
    users = [at for at, m in enumerate(messages) if m.get("role") == "user"]
    answered = any(m.get("role") == "assistant" for m in messages)
    if len(users) < 2 or not leans_back(clip(text_of(messages[users[-1]])), answered):
        return None
    return {"messages": messages[: users[-2] + 1]}


def leans_back(seen: str, answered: bool) -> bool:
    """Whether the last user turn, as read, leans on the turn before: a short follow-up, or
    one of at most LONG_FOLLOW_UP characters that opens as a continuation; either past an
    opening acknowledgment ("Cheers. Can you show the same for 130 km/h?": `past_thanks`)."""
    rest = past_thanks(seen)  # (`continues` reads past a second one: "Thanks! Okay, and ...")
    return short_follow_up(rest, answered) or (
        answered and len(rest.strip()) <= LONG_FOLLOW_UP and continues(rest)
    )


def short_follow_up(seen: str, answered: bool) -> bool:
    """Whether the last user turn, as read (`clip`), is a short follow-up: after an
    assistant turn and at most SHORT_FOLLOW_UP characters ("Why?", "What about cars?"), so
    it leans on the turns before it."""
    return answered and len(seen.strip()) <= SHORT_FOLLOW_UP


# a short follow-up that opens as a continuation leans on the turn before, whatever its own
# words read as ("What if it has no header?" after a pandas question, "And for 3 people?",
# "Now in all caps."): a conjunction, "now", "what about/if", "even", ... (past an opening
# acknowledgment, `past_thanks`, or a word of thanks or approval: "ok and for 3 people?")
_CONTINUES = re.compile(
    r"(?:(?:ok|okay|nice|cool|great|thanks|thank you|ha)[,.!]*\s+)?"
    r"(?:and|but|or|so|now|then|what about|how about|what if|even|same|another|also|instead"
    r"|only|just|add)\b",
    re.I,
)
# and one that refers back may ("Add unit tests for it.", "Before that?")
_REFERS_BACK = re.compile(
    r"\b(?:it|its|that|this|these|those|them|they|one|ones|too|though|again|more|else|there"
    r"|then|instead|same|other|another|either)\b",
    re.I,
)
# a turn of these words only acknowledges ("Okay.", "Got it, thanks!"): no request of its own
_ACKNOWLEDGES = re.compile(
    r"(?:\W*\b(?:ok|okay|alright|all|right|sure|yes|yeah|no|thanks|thank|you|so|very|much|a|lot"
    r"|great|nice|cool|good|perfect|awesome|wow|excellent|fine|got|it|i|see|understood|makes"
    r"|sense|that|this|helps|helped|helpful|really|haha|ha|lol|cheers|lovely|brilliant|love"
    r"|those|these|are|is|ones|works)\b)+\W*",
    re.I,
)
# a turn's first clause, up to a full stop, "!" or comma ("Those are nice. ", "Okay, ")
_FIRST_CLAUSE = re.compile(r"\s*([^.!?,;:\n]+[.!,]+)\s+")


def past_thanks(text: str) -> str:
    """`text` past its opening acknowledgment: a first clause of nothing but acknowledging
    words ("Thanks.", "Cheers!", "Okay,", "Those are nice."), as long as something follows."""
    first = _FIRST_CLAUSE.match(text)
    if first is None or not _ACKNOWLEDGES.fullmatch(first.group(1)):
        return text
    return text[first.end() :] or text


def continues(text: str) -> bool:
    """Whether a (follow-up's) text opens as a continuation of the turn before, past an
    opening acknowledgment."""
    return _CONTINUES.match(past_thanks(text).lstrip()) is not None


def refers_back(text: str) -> bool:
    """Whether it opens as a continuation, has a word that refers back, or only
    acknowledges the turn before: whether it may lean on that turn."""
    return (
        continues(text)
        or _REFERS_BACK.search(text) is not None
        or _ACKNOWLEDGES.fullmatch(text) is not None
    )


def every_word(text: str) -> Iterable[str]:
    """All the words of a (lower-cased) text: the features a classifier is fitted on."""
    return set(_TOKEN.findall(text))


class Shape(NamedTuple):
    """What the classifier reads of a request, all of it: equal shapes read the same."""

    completion: bool  # completion form (a prompt, no messages)
    users: int  # user turns, up to TURNS_READ
    assistants: int  # assistant turns, up to TURNS_READ
    system: bool  # a system (or developer) message
    chars: int  # the last user message's length
    seen: str  # its head and tail (`clip`)


TURNS_READ = 6  # turns counted, at most


def shape(body: dict[str, Any]) -> Shape:
    """What the classifier reads of `body` (see `Shape`)."""
    messages, completion = view(body)
    users = assistants = 0
    system, last_user = False, None
    for m in messages:
        role = m.get("role")
        if role == "user":
            users, last_user = users + 1, m
        elif role == "assistant":
            assistants += 1
        elif role in SYSTEM_ROLES:  # `developer`: OpenAI's newer name for it
            system = True
    last = text_of(last_user) if last_user is not None else ""
    read = min(users, TURNS_READ), min(assistants, TURNS_READ)
    return Shape(completion, *read, system, len(last), clip(last))


def alone(text: str) -> Shape:
    """The shape of a request that is `text` alone, as one user message."""
    return Shape(False, 1, 0, False, len(text), clip(text))


def features(
    body: dict[str, Any] | Shape, words: Callable[[str], Iterable[str]] = every_word
) -> dict[str, float]:
    """Feature name -> value (only non-zero ones) of a request or its `shape`; `words` picks
    the word features (a classifier's: those it has a weight for, read with the token ids in
    one pass: gateway/routing/reading.py).

    On every routed request: features that cannot fire are not looked for (no digit, no
    arithmetic; no colon, no `Answer:`-style labels), and only non-zero values are stored."""
    completion, users, assistants, system, chars, seen = (
        body if isinstance(body, Shape) else shape(body)
    )
    lower = seen.lower()
    stripped = seen.strip()
    f: dict[str, float] = {}
    if completion:
        f["completion_form"] = 1.0
    if users:
        f["user_turns"] = users / 3
    if assistants:
        f["assistant_turns"] = assistants / 3
    if short_follow_up(stripped, assistants > 0):
        f["short_follow_up"] = 1.0
    if system:
        f["has_system"] = 1.0
    if chars:
        f["log_chars"] = math.log1p(chars) / 8
    if newlines := seen.count("\n"):
        f["lines"] = min(newlines, 60) / 20
    if numbers := _NUMBER.findall(seen):  # arithmetic needs digits too
        f["numbers"] = min(len(numbers), 20) / 10
        if operators := _OPERATOR.findall(seen):
            f["arithmetic"] = min(len(operators), 10) / 5
    if options := _OPTION.findall(seen):
        f["options"] = min(len(options), 12) / 4
    colon = ":" in seen  # every label below ends with one
    if colon and (answered := _ANSWERED.findall(seen)):
        f["fewshot_answers"] = min(len(answered), 8) / 4
    if colon and (asked := _ASKED.findall(seen)):
        f["fewshot_asked"] = min(len(asked), 8) / 4
    if fences := seen.count("```"):
        f["code_fences"] = min(fences, 4) / 2
    if code := sum([seen.count(m) for m in CODE_MARKS]):
        f["code_tokens"] = min(code, 10) / 5
    if constraints := sum([lower.count(m) for m in CONSTRAINT_MARKS]):
        f["format_constraints"] = min(constraints, 6) / 3
    if stripped.endswith("?"):
        f["ends_question"] = 1.0
    if stripped.endswith(":"):
        f["ends_colon"] = 1.0
    if _AUX_START.match(stripped):
        f["aux_start"] = 1.0
    if _FIRST_PERSON.match(stripped):
        f["first_person_start"] = 1.0
    if questions := seen.count("?"):
        f["questions"] = min(questions, 6) / 3
    if mapped := _mapped_lines(seen):
        f["mapped_lines"] = mapped
    if colon and (labels := _repeated_labels(seen)):
        f["repeated_labels"] = labels
    if stripped.endswith(OPEN_ENDS):
        f["ends_open"] = 1.0
    for word in words(lower):
        f["word:" + word] = 1.0
    return f


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
