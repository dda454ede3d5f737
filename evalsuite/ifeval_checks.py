r"""IFEval's verifiable instructions, following the rules of the reference implementation
(google-research/instruction_following_eval: instructions.py, evaluation_lib.py).

`CHECKS` maps an instruction id to a function (response, kwargs) -> bool. Ids not in CHECKS are
not covered (`UNCOVERED` lists them); the task skips prompts that use one. As in the
reference, an empty or whitespace response follows no instruction (`check`), and the loose
score (`check_loose`) also tries the response without its first and/or last line and without
`*`. Where the reference calls NLTK: sentences are counted with pysbd (rule-based), because
punkt's English model cannot be downloaded here; capital words are the `\w+` tokens that are
upper case (the reference tokenizes with nltk.word_tokenize).
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
    import pysbd

    return [s for s in pysbd.Segmenter(language="en", clean=False).segment(text) if s.strip()]


def _paragraphs(text: str, divider: str) -> list[str] | None:
    """The parts between dividers; None when an empty part sits between two others (the
    reference fails such a response); empty first or last parts are dropped."""
    parts = re.split(divider, text)
    for i, part in enumerate(parts):
        if not part.strip() and 0 < i < len(parts) - 1:
            return None
    return [p for p in parts if p.strip()]


def _count_paragraphs(text: str, n: int) -> bool:
    parts = _paragraphs(text, r"\s?\*\*\*\s?")
    return parts is not None and len(parts) == n


def _highlights(text: str) -> int:
    single = re.findall(r"\*[^\n\*]*\*", text)
    double = re.findall(r"\*\*[^\n\*]*\*\*", text)
    return sum(1 for h in single if h.strip("*").strip()) + sum(
        1 for h in double if h.removeprefix("**").removesuffix("**").strip()
    )


def _postscript(text: str, marker: str) -> bool:
    if marker == "P.P.S":
        pattern = r"\s*p\.\s?p\.\s?s.*$"
    elif marker == "P.S.":
        pattern = r"\s*p\.\s?s\..*$"
    else:
        pattern = r"\s*" + re.escape(marker.lower()) + r".*$"
    return bool(re.findall(pattern, text.lower(), flags=re.M))


def _json(text: str) -> bool:
    body = text.strip().removeprefix("```json").removeprefix("```Json")
    body = body.removeprefix("```JSON").removeprefix("```")
    body = body.removesuffix("```").strip()
    try:
        json.loads(body)
    except ValueError:
        return False
    return True


def _nth_first_word(text: str, k: dict[str, Any]) -> bool:
    paragraphs = _paragraphs(text, r"\n\n")
    n = k["nth_paragraph"]
    if paragraphs is None or len(paragraphs) != k["num_paragraphs"] or n > len(paragraphs):
        return False
    words = paragraphs[n - 1].strip().split()
    if not words:
        return False
    first = words[0].strip().lstrip("'").lstrip('"')
    first = "".join(c for c in first if c not in ".,?!'\"").lower()
    return first == str(k["first_word"]).lower()


def _two_responses(text: str) -> bool:
    parts = text.split("******")
    valid = []
    for i, part in enumerate(parts):
        if part.strip():
            valid.append(part.strip())
        elif 0 < i < len(parts) - 1:
            return False
    return len(valid) == 2 and valid[0] != valid[1]


CHECKS: dict[str, Check] = {
    "punctuation:no_comma": lambda r, k: "," not in r,
    "length_constraints:number_words": lambda r, k: _compare(
        len(_words(r)), k["relation"], k["num_words"]
    ),
    "length_constraints:number_sentences": lambda r, k: _compare(
        len(_sentences(r)), k["relation"], k["num_sentences"]
    ),
    "length_constraints:number_paragraphs": lambda r, k: _count_paragraphs(r, k["num_paragraphs"]),
    "length_constraints:nth_paragraph_first_word": _nth_first_word,
    "keywords:forbidden_words": lambda r, k: (
        not any(re.search(rf"\b{re.escape(w)}\b", r, re.I) for w in k["forbidden_words"])
    ),
    "keywords:existence": lambda r, k: all(re.search(re.escape(w), r, re.I) for w in k["keywords"]),
    "keywords:frequency": lambda r, k: _compare(  # substrings, as the reference counts
        len(re.findall(re.escape(k["keyword"]), r, re.I)), k["relation"], k["frequency"]
    ),
    "keywords:letter_frequency": lambda r, k: _compare(
        r.lower().count(str(k["letter"]).lower()), k["let_relation"], k["let_frequency"]
    ),
    "detectable_format:number_highlighted_sections": lambda r, k: (
        _highlights(r) >= k["num_highlights"]
    ),
    "detectable_format:title": lambda r, k: any(
        t.lstrip("<").rstrip(">").strip() for t in re.findall(r"<<[^\n]+>>", r)
    ),
    "detectable_format:number_bullet_lists": lambda r, k: (
        len(re.findall(r"^\s*\*[^\*].*$", r, re.M)) + len(re.findall(r"^\s*-.*$", r, re.M))
        == k["num_bullets"]
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
    "detectable_content:postscript": lambda r, k: _postscript(r, k["postscript_marker"]),
    "change_case:english_lowercase": lambda r, k: (
        r == r.lower() and re.search("[a-z]", r) is not None
    ),
    "change_case:english_capital": lambda r, k: (
        r == r.upper() and re.search("[A-Z]", r) is not None
    ),
    "change_case:capital_word_frequency": lambda r, k: _compare(
        sum(1 for w in re.findall(r"\w+", r) if w.isupper()),
        k["capital_relation"],
        k["capital_frequency"],
    ),
    "startend:quotation": lambda r, k: (
        len(r.strip()) > 1 and r.strip()[0] == '"' and r.strip()[-1] == '"'
    ),
    "startend:end_checker": lambda r, k: (
        r.strip().strip('"').lower().endswith(str(k["end_phrase"]).strip().lower())
    ),
    "combination:repeat_prompt": lambda r, k: (
        r.strip().lower().startswith(str(k["prompt_to_repeat"]).strip().lower())
    ),
    "combination:two_responses": lambda r, k: _two_responses(r),
}

UNCOVERED = ("language:response_language",)  # needs a language identifier


def check(instruction: str, response: str, kwargs: dict[str, Any]) -> bool:
    """Strict: the response as it is; an empty one follows nothing."""
    args = {k: v for k, v in kwargs.items() if v is not None}
    return bool(response.strip()) and CHECKS[instruction](response, args)


def loose_variants(response: str) -> list[str]:
    """The reference's loose forms: without the first and/or last line, and without `*`."""
    lines = response.split("\n")
    cut = [
        response,
        "\n".join(lines[1:]).strip(),
        "\n".join(lines[:-1]).strip(),
        "\n".join(lines[1:-1]).strip(),
    ]
    return cut + [c.replace("*", "") for c in cut]


def check_loose(instruction: str, response: str, kwargs: dict[str, Any]) -> bool:
    return any(check(instruction, r, kwargs) for r in loose_variants(response))
