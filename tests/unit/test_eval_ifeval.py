"""The IFEval checks on hand-made responses that pass and fail each instruction."""

from __future__ import annotations

import json
from typing import Any

import pytest

from evalsuite.ifeval_checks import CHECKS, UNCOVERED, check
from quantgate.data import data_dir

CASES: list[tuple[str, dict[str, Any], str, str]] = [
    ("punctuation:no_comma", {}, "no commas here", "one, two"),
    (
        "length_constraints:number_words",
        {"relation": "at least", "num_words": 3},
        "one two three",
        "one two",
    ),
    (
        "length_constraints:number_words",
        {"relation": "less than", "num_words": 3},
        "one two",
        "one two three",
    ),
    (
        "length_constraints:number_sentences",
        {"relation": "less than", "num_sentences": 2},
        "Just one.",
        "One. Two.",
    ),
    ("length_constraints:number_paragraphs", {"num_paragraphs": 2}, "a\n***\nb", "a b"),
    (
        "length_constraints:nth_paragraph_first_word",
        {"num_paragraphs": 2, "nth_paragraph": 2, "first_word": "then"},
        "First part.\n\nThen more.",
        "First part.\n\nAnd more.",
    ),
    ("keywords:forbidden_words", {"forbidden_words": ["cat"]}, "a dog", "a Cat"),
    ("keywords:existence", {"keywords": ["tea", "milk"]}, "Tea with milk", "tea only"),
    (
        "keywords:frequency",
        {"keyword": "go", "relation": "at least", "frequency": 2},
        "go go",
        "go gone",
    ),
    (
        "keywords:letter_frequency",
        {"letter": "z", "let_relation": "at least", "let_frequency": 2},
        "zz top",
        "z top",
    ),
    (
        "detectable_format:number_highlighted_sections",
        {"num_highlights": 2},
        "*one* and *two*",
        "*one* only",
    ),
    ("detectable_format:title", {}, "<<My Title>>\ntext", "My Title"),
    ("detectable_format:number_bullet_lists", {"num_bullets": 2}, "* a\n* b", "* a\n* b\n* c"),
    ("detectable_format:json_format", {}, '```json\n{"a": 1}\n```', "{a: 1}"),
    (
        "detectable_format:multiple_sections",
        {"section_spliter": "Section", "num_sections": 2},
        "Section 1\nx\nSection 2\ny",
        "Section 1 only",
    ),
    ("detectable_format:constrained_response", {}, "My answer is yes.", "Yes."),
    (
        "detectable_content:number_placeholders",
        {"num_placeholders": 2},
        "[name] at [place]",
        "[name] only",
    ),
    ("detectable_content:postscript", {"postscript_marker": "P.S."}, "Hi.\nP.S. bye", "Hi."),
    ("change_case:english_lowercase", {}, "all lower", "Not lower"),
    ("change_case:english_capital", {}, "ALL CAPS", "Not caps"),
    (
        "change_case:capital_word_frequency",
        {"capital_relation": "less than", "capital_frequency": 2},
        "ONE word",
        "TWO WORDS",
    ),
    ("startend:quotation", {}, '"quoted"', "not quoted"),
    (
        "startend:end_checker",
        {"end_phrase": "Is there anything else?"},
        "Done. Is there anything else?",
        "Done.",
    ),
    ("combination:repeat_prompt", {"prompt_to_repeat": "Say hi"}, "Say hi. Hi!", "Hi!"),
    ("combination:two_responses", {}, "first\n******\nsecond", "only one"),
]


@pytest.mark.parametrize(("instruction", "kwargs", "good", "bad"), CASES)
def test_check_passes_and_fails(
    instruction: str, kwargs: dict[str, Any], good: str, bad: str
) -> None:
    assert check(instruction, good, kwargs)
    assert not check(instruction, bad, kwargs)


def test_every_covered_instruction_has_a_case_and_the_data_is_covered() -> None:
    assert {c[0] for c in CASES} == set(CHECKS)
    rows = [
        json.loads(x) for x in (data_dir() / "ifeval" / "input_data.jsonl").read_text().splitlines()
    ]
    used = {i for r in rows for i in r["instruction_id_list"]}
    assert used <= set(CHECKS) | set(UNCOVERED)
