"""The task classifier on two test sets, side by side: per-class F1 and macro-F1.

- in-corpus: the held-out split of the corpus built from ../shared/datasets
  (training/corpus.py), by a seeded hash of each source record. Same sources and phrasings
  as the training data: it measures memory as much as generalization.
- independent: bench/data/classifier_independent.jsonl, prompts written by hand per class the
  way people write them (chat and completion form, short and long), with no connection to the
  training sources. Never fitted on: training never reads it.
- fresh4..fresh18: smaller sets written the same way, each committed before the change it
  checks. A set committed for a change not made yet (BLIND) is read only with `--blind`, so
  that a run for another purpose does not show its errors.

The independent set's labels are checked against a second, blind labelling (how far they agree
is the ceiling a classifier can be held to); the shipped classifier is also scored against the
second labels and on the prompts both labellings agree on.

Targets: independent macro-F1 >= 0.90 with no class below 0.80; in-corpus macro-F1 >= 0.95.
Also: how often the classifier is unsure (the policy then also requires the runner-up class's
quality), how often the true class is among those whose quality the policy requires
("covered": the class chosen, or the runner-up when unsure), the time to classify one
prompt, and how often a chat message read right keeps its class when the request also
carries earlier turns or a system prompt (it is labelled by its last user turn).

    PYTHONPATH=. .venv/bin/python bench/classifier_report.py [--data-dir DIR] [--errors 10]
        [--blind]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gateway.routing.classifier import Classification, Classifier
from gateway.routing.policy import EPS
from gateway.routing.router import Hints, Router
from quantgate.profile import load_profile
from quantgate.profile.schema import UNSURE_BELOW
from quantgate.vocabulary import TASKS
from training.corpus import build, split

DATA = Path(__file__).with_name("data")
INDEPENDENT = DATA / "classifier_independent.jsonl"
# the sets nothing is fitted on, in the order they were written; a fresh set is committed
# before the change it checks
HELD_OUT = {
    "independent": INDEPENDENT,
    # (the fresh sets of sessions 5, 7 and 8 are training data now: training/data/natural.jsonl)
    # written before the reasoning, dialogue and general phrasings were widened again
    # (session 11), after a blind second labelling of the independent set: 10 per class
    "fresh4": DATA / "classifier_fresh4.jsonl",
    # written before more natural prompts were written for training (session 11): 10 per class
    "fresh5": DATA / "classifier_fresh5.jsonl",
    # written before a third batch of natural training prompts (session 11): 10 per class
    "fresh6": DATA / "classifier_fresh6.jsonl",
    # written before a fourth batch, mostly general prompts (session 11): 10 per class
    "fresh7": DATA / "classifier_fresh7.jsonl",
    # written before natural prompts were weighted above templated ones in training
    # (session 12): 10 per class
    "fresh8": DATA / "classifier_fresh8.jsonl",
    # written in session 16 before any change to the classifier's data: 10 per class
    "fresh9": DATA / "classifier_fresh9.jsonl",
    # written in session 18 before chats of every class entered the training corpus: every
    # prompt a chat of two or three user turns, labelled by its last (10 per class)
    "fresh10": DATA / "classifier_fresh10.jsonl",
    # written in session 19 before short follow-ups were read with the turn they follow:
    # every prompt a chat whose last turn (at most 40 characters) leans on an earlier one,
    # labelled by the task it continues (10 per class)
    "fresh11": DATA / "classifier_fresh11.jsonl",
    # written in session 19 after fresh11, as the clean test of the rule for short
    # follow-ups, which was settled on fresh11 before this set was read (10 per class)
    "fresh12": DATA / "classifier_fresh12.jsonl",
    # written in session 19 after the rule was settled: 90 chats ending in a short turn,
    # in each class 6-7 that lean on the turn before and 3 that ask something new after
    # another topic or small talk
    "fresh13": DATA / "classifier_fresh13.jsonl",
    # written in session 20 before any change was tried on it: 90 chats ending in a short
    # turn, in each class 6 that lean on the turn before (many read alone as another task:
    # "What if it was just a dollar?", "Even in hidden folders?") and 4 new requests after
    # another topic or small talk
    "fresh14": DATA / "classifier_fresh14.jsonl",
    # written in session 21 before any change was tried on it: 90 chats ending in a turn of
    # at most 40 characters, in each class 5 that lean on the turn before ("Double the
    # radius?", "Even if they're my boss?") and 5 new requests after another class's topic
    "fresh15": DATA / "classifier_fresh15.jsonl",
    # written in session 22 before any change was tried on it: 90 chats ending in a turn of
    # 41-120 characters (past the short follow-ups' 40), in each class 5 that lean on the
    # turn before ("Now only the customers with more than five orders, sorted by count
    # desc.") and 5 new requests in words of their own after another class's topic
    "fresh16": DATA / "classifier_fresh16.jsonl",
    # written in session 22 after fresh16's errors were read, and not run then: 90 chats
    # ending in turns of every length, in each class 5 that lean on the turn before (with
    # and without an opening word: "Do 5/16 too.", "Make it handle empty strings.") and 5
    # new requests after another class's topic
    "fresh17": DATA / "classifier_fresh17.jsonl",
    # written in session 23 after fresh17's errors were read (its baseline run), and checked
    # against training/ for shared 26-character phrases; committed before any change was
    # tried on it, then run once on each head to test reading past an opening thanks: 90
    # chats, in each class 5 that lean on the turn before (many opening with thanks:
    # "Cheers! What would its perimeter be, then?", "Make it more formal, ...") and 5 new
    # requests after another class's topic (some opening with thanks or "Different topic:")
    "fresh18": DATA / "classifier_fresh18.jsonl",
}
# written in session 23 after fresh18's errors were read, checked against training/ for shared
# 26-character phrases, and not run: 90 chats whose last turn mostly opens with thanks or a
# reaction ("Fair enough.", "Sweet!", "Much appreciated."), in each class 5 that lean on the
# turn before and 5 new requests after another class's topic. For the next change to how a
# turn's opening thanks is read (docs/routing.md); it moves to HELD_OUT once run
BLIND = {"fresh19": DATA / "classifier_fresh19.jsonl"}
# the independent set labelled a second time (session 11), from the class definitions in
# quantgate/vocabulary.py, blind to the first labels and to the classifier (prompts shuffled,
# labels hidden), one label per prompt in the file's order: how far the labels themselves agree
SECOND_LABELS = DATA / "classifier_independent.second_labels.json"
PROFILES = Path(__file__).resolve().parents[1] / "profiles"
# the demo's measured rules, and an 8B model's priors (Qllm-Eval), where the classes differ most
DECIDING = ("demo-llamacpp.yaml", "example-gpu-llama3-8b.yaml")
TARGETS = {"independent": 0.90, "in-corpus": 0.95}
CLASS_FLOOR = 0.80  # on the independent set


@dataclass
class Result:
    name: str
    truth: list[str]
    predicted: list[str]
    texts: list[str]
    unsure: int
    seconds: list[float]
    found: list[Classification] = field(default_factory=list)

    def covered(self, below: float) -> float:
        """How often the truth is among the classes whose quality the policy requires: the
        one chosen, and the runner-up when the confidence is below `below`."""
        hits = sum(
            t == f.task or (f.confidence < below and t == f.runner_up)
            for t, f in zip(self.truth, self.found, strict=True)
        )
        return hits / len(self.truth)

    def calibration_error(self, bins: int = 10) -> float:
        """Expected calibration error: the gap between confidence and accuracy, averaged
        over equal-width confidence bins, weighted by their share of prompts."""
        gap = 0.0
        for k in range(bins):
            inside = [
                (f.confidence, t == f.task)
                for t, f in zip(self.truth, self.found, strict=True)
                if k / bins < f.confidence <= (k + 1) / bins
            ]
            if inside:
                confidence = sum(c for c, _ in inside) / len(inside)
                accuracy = sum(ok for _, ok in inside) / len(inside)
                gap += len(inside) / len(self.truth) * abs(confidence - accuracy)
        return gap


def independent(path: Path = INDEPENDENT) -> list[tuple[str, dict[str, Any]]]:
    rows = [json.loads(x) for x in path.read_text().splitlines() if x.strip()]
    return [(r["label"], {k: v for k, v in r.items() if k != "label"}) for r in rows]


def rss_mb() -> float:
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def router_for(path: Path, classifier: Classifier, below: float) -> Router:
    """`path`'s profile's router, with `routing.unsure_below` = `below`."""
    profile = load_profile(path)
    routing = profile.routing.model_copy(update={"unsure_below": below})
    return Router(profile.model_copy(update={"routing": routing}), classifier=classifier)


def decisions(router: Router, cases: list[tuple[str, dict[str, Any]]]) -> tuple[float, float]:
    """What the labels are worth to routing: each prompt routed with the classifier, against
    the route its true class gets. The shares of prompts sent to another variant than the
    true class's: one below the profile's tolerance for the true class (silent quality loss),
    and one within it (served at another cost)."""
    silent = other = 0
    for label, body in cases:
        got = router.route(body, Hints()).decision
        true = router.route(body, Hints(task=label, task_source="header")).decision
        if got.chosen != true.chosen:
            quality = router.table[(label, got.band, got.chosen)].value
            if quality < 1 - got.tolerance - EPS:
                silent += 1
            else:
                other += 1
    return silent / len(cases), other / len(cases)


def run(name: str, cases: list[tuple[str, dict[str, Any]]], classifier: Classifier) -> Result:
    result = Result(name, [], [], [], 0, [])
    for label, body in cases:
        t0 = time.perf_counter()
        found = classifier.classify(body, explain=False)
        result.seconds.append(time.perf_counter() - t0)
        result.truth.append(label)
        result.predicted.append(found.task)
        result.unsure += found.unsure
        result.found.append(found)
        text = body.get("prompt") or body["messages"][-1]["content"]
        result.texts.append(text.replace("\n", " ")[:110])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--errors", type=int, default=10, help="misclassified examples to show")
    parser.add_argument("--blind", action="store_true", help="also the sets not yet run (BLIND)")
    args = parser.parse_args()
    from sklearn.metrics import confusion_matrix, f1_score

    corpus = split(build(args.data_dir), "test")
    before = rss_mb()
    from gateway.routing.embedding import default_embedding

    embedder = default_embedding()
    added = rss_mb() - before
    heads = {"first": Classifier.load(), "both": Classifier.load(embedder=embedder)}
    if heads["both"].stages != 2:
        raise SystemExit("the second stage is not available: see gateway/routing/embedding.py")
    print(f"second stage: static embedding loaded, {added:.0f} MB resident added")
    results = []
    named = [
        ("in-corpus", [(e.label, e.request()) for e in corpus]),
        *((name, independent(path)) for name, path in HELD_OUT.items()),
        *((name, independent(path)) for name, path in (BLIND if args.blind else {}).items()),
    ]
    for name, cases in named:
        for stage, classifier in heads.items():
            results.append(run(f"{name}/{stage}", cases, classifier))
    labels = list(TASKS)
    per_class = {
        r.name: f1_score(r.truth, r.predicted, labels=labels, average=None, zero_division=0)
        for r in results
    }
    print("F1 per class; first: the word/structure head alone, both: with the embedding (shipped)")
    print(f"{'class':>12} " + " ".join(f"{r.name:>22}" for r in results))
    for i, label in enumerate(labels):
        print(f"{label:>12} " + " ".join(f"{per_class[r.name][i]:>22.3f}" for r in results))
    macros = {
        r.name: f1_score(r.truth, r.predicted, labels=labels, average="macro") for r in results
    }
    print(f"{'macro-F1':>12} " + " ".join(f"{macros[r.name]:>22.3f}" for r in results))
    print(f"{'prompts':>12} " + " ".join(f"{len(r.truth):>22}" for r in results))
    print(f"{'unsure':>12} " + " ".join(f"{r.unsure / len(r.truth):>22.1%}" for r in results))
    # what the policy's quality check covers: the class chosen, and when unsure the runner-up
    print(f"{'covered':>12} " + " ".join(f"{r.covered(UNSURE_BELOW):>22.1%}" for r in results))
    print(f"{'ECE':>12} " + " ".join(f"{r.calibration_error():>22.3f}" for r in results))
    shipped = [r for r in results if r.name.endswith("/both")]
    print(
        "\nrouting.unsure_below (profile; default "
        f"{UNSURE_BELOW}): the share of prompts unsure / covered, shipped classifier"
    )
    print(f"{'below':>12} " + " ".join(f"{r.name.split('/')[0]:>22}" for r in shipped))
    for below in (0.5, 0.6, 0.7, 0.8, 0.9):
        cells = [
            f"{sum(f.confidence < below for f in r.found) / len(r.found):.0%} / "
            f"{r.covered(below):.1%}"
            for r in shipped
        ]
        print(f"{below:>12} " + " ".join(f"{c:>22}" for c in cells))
    for r in results:
        if not r.name.endswith("/both"):
            continue
        r.seconds.sort()
        p50, p99 = r.seconds[len(r.seconds) // 2], r.seconds[int(len(r.seconds) * 0.99)]
        print(f"\n{r.name}: classify p50 {p50 * 1e6:.0f} us, p99 {p99 * 1e6:.0f} us per prompt")
        print("confusion (rows: truth, columns: predicted)")
        print("            " + " ".join(f"{t[:6]:>6}" for t in labels))
        matrix = confusion_matrix(r.truth, r.predicted, labels=labels)
        for label, row in zip(labels, matrix, strict=True):
            print(f"{label:>11} " + " ".join(f"{n:>6}" for n in row))
        wrong = Counter((t, p) for t, p in zip(r.truth, r.predicted, strict=True) if t != p)
        common = ", ".join(f"{t}->{p} x{n}" for (t, p), n in wrong.most_common(6))
        print("most common confusions:", common)
        shown = [
            f"  {t} -> {p}: {text}"
            for t, p, text in zip(r.truth, r.predicted, r.texts, strict=True)
            if t != p
        ]
        print("\n".join(shown[: args.errors]))
    print()
    for name, target in TARGETS.items():
        got = macros[f"{name}/both"]
        verdict = "met" if got >= target else "NOT met"
        print(f"{name} macro-F1 {got:.3f} (target >= {target}: {verdict})")
    scores = per_class["independent/both"]
    low = [f"{c} {f:.2f}" for c, f in zip(labels, scores, strict=True) if f < CLASS_FLOOR]
    verdict = "met" if not low else "NOT met: " + ", ".join(low)
    print(f"independent: every class F1 >= {CLASS_FLOOR} ({verdict})")
    agreement(
        per_class["independent/both"], next(r for r in results if r.name == "independent/both")
    )
    in_context(heads["both"], {name: cases for name, cases in named if name != "in-corpus"})
    print(
        "\ndecisions (shipped classifier, profiles' tolerance): prompts sent below the tolerance "
        "for their true class (silent loss) / to another admissible variant"
    )
    sets = {name: cases for name, cases in named if name != "in-corpus"}
    print(f"{'profile, unsure_below':>34} " + " ".join(f"{n:>14}" for n in sets))
    for profile in DECIDING:
        for below in (UNSURE_BELOW, 0.8):
            cells = []
            router = router_for(PROFILES / profile, heads["both"], below)
            for cases in sets.values():
                silent, other = decisions(router, cases)
                cells.append(f"{silent:.1%} / {other:.1%}")
            label = f"{profile.removesuffix('.yaml')}, {below}"
            print(f"{label:>34} " + " ".join(f"{c:>14}" for c in cells))


# what real chat requests carry before the question: earlier turns, a system prompt
EARLIER = [
    [("user", "Hey there!"), ("assistant", "Hi! What's on your mind?")],
    [
        ("user", "Can I ask you a few things today?"),
        ("assistant", "Of course, ask away."),
        ("user", "Great, thanks. Busy week."),
        ("assistant", "Sounds like it! Happy to help."),
    ],
]
SYSTEMS = ["You are a helpful assistant.", "You are a concise assistant for Acme support."]


def in_context(classifier: Classifier, sets: dict[str, list[tuple[str, dict[str, Any]]]]) -> None:
    """How often a single chat message read right keeps its class when the same request
    carries earlier turns, or a system prompt: it is labelled by its last user turn, so it
    should."""
    print(
        "\nin context: single chat messages read right that keep their class after earlier "
        "turns / after a system prompt (shipped classifier)"
    )
    for name, cases in sets.items():
        alone = [
            (label, body["messages"])
            for label, body in cases
            if len(body.get("messages") or ()) == 1 and body["messages"][0]["role"] == "user"
        ]
        right = [(t, m) for t, m in alone if classifier.classify({"messages": m}).task == t]
        if not right:  # a set of chats only (fresh10 and later)
            continue
        kept = {"earlier": [0, 0], "system": [0, 0]}
        for task, messages in right:
            for turns in EARLIER:
                earlier = [{"role": r, "content": c} for r, c in turns]
                kept["earlier"][0] += (
                    classifier.classify({"messages": earlier + messages}).task == task
                )
                kept["earlier"][1] += 1
            for system in SYSTEMS:
                body = {"messages": [{"role": "system", "content": system}, *messages]}
                kept["system"][0] += classifier.classify(body).task == task
                kept["system"][1] += 1
        cells = " / ".join(f"{k}/{n} ({k / max(n, 1):.0%})" for k, n in kept.values())
        print(f"{name:>12}: {cells}")


def agreement(shipped: Any, result: Result) -> None:
    """The independent labels against a second, blind labelling: the ceiling a classifier
    can be held to, and the shipped classifier on the prompts both labellings agree on."""
    from sklearn.metrics import cohen_kappa_score, f1_score

    second = json.loads(SECOND_LABELS.read_text())
    first = result.truth
    labels = list(TASKS)
    kappa = cohen_kappa_score(first, second)
    macro = f1_score(first, second, labels=labels, average="macro")
    per = f1_score(first, second, labels=labels, average=None)
    same = [i for i, (a, b) in enumerate(zip(first, second, strict=True)) if a == b]
    agreed = f1_score(
        [first[i] for i in same],
        [result.predicted[i] for i in same],
        labels=labels,
        average="macro",
    )
    print(
        f"\nlabels: a second, blind labelling of the independent set agrees on "
        f"{len(same) / len(first):.1%} (macro-F1 {macro:.3f} against the first, kappa "
        f"{kappa:.3f}); per class "
        + ", ".join(f"{c} {f:.2f}" for c, f in zip(labels, per, strict=True))
    )
    against = f1_score(second, result.predicted, labels=labels, average="macro")
    print(
        f"shipped classifier: macro-F1 {against:.3f} "
        f"against the second labelling, {agreed:.3f} on the {len(same)} prompts both agree on "
        f"(against the first: {sum(shipped) / len(shipped):.3f})"
    )


if __name__ == "__main__":
    main()
