"""Answer parsers and metrics shared by the tasks. Pure functions, unit-tested on hand cases."""

from __future__ import annotations

import math
import random
import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

LETTERS = "ABCDE"
_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")
_LETTER = re.compile(r"^\s*(?:answer\s*(?:is)?\s*:?\s*)?\(?([A-E])\)?(?=$|[\s.):,])", re.I)


_MARKED = re.compile(r"(?:####|answer is)[\s:]*\$?\s*(-?\d[\d,]*(?:\.\d+)?)", re.I)


def final_number(text: str) -> str | None:
    """GSM8K's answer, as lm-evaluation-harness's two filters take it: the number right after
    the last '####' or 'The answer is' (strict match), else the last number in the reply
    (flexible extract). A number further on ("answer is eighteen. 5+13=18") is not taken."""
    marked = _MARKED.findall(text)
    if marked:
        return _normalize(marked[-1])
    numbers = _NUMBER.findall(text)
    return _normalize(numbers[-1]) if numbers else None


def _normalize(number: str) -> str:
    value = number.replace(",", "").rstrip(".")
    if "." in value:
        value = value.rstrip("0").rstrip(".")
    return value or "0"


def strict_letter(text: str, n_options: int = 4) -> str | None:
    """The option letter a reply starts with ('B', ' (B)', 'B. Paris', 'Answer: B'), else None."""
    found = _LETTER.match(text)
    if not found:
        return None
    letter = found.group(1).upper()
    return letter if letter in LETTERS[:n_options] else None


def yes_no(text: str) -> bool | None:
    """A reply's first word as yes (True) / no (False); None for anything else."""
    words = re.findall(r"[a-z]+", text.lower())
    if not words:
        return None
    return {"yes": True, "true": True, "no": False, "false": False}.get(words[0])


def option_probs(top: dict[str, float], n_options: int) -> list[float] | None:
    """Probabilities of the option letters from one token's top logprobs, renormalized over
    the letters. A letter's spellings (" A", "A") add up; lower case (" a", the article) is
    not a letter. A letter outside the top-k gets 0: use `letter_probs` when that matters."""
    mass: dict[str, float] = {}
    for token, logprob in top.items():
        letter = token.strip()
        if len(letter) == 1 and letter in LETTERS[:n_options]:
            mass[letter] = mass.get(letter, 0.0) + math.exp(logprob)
    if not mass:
        return None
    total = sum(mass.values())
    return [mass.get(x, 0.0) / total for x in LETTERS[:n_options]]


def letter_probs(loglikelihoods: Sequence[float]) -> list[float]:
    """Softmax over the options' log-likelihoods (" A", " B", ... after the prompt)."""
    peak = max(loglikelihoods)
    weights = [math.exp(x - peak) for x in loglikelihoods]
    total = sum(weights)
    return [w / total for w in weights]


def options_chance(samples: Sequence[Any]) -> float:
    """Multiple choice: the mean of 1 / number of options (`meta["options"]`)."""
    return sum(1 / len(s.meta["options"]) for s in samples) / len(samples)


def majority_chance(samples: Sequence[Any]) -> float:
    """Yes/no: the share of the most common gold label (always answering it scores this)."""
    labels = Counter(s.target for s in samples)
    return max(labels.values()) / len(samples)


def last_word(text: str) -> str:
    """The first word of a continuation, without punctuation (LAMBADA's target form)."""
    words = re.findall(r"[\w'-]+", text)
    return words[0].lower() if words else ""


def bootstrap_ci(
    scores: Sequence[float], rounds: int = 1000, seed: int = 0
) -> tuple[float, float] | None:
    """95% percentile bootstrap interval of the mean; None without scores."""
    if not scores:
        return None
    rng = random.Random(seed)
    n = len(scores)
    means = sorted(sum(rng.choices(scores, k=n)) / n for _ in range(rounds))
    return means[int(0.025 * rounds)], means[int(0.975 * rounds) - 1]


def ece(confidences: Sequence[float], correct: Sequence[bool], bins: int = 10) -> float | None:
    """Expected calibration error: sum over equal-width bins of |accuracy - confidence| * share."""
    if not confidences:
        return None
    n = len(confidences)
    total = 0.0
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        members = [i for i, c in enumerate(confidences) if lo < c <= hi or (b == 0 and c == 0)]
        if members:
            acc = sum(correct[i] for i in members) / len(members)
            conf = sum(confidences[i] for i in members) / len(members)
            total += abs(acc - conf) * len(members) / n
    return total


def sentence_repetition(text: str) -> float:
    """Share of sentences that repeat an earlier sentence of the same reply (W3/KV3 failure)."""
    sentences = [s.strip().lower() for s in re.split(r"(?<=[.!?])\s+|\n+", text) if s.strip()]
    if len(sentences) < 2:
        return 0.0
    seen: set[str] = set()
    repeats = 0
    for s in sentences:
        repeats += s in seen
        seen.add(s)
    return repeats / len(sentences)


def token_repetition(text: str, n: int = 4) -> float:
    """Share of word n-grams that occurred before in the reply (W2/KV2 degenerate loops)."""
    words = text.lower().split()
    grams = [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]
    if not grams:
        return 0.0
    counts = Counter(grams)
    return sum(c - 1 for c in counts.values()) / len(grams)


REFUSALS = ("i cannot", "i can't", "i won't", "as an ai", "i'm sorry", "i am sorry", "not able to")


def is_refusal(text: str) -> bool:
    low = text.lower()
    return any(marker in low for marker in REFUSALS)


def ratio_ci(
    pairs: Sequence[tuple[float, float]], rounds: int = 1000, seed: int = 0
) -> tuple[float, float] | None:
    """95% paired-bootstrap interval of mean(variant) / mean(reference) over the same samples."""
    if not pairs:
        return None
    rng = random.Random(seed)
    n = len(pairs)
    ratios = []
    for _ in range(rounds):
        drawn = rng.choices(pairs, k=n)
        ref = sum(r for _, r in drawn)
        if ref > 0:
            ratios.append(sum(v for v, _ in drawn) / ref)
    if not ratios:
        return None
    ratios.sort()
    return ratios[int(0.025 * len(ratios))], ratios[int(0.975 * len(ratios)) - 1]
