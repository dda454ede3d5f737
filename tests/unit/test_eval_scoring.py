"""Every answer parser and metric of the eval suite on hand-made cases, failures included."""

from __future__ import annotations

import math

import anyio
import pytest

from evalsuite.scoring import (
    bootstrap_ci,
    ece,
    final_number,
    is_refusal,
    last_word,
    option_probs,
    ratio_ci,
    sentence_repetition,
    strict_letter,
    token_repetition,
    yes_no,
)
from evalsuite.types import Context, Reply, Request
from quantgate.data import data_dir


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("She makes 9 * 2 = $18 every day.\n#### 18", "18"),
        ("so 3 + 4 = 7. The answer is 7.", "7"),
        ("The answer is $1,250.00 in total", "1250"),
        ("It costs 12.50 dollars, then 3.", "3"),
        ("The answer is -4", "-4"),
        ("The answer is eighteen. 5+13=18", "18"),  # not the 5 further on: the last number
        ("The answer is: $42.", "42"),
        ("no digits at all", None),
        ("", None),
    ],
)
def test_final_number(text: str, number: str | None) -> None:
    assert final_number(text) == number


@pytest.mark.parametrize(
    ("text", "letter"),
    [
        (" B", "B"),
        ("(C) Paris", "C"),
        ("D. Neon", "D"),
        ("a)", "A"),
        ("Answer: B", "B"),
        (" E", None),  # only four options
        ("Because", None),  # starts with a letter but is a word
        ("The answer is B", None),  # strict: must start with the letter
        ("", None),
    ],
)
def test_strict_letter(text: str, letter: str | None) -> None:
    assert strict_letter(text, 4) == letter


@pytest.mark.parametrize(
    ("text", "said"),
    [
        (" yes", True),
        ("Yes, because", True),
        (" no.", False),
        ("False", False),
        ("maybe", None),
        ("", None),
        ("I think yes", None),
    ],
)
def test_yes_no(text: str, said: bool | None) -> None:
    assert yes_no(text) is said


def test_option_probs_from_top_logprobs() -> None:
    probs = option_probs({" A": -1.0, " B": -2.0, "A": -3.0, "\n": -0.5, " Z": -0.1}, 4)
    assert probs is not None
    assert probs[0] > probs[1] > 0 and probs[2] == probs[3] == 0
    assert math.isclose(sum(probs), 1.0)
    # the spellings of a letter add up (log-sum-exp), they do not take the max
    a = math.exp(-1.0) + math.exp(-3.0)
    assert probs[0] == pytest.approx(a / (a + math.exp(-2.0)))
    assert option_probs({"\n": -0.1, " Paris": -1.0}, 4) is None


def test_option_probs_ignore_lower_case_tokens() -> None:
    """ " a" is the article, not option A."""
    probs = option_probs({" a": -0.1, " B": -2.0}, 4)
    assert probs == [0.0, 1.0, 0.0, 0.0]


@pytest.mark.parametrize(
    ("text", "word"),
    [(" Paris.", "paris"), (" don't go", "don't"), ("\n“Hello”", "hello"), ("...", "")],
)
def test_last_word(text: str, word: str) -> None:
    assert last_word(text) == word


def test_bootstrap_ci_brackets_the_mean_and_is_seeded() -> None:
    scores = [1.0] * 30 + [0.0] * 70
    low, high = bootstrap_ci(scores) or (0, 0)
    assert low < 0.3 < high and high - low < 0.25
    assert bootstrap_ci(scores) == bootstrap_ci(scores)
    assert bootstrap_ci([]) is None
    assert bootstrap_ci([1.0, 1.0]) == (1.0, 1.0)


def test_ratio_ci_is_paired() -> None:
    same = [(1.0, 1.0), (0.0, 0.0)] * 20
    assert ratio_ci(same) == (1.0, 1.0)  # identical answers: no uncertainty
    worse = [(0.0, 1.0)] * 10 + [(1.0, 1.0)] * 30
    low, high = ratio_ci(worse) or (0, 0)
    assert low < 0.75 < high <= 1.0
    assert ratio_ci([(1.0, 0.0)]) is None  # reference never right: undefined
    assert ratio_ci([]) is None


def test_ece() -> None:
    assert ece([1.0, 1.0], [True, True]) == 0
    assert ece([0.9] * 10, [True] * 9 + [False]) == pytest.approx(0.0)
    assert ece([0.9] * 10, [False] * 10) == pytest.approx(0.9)
    assert ece([], []) is None


def test_repetition_rates() -> None:
    assert sentence_repetition("I like tea. I like tea. I like tea.") == pytest.approx(2 / 3)
    assert sentence_repetition("One sentence only.") == 0.0
    assert sentence_repetition("A. B. C.") == 0.0
    loop = "the cat sat on " * 10
    assert token_repetition(loop) > 0.8
    assert token_repetition("a quick brown fox jumps over the lazy dog") == 0.0
    assert token_repetition("") == 0.0


def test_refusals() -> None:
    assert is_refusal("I'm sorry, but I cannot judge that.")
    assert not is_refusal("yes")


@pytest.mark.parametrize(
    ("judge_says", "score", "error"),
    [
        (Reply(text="Solid answer. Rating: [[8]]"), 0.8, None),
        (Reply(text="I would rate it highly."), None, "the judge gave no [[rating]]"),
        (Reply(error="HTTP 401: bad key"), None, "the judge: HTTP 401: bad key"),
    ],
)
def test_mt_bench_scores_by_the_judges_rating_and_names_a_judge_that_failed(
    judge_says: Reply, score: float | None, error: str | None
) -> None:
    from evalsuite.tasks import mt_bench

    (sample,) = mt_bench.load(data_dir(), 1, 0)
    judged: list[Request] = []

    async def ask(request: Request) -> Reply:
        return Reply(text="An answer that does not repeat itself.", latency_s=0.1)

    async def judge(request: Request) -> Reply:
        judged.append(request)
        return judge_says

    outcome = anyio.run(mt_bench.run, sample, ask, Context(form="chat", judge=judge))
    assert (outcome.score, outcome.error) == (score, error)
    assert len(judged) == len(sample.meta["turns"])  # each turn rated
    assert judged[0].messages[0][0] == "system"
