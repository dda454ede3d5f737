"""The task classifier on its held-out test split: per-class precision, recall, F1.

The split is built from ../shared/datasets (training/corpus.py) by a seeded
hash of each source record; training and the choice of regularization never read it.
Target: macro-F1 >= 0.90.

    .venv/bin/python bench/classifier_report.py [--data-dir DIR] [--errors 10]
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from pathlib import Path

from gateway.routing.classifier import default_classifier
from quantgate.vocabulary import TASKS
from training.corpus import build, split

TARGET = 0.90


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--errors", type=int, default=10, help="misclassified examples to show")
    args = parser.parse_args()
    from sklearn.metrics import classification_report, confusion_matrix, f1_score

    examples = build(args.data_dir)
    test = split(examples, "test")
    classifier = default_classifier()
    predicted, seconds = [], []
    for e in test:
        t0 = time.perf_counter()
        predicted.append(classifier.classify(e.request()).task)
        seconds.append(time.perf_counter() - t0)
    truth = [e.label for e in test]
    labels = list(TASKS)
    print(f"held-out test split: {len(test)} of {len(examples)} prompts (never seen in training)")
    print(classification_report(truth, predicted, labels=labels, digits=3, zero_division=0))
    print("confusion (rows: truth, columns: predicted)")
    print("            " + " ".join(f"{t[:6]:>6}" for t in labels))
    for label, row in zip(labels, confusion_matrix(truth, predicted, labels=labels), strict=True):
        print(f"{label:>11} " + " ".join(f"{n:>6}" for n in row))
    macro = f1_score(truth, predicted, labels=labels, average="macro")
    seconds.sort()
    p50, p99 = seconds[len(seconds) // 2], seconds[int(len(seconds) * 0.99)]
    print(f"\nclassify: p50 {p50 * 1e6:.0f} us, p99 {p99 * 1e6:.0f} us per prompt")
    wrong = Counter((t, p) for t, p in zip(truth, predicted, strict=True) if t != p)
    print(
        "most common confusions:", ", ".join(f"{t}->{p} x{n}" for (t, p), n in wrong.most_common(6))
    )
    shown = 0
    for e, p in zip(test, predicted, strict=True):
        if e.label != p and shown < args.errors:
            text = (e.prompt or e.messages[-1]["content"]).replace("\n", " ")[:110]
            print(f"  {e.label} -> {p} [{e.source}]: {text}")
            shown += 1
    verdict = "met" if macro >= TARGET else "NOT met"
    print(f"\nmacro-F1 {macro:.3f} (target >= {TARGET}: {verdict})")


if __name__ == "__main__":
    main()
