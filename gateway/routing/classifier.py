"""The task classifier: linear models over named features and static embeddings.

Two heads, fitted together by `python -m training.train` (classifier.json) on prompts built
from ../shared/datasets and training/written.py:
- the first reads the named features only (structure and selected words): a sparse dot
  product in pure Python, tens of microseconds whatever the prompt length;
- the second adds the mean static embedding of the text (gateway/routing/embedding.py), which
  carries what a word list cannot (a library name, a moral verb it never saw). It is used
  whenever the embedding is installed and is the one it was fitted on; otherwise the first
  head decides alone.
bench/classifier_report.py reports both on the in-corpus split and on the independent set.
"""

from __future__ import annotations

import heapq
import json
import logging
import math
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

from gateway.routing.features import (
    Shape,
    alone,
    continues,
    features,
    followed_turn,
    refers_back,
    shape,
    window,
)
from gateway.routing.reading import Reader
from quantgate.profile.schema import UNSURE_BELOW

log = logging.getLogger("quantgate.routing")

WEIGHTS = Path(__file__).with_name("classifier.json")
# a short follow-up ("And for 3 people?", features.SHORT_FOLLOW_UP) read alone at least this
# sure as a task of its own is that task; otherwise it continues the turn it follows
FOLLOW_UP_SURE = 0.8
# what a turn without content of its own ("And for 3 people?") reads as alone; and when it
# opens as a continuation (features.continues: "What if it was just a dollar?"), reasoning too
CONTENTLESS = ("general", "dialogue")
CONTENTLESS_AFTER_OPENER = (*CONTENTLESS, "reasoning")
SMALL_TALK = "dialogue"
FOLLOW_BACK = 4  # user turns a chain of short follow-ups is followed back, at most
FOLLOWS = "follows_earlier_turn"  # the reason given then, before the earlier turn's own
# readings remembered, for the turns a later short follow-up leans on (a chat client resends
# them): ~1 kB each; the memory restarts when full
READINGS_KEPT = 4096


@dataclass(frozen=True)
class Classification:
    task: str
    confidence: float  # softmax probability of `task`
    reasons: tuple[str, ...]  # the features that pushed hardest towards `task`
    runner_up: str = ""  # the second most likely class
    # confidence below the threshold asked for: the router then also honours the runner-up's
    # quality needs
    unsure: bool = False


@dataclass(frozen=True)
class Head:
    """One linear model: a bias and a weight vector (one weight per class) per feature."""

    bias: tuple[float, ...]
    weights: dict[str, tuple[float, ...]]
    embedding: Any = None  # numpy [dim, classes] for the embedding's dimensions, or None
    scale: float = 1.0  # the embedding is unit length; this sets its weight against features
    digest: str = ""  # the embedding vectors this head was fitted on

    @classmethod
    def parse(cls, data: dict[str, Any]) -> Head:
        weights = {name: tuple(w) for name, w in data["weights"].items()}
        embedding = data.get("embedding")
        if embedding is None:
            return cls(tuple(data["bias"]), weights)
        import numpy

        matrix = numpy.array(embedding["weights"], dtype=numpy.float32)
        return cls(
            tuple(data["bias"]), weights, matrix, float(embedding["scale"]), embedding["digest"]
        )

    rows: dict[str, int] = field(init=False, repr=False, compare=False)
    matrix: Any = field(init=False, repr=False, compare=False)  # numpy [features, classes]

    def __post_init__(self) -> None:
        if self.embedding is not None:  # numpy is there: the features' weights as a matrix
            import numpy

            object.__setattr__(self, "rows", {n: i for i, n in enumerate(self.weights)})
            object.__setattr__(self, "matrix", numpy.array(list(self.weights.values())))

    def scores(self, feats: dict[str, float], embedded: Any = None) -> list[float]:
        """Each class's score; `embedded` is the embedding's share of them (`Classifier`
        computes it from the token ids), for the second head."""
        if embedded is not None:
            import numpy

            picked = [(i, v) for n, v in feats.items() if (i := self.rows.get(n)) is not None]
            totals = embedded + self.bias
            if picked:
                index, values = zip(*picked, strict=True)
                totals = totals + numpy.asarray(values) @ self.matrix[list(index)]
            result: list[float] = totals.tolist()
            return result
        totals = list(self.bias)
        for name, value in feats.items():
            w = self.weights.get(name)
            if w is not None:
                for k, wk in enumerate(w):
                    totals[k] += wk * value
        return totals


