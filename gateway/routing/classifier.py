"""The fast task classifier: a linear model over named features, scored in pure Python.

The weights (classifier.json) are fitted by `python -m training.train` on
prompts built from ../shared/datasets; bench/classifier_report.py reports its held-out
accuracy. Scoring is a sparse dot product: tens of microseconds whatever the prompt length.
"""

from __future__ import annotations

import heapq
import json
import math
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from gateway.routing.features import features

WEIGHTS = Path(__file__).with_name("classifier.json")
UNSURE = 0.5  # below this confidence the router also honours the runner-up's quality needs


@dataclass(frozen=True)
class Classification:
    task: str
    confidence: float  # softmax probability of `task`
    reasons: tuple[str, ...]  # the features that pushed hardest towards `task`
    runner_up: str = ""  # the second most likely class

    @property
    def unsure(self) -> bool:
        return self.confidence < UNSURE


@dataclass(frozen=True)
class Classifier:
    classes: tuple[str, ...]
    bias: tuple[float, ...]
    weights: dict[str, tuple[float, ...]]

    @classmethod
    def load(cls, path: Path = WEIGHTS) -> Classifier:
        data = json.loads(path.read_text())
        return cls(
            tuple(data["classes"]),
            tuple(data["bias"]),
            {name: tuple(w) for name, w in data["weights"].items()},
        )

    def scores(self, feats: dict[str, float]) -> list[float]:
        totals = list(self.bias)
        for name, value in feats.items():
            w = self.weights.get(name)
            if w is not None:
                for k, wk in enumerate(w):
                    totals[k] += wk * value
        return totals

    vocabulary: frozenset[str] = field(init=False)  # the words that carry a weight

    def __post_init__(self) -> None:
        words = frozenset(n[5:] for n in self.weights if n.startswith("word:"))
        object.__setattr__(self, "vocabulary", words)

    def classify(self, body: dict[str, Any], *, explain: bool = True) -> Classification:
        """The most likely task; `explain` adds the features that decided (a few us more)."""
        feats = features(body, self.vocabulary)
        totals = self.scores(feats)
        ranked = sorted(range(len(totals)), key=totals.__getitem__, reverse=True)
        best = ranked[0]
        peak = totals[best]
        confidence = 1.0 / sum(math.exp(t - peak) for t in totals)
        reasons: tuple[str, ...] = ()
        if explain:
            pushes = heapq.nlargest(
                3, ((self.weights[n][best] * v, n) for n, v in feats.items() if n in self.weights)
            )
            reasons = tuple(n for p, n in pushes if p > 0)
        return Classification(self.classes[best], confidence, reasons, self.classes[ranked[1]])


@cache
def default_classifier() -> Classifier:
    return Classifier.load()
