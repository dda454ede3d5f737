"""Fit the task classifier's weights: `python -m training.train` (offline; not shipped).

Multinomial logistic regression (scikit-learn, a dev dependency) over the named features of
`gateway/routing/features.py`; the word features are cut to the most class-informative ones
(chi-squared on the train split). The regularization is chosen on the dev split, the model is
refit on train + dev, and the test split is never read here (bench/classifier_report.py
reports on it). Writes gateway/routing/classifier.json: plain numbers the gateway scores in
pure Python.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from gateway.routing.features import features
from quantgate.vocabulary import TASKS
from training.corpus import build, split

OUT = Path(__file__).resolve().parents[1] / "gateway" / "routing" / "classifier.json"
WORDS = 400
C_GRID = (0.3, 1.0, 3.0, 10.0)


def fit(data_dir: Path | None = None, out: Path = OUT) -> dict[str, Any]:
    import numpy
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.feature_selection import chi2
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score

    examples = build(data_dir)
    train, dev = split(examples, "train"), split(examples, "dev")
    classes = list(TASKS)

    def xy(rows: list[Any]) -> tuple[list[dict[str, float]], list[int]]:
        return [features(e.request()) for e in rows], [classes.index(e.label) for e in rows]

    x_train, y_train = xy(train)
    x_dev, y_dev = xy(dev)
    vocab = DictVectorizer().fit(x_train)
    names = vocab.get_feature_names_out()
    scores = numpy.nan_to_num(chi2(vocab.transform(x_train), y_train)[0])
    words = sorted(
        (n for n in names if n.startswith("word:")), key=lambda n: -scores[vocab.vocabulary_[n]]
    )[:WORDS]
    keep = {n for n in names if not n.startswith("word:")} | set(words)

    def cut(rows: list[dict[str, float]]) -> list[dict[str, float]]:
        return [{k: v for k, v in r.items() if k in keep} for r in rows]

    vec = DictVectorizer().fit(cut(x_train))
    best: tuple[float, float] = (-1.0, C_GRID[0])
    for c in C_GRID:
        model = LogisticRegression(C=c, max_iter=3000).fit(vec.transform(cut(x_train)), y_train)
        f1 = float(f1_score(y_dev, model.predict(vec.transform(cut(x_dev))), average="macro"))
        print(f"C={c:<5g} dev macro-F1 {f1:.3f}")
        best = max(best, (f1, c))
    model = LogisticRegression(C=best[1], max_iter=3000).fit(
        vec.transform(cut(x_train + x_dev)), y_train + y_dev
    )
    weights = {
        name: [round(float(model.coef_[k][j]), 4) for k in range(len(classes))]
        for j, name in enumerate(vec.get_feature_names_out())
    }
    result = {
        "classes": classes,
        "bias": [round(float(b), 4) for b in model.intercept_],
        "weights": {n: w for n, w in sorted(weights.items()) if any(w)},
        "fit": {
            "model": "multinomial logistic regression (scikit-learn)",
            "C": best[1],
            "dev_macro_f1": round(best[0], 4),
            "train_examples": len(train),
            "dev_examples": len(dev),
        },
    }
    out.write_text(json.dumps(result, indent=0) + "\n")
    print(f"wrote {out} ({len(weights)} features; C={best[1]}, dev macro-F1 {best[0]:.3f})")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=None)
    args = parser.parse_args()
    fit(args.data_dir)


if __name__ == "__main__":
    main()