@dataclass(frozen=True)
class Classifier:
    classes: tuple[str, ...]
    first: Head
    second: Head | None = None
    embedder: Any = None  # a StaticEmbedding matching `second`, or None: first head only

    @classmethod
    def load(cls, path: Path = WEIGHTS, embedder: Any = None) -> Classifier:
        """The committed heads; the second only with an `embedder` whose vectors it knows."""
        data = json.loads(path.read_text())
        first = Head.parse(data)
        second = Head.parse(data["second"]) if "second" in data else None
        if second is None or embedder is None or embedder.digest != second.digest:
            if second is not None and embedder is not None:
                log.warning("task classifier: embedding %s is not the fitted one", embedder.digest)
            return cls(tuple(data["classes"]), first)
        return cls(tuple(data["classes"]), first, second, embedder)

    vocabulary: frozenset[str] = field(init=False)  # the words that carry a weight
    # a text's words in the vocabulary and (with the second head) its token ids
    reader: Reader = field(init=False, repr=False, compare=False)

    # the second head, as a request uses it: the embedding's weights times its scale
    # (float32 [384, classes]: the token vectors' sum times it, over the sum's norm, is the
    # embedding's share), and the named features' rows then the bias (float64 [features + 1,
    # classes]: a request's picked rows, weighted by the features' values and 1): five numpy
    # calls a request, each cold in the server (~3 us and more), and no table per token
    projection: Any = field(init=False, default=None, repr=False, compare=False)
    fixed: Any = field(init=False, default=None, repr=False, compare=False)
    rows: dict[str, int] = field(init=False, default_factory=dict, repr=False, compare=False)
    # (shape, explain, unsure_below) -> its reading, for the turns follow-ups lean on
    readings: dict[tuple[Shape, bool, float], Classification] = field(
        init=False, default_factory=dict, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        names = set(self.first.weights) | set(self.second.weights if self.second else ())
        words = frozenset(n[5:] for n in names if n.startswith("word:"))
        object.__setattr__(self, "vocabulary", words)
        head = self.second
        object.__setattr__(self, "reader", Reader(words, self.embedder if head else None))
        if head is not None and self.embedder is not None:
            import numpy

            projection = (head.embedding * head.scale).astype(numpy.float32)
            object.__setattr__(self, "projection", projection)
            fixed = numpy.vstack([head.matrix, [head.bias]]).astype(numpy.float64)
            object.__setattr__(self, "fixed", fixed)
            object.__setattr__(self, "rows", {name: i for i, name in enumerate(head.weights)})

    def _second_scores(self, ids: list[int], feats: dict[str, float]) -> list[float]:
        """The second head's scores: `Head.scores(feats, self._embedded(ids))`."""
        import numpy

        rows, picked, values = self.rows, [], []
        for name, value in feats.items():
            row = rows.get(name)
            if row is not None:
                picked.append(row)
                values.append(value)
        picked.append(len(self.fixed) - 1)  # the bias
        values.append(1.0)
        totals = numpy.array(values) @ self.fixed.take(picked, axis=0)
        share = self._embedded(ids)
        scores: list[float] = (totals + share).tolist()
        return scores

    def _embedded(self, ids: list[int]) -> Any:
        """The embedding's share of each class's score: (unit mean of the token vectors) @
        embedding weights x scale, as (sum of the vectors) @ them / the sum's norm."""
        import numpy

        if ids:
            total = numpy.add.reduce(self.embedder.vectors.take(ids, axis=0), axis=0)
            norm = math.sqrt(float(total @ total))
            if norm:
                return (total @ self.projection) / norm
        return numpy.zeros(len(self.classes), dtype=numpy.float32)

    @property
    def stages(self) -> int:
        return 1 if self.second is None else 2

    def classify(
        self,
        body: dict[str, Any],
        *,
        explain: bool = True,
        unsure_below: float = UNSURE_BELOW,
        back: int = FOLLOW_BACK,
        remembered: bool = False,
    ) -> Classification:
        """The most likely task; `explain` adds the features that decided (a few us more).

        A short follow-up (features.SHORT_FOLLOW_UP), or a longer one (up to
        features.LONG_FOLLOW_UP) that opens as a continuation, either past an opening
        acknowledgment (features.past_thanks), is also read alone. Read
        alone as a task of its own ("Now solve 5x - 4 = 11."), it is that task; so is a sure
        reading of a request in words of its own, that neither opens as a continuation, nor
        refers back, nor only acknowledges ("Any tips for a job interview?":
        features.refers_back).
        If it reads as what a turn without content of its own reads as (general, dialogue;
        reasoning too when it opens as a continuation: "What if it has no header?") or is
        unsure, it continues the turn before, and is classified as the request was then
        ("Can you make it recursive?" after a request for code is code), up to `back` turns
        back. After small talk its own reading stands, unless it is an unsure general or
        dialogue.

        Every reading is remembered (`readings`), and the earlier turns' are taken from
        there when they were read before, as they were when a chat client sent them; a
        request's own last turn is always read afresh (`remembered`: this is an earlier
        turn)."""
        earlier = followed_turn(body) if back else None
        if earlier is None:
            return self._classify(shape(body), explain, unsure_below, remembered)
        text = window(body)
        last = self._classify(alone(text), explain, unsure_below, remembered)
        sure = last.confidence >= FOLLOW_UP_SURE
        # opened as a continuation, an "if" reads as reasoning: "What if it has no header?"
        contentless = CONTENTLESS_AFTER_OPENER if continues(text) else CONTENTLESS
        if sure and (last.task not in contentless or not refers_back(text)):
            return last  # a task of its own, or a request in words of its own
        before = self.classify(
            earlier, explain=explain, unsure_below=unsure_below, back=back - 1, remembered=True
        )
        if before.task == SMALL_TALK and (sure or last.task not in CONTENTLESS):
            return last  # after small talk, a request of its own
        if sure and before.task == last.task:
            return last
        if before.reasons[:1] == (FOLLOWS,):
            return before
        return replace(before, reasons=(FOLLOWS, *before.reasons))

    def _classify(
        self, read: Shape, explain: bool, unsure_below: float, remembered: bool
    ) -> Classification:
        """The most likely task from what a request's last user turn reads as; from
        `readings` if `remembered` and read before."""
        key = (read, explain, unsure_below)
        if remembered and (found := self.readings.get(key)) is not None:
            return found
        words, ids = self.reader(read.seen)
        feats = features(read, lambda _: words)  # read in the same pass as the ids
        head, embedded = self.first, None
        if self.second is not None:
            head = self.second
            totals = self._second_scores(ids, feats)
            if explain:
                embedded = self._embedded(ids)
        else:
            totals = head.scores(feats)
        ranked = sorted(range(len(totals)), key=totals.__getitem__, reverse=True)
        best = ranked[0]
        peak = totals[best]
        confidence = 1.0 / sum(math.exp(t - peak) for t in totals)
        reasons: tuple[str, ...] = ()
        if explain:
            pushes = [(head.weights[n][best] * v, n) for n, v in feats.items() if n in head.weights]
            if embedded is not None:
                pushes.append((float(embedded[best]), "embedding"))
            reasons = tuple(n for p, n in heapq.nlargest(3, pushes) if p > 0)
        found = Classification(
            self.classes[best],
            confidence,
            reasons,
            self.classes[ranked[1]],
            confidence < unsure_below,
        )
        readings = self.readings
        if len(readings) >= READINGS_KEPT:  # restart (another thread may be reading it)
            readings.clear()
        readings[key] = found
        return found


@cache
def default_classifier() -> Classifier:
    from gateway.routing.embedding import default_embedding

    return Classifier.load(embedder=default_embedding())
