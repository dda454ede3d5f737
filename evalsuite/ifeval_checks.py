"""IFEval's verifiable instructions, implemented here from the paper's definitions.

`CHECKS` maps an instruction id to a function (response, kwargs) -> bool. Ids not in CHECKS are
not covered (`UNCOVERED` lists them); the task skips prompts that use one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

Check = Callable[[str, dict[str, Any]], bool]


def _compare(value: int, relation: str, target: int) -> bool:
    return value < target if relation == "less than" else value >= target


def _words(text: str) -> list[str]:
    return re.findall(r"\b\w+\b", text)


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+", text.strip()) if re.search(r"\w", s)]


def _paragraphs(text: str, divider: str) -> list[str]:
    return [p for p in re.split(divider, text) if p.strip()]


def _json(text: str) -> bool:
    body = text.strip().removeprefix("```json").removeprefix("```JSON").removeprefix("```")
    body = body.removesuffix("```").strip()
    try:
        json.loads(body)
    except ValueError:
        return False
    return True


def _nth_first_word(text: str, k: dict[str, Any]) -> bool:
    paragraphs = _paragraphs(text, r"\n\s*\n")
    n = k["nth_paragraph"]
    if len(paragraphs) != k["num_paragraphs"] or n > len(paragraphs):
        return False
    words = re.findall(r"[\w']+", paragraphs[n - 1].lower())
    return bool(words) and words[0] == str(k["first_word"]).lower()


def _two_responses(text: str) -> bool:
    parts = [p.strip() for p in text.split("******")]
    return len(parts) == 2 and all(parts) and parts[0] != parts[1]


CHECKS: dict[str, Check] = {
    "punctuation:no_comma": lambda r, k: "," not in r,
    "length_constraints:number_words": lambda r, k: _compare(
        len(_words(r)), k["relation"], k["num_words"]
    ),
    "length_constraints:number_sentences": lambda r, k: _compare(
        len(_sentences(r)), k["relation"], k["num_sentences"]
    ),
    "length_constraints:number_paragraphs": lambda r, k: (
        len(_paragraphs(r, r"\s?\*\*\*\s?")) == k["num_paragraphs"]
    ),
    "length_constraints:nth_paragraph_first_word": _nth_first_word,
    "keywords:forbidden_words": lambda r, k: (
        not any(re.search(rf"\b{re.escape(w)}\b", r, re.I) for w in k["forbidden_words"])
    ),
    "keywords:existence": lambda r, k: all(re.search(re.escape(w), r, re.I) for w in k["keywords"]),
    "keywords:frequency": lambda r, k: _compare(
        len(re.findall(rf"\b{re.escape(k['keyword'])}\b", r, re.I)), k["relation"], k["frequency"]
    ),
    "keywords:letter_frequency": lambda r, k: _compare(
        r.lower().count(str(k["letter"]).lower()), k["let_relation"], k["let_frequency"]
    ),
    "detectable_format:number_highlighted_sections": lambda r, k: (
        len(re.findall(r"\*[^\n*]+\*", r)) >= k["num_highlights"]
    ),
    "detectable_format:title": lambda r, k: re.search(r"<<[^\n]+>>", r) is not None,
    "detectable_format:number_bullet_lists": lambda r, k: (
        len(re.findall(r"^\s*(?:\*[^*]|-\s)", r, re.M)) == k["num_bullets"]
    ),
    "detectable_format:json_format": lambda r, k: _json(r),
    "detectable_format:multiple_sections": lambda r, k: (
        len(re.findall(rf"\s?{re.escape(k['section_spliter'])}\s?\d+\s?", r)) >= k["num_sections"]
    ),
    "detectable_format:constrained_response": lambda r, k: any(
        p in r for p in ("My answer is yes.", "My answer is no.", "My answer is maybe.")
    ),
    "detectable_content:number_placeholders": lambda r, k: (
        len(re.findall(r"\[.*?\]", r)) >= k["num_placeholders"]
    ),
    "detectable_content:postscript": lambda r, k: (
        re.search(rf"\s*{re.escape(k['postscript_marker']).lower()}.*$", r.lower(), re.M)
        is not None
    ),
    "change_case:english_lowercase": lambda r, k: (
        r == r.lower() and re.search("[a-z]", r) is not None
    ),
    "change_case:english_capital": lambda r, k: (
        r == r.upper() and re.search("[A-Z]", r) is not None
    ),
    "change_case:capital_word_frequency": lambda r, k: _compare(
        len(re.findall(r"\b[A-Z][A-Z]+\b", r)), k["capital_relation"], k["capital_frequency"]
    ),
    "startend:quotation": lambda r, k: (
        len(r.strip()) > 1 and r.strip()[0] == '"' and r.strip()[-1] == '"'
    ),
    "startend:end_checker": lambda r, k: (
        r.strip().lower().endswith(str(k["end_phrase"]).strip().lower())
    ),
    "combination:repeat_prompt": lambda r, k: (
        r.strip().lower().startswith(str(k["prompt_to_repeat"]).strip().lower())
    ),
    "combination:two_responses": lambda r, k: _two_responses(r),
}

UNCOVERED = ("language:response_language",)  # needs a language identifier


def check(instruction: str, response: str, kwargs: dict[str, Any]) -> bool:
    args = {k: v for k, v in kwargs.items() if v is not None}
    return CHECKS[instruction](response, args)
