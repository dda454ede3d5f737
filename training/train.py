"""Fit the task classifier's weights: `python -m training.train` (offline; not shipped).

Multinomial logistic regression (scikit-learn, a dev dependency), two heads:
- the first over the named features of `gateway/routing/features.py`, the word features cut
  to the most class-informative ones (chi-squared on the train split);
- the second over the same features plus the text's static embedding
  (gateway/routing/embedding.py), scaled by a factor chosen with the regularization.
The regularization (and the scale) is chosen across phrasing families (fit on the prompts
built from datasets, predict the written ones, and the other way round, train + dev pooled),
each head is refit on train + dev, and the test split is never read here
(bench/classifier_report.py reports on it, and on the independent and fresh sets, which
nothing here reads either). Writes gateway/routing/classifier.json:
plain numbers the gateway scores in Python (first head) and numpy (second).
Training data and its provenance: training/SOURCES.md.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from gateway.routing.embedding import default_embedding
from gateway.routing.features import features, window
from quantgate.vocabulary import TASKS
from training.corpus import build, split

OUT = Path(__file__).resolve().parents[1] / "gateway" / "routing" / "classifier.json"
WORDS = 400
C_GRID = (0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
SCALES = (1.0, 2.0, 4.0)  # the unit-length embedding's weight against the binary features


def fit(data_dir: Path | None = None, out: Path = OUT) -> dict[str, Any]:
    import numpy
    from scipy.sparse import csr_matrix, hstack
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

    def matrix(rows: list[dict[str, float]], vectors: Any = None, scale: float = 0.0) -> Any:
        x = vec.transform(cut(rows))
        return x if vectors is None else hstack([x, csr_matrix(vectors * scale)]).tocsr()

    # selection across phrasing families, not within them: fit on the prompts built from
    # datasets and predict the written ones, then the other way round (train + dev pooled).
    # A split by record keeps one template's prompts on both sides and rewards memory
    # (dev macro-F1 0.98, independent prompts 0.82)
    pool, y_pool = train + dev, numpy.array(y_train + y_dev)
    written = numpy.array([e.source.startswith("written:") for e in pool])

    def choose(grid: list[tuple[float, float]], vectors: Any = None) -> tuple[float, float, float]:
        best = (-1.0, 0.0, 0.0)
        for c, scale in grid:
            x = matrix(x_train + x_dev, vectors, scale)
            predicted = numpy.zeros_like(y_pool)
            for held in (written, ~written):
                model = LogisticRegression(C=c, max_iter=5000).fit(x[~held], y_pool[~held])
                predicted[held] = model.predict(x[held])
            f1 = float(f1_score(y_pool, predicted, average="macro"))
            print(f"C={c:<5g} scale={scale:<4g} across-families macro-F1 {f1:.3f}")
            best = max(best, (f1, c, scale))
        return best

    def head(best: tuple[float, float, float], vectors: Any = None) -> dict[str, Any]:
        model = LogisticRegression(C=best[1], max_iter=5000).fit(
            matrix(x_train + x_dev, vectors, best[2]), y_train + y_dev
        )
        names = list(vec.get_feature_names_out())
        weights = {
            name: [round(float(model.coef_[k][j]), 4) for k in range(len(classes))]
            for j, name in enumerate(names)
        }
        out: dict[str, Any] = {
            "bias": [round(float(b), 4) for b in model.intercept_],
            "weights": {n: w for n, w in sorted(weights.items()) if any(w)},
        }
        if vectors is not None and embedder is not None:
            out["embedding"] = {
                "digest": embedder.digest,
                "scale": best[2],
                "weights": [
                    [round(float(model.coef_[k][len(names) + d]), 4) for k in range(len(classes))]
                    for d in range(vectors.shape[1])
                ],
            }
        return out

    print("first head: named features")
    first_best = choose([(c, 0.0) for c in C_GRID])
    first = head(first_best)
    print("second head: named features + static embedding")
    embedder = default_embedding()
    if embedder is None:
        raise SystemExit(
            "the second head needs the embedding package (see gateway/routing/embedding.py)"
        )
    vectors = numpy.array([embedder.embed(window(e.request())) for e in train + dev])
    second_best = choose([(c, s) for c in C_GRID for s in SCALES], vectors)
    second = head(second_best, vectors)
    result = {
        "classes": classes,
        **first,
        "second": second,
        "fit": {
            "model": "multinomial logistic regression (scikit-learn), two heads",
            "first": {"C": first_best[1], "across_families_macro_f1": round(first_best[0], 4)},
            "second": {
                "C": second_best[1],
                "scale": second_best[2],
                "across_families_macro_f1": round(second_best[0], 4),
            },
            "train_examples": len(train),
            "dev_examples": len(dev),
        },
    }
    out.write_text(json.dumps(result, indent=0) + "\n")
    print(
        f"wrote {out}: first head {len(first['weights'])} features (across-families macro-F1 "
        f"{first_best[0]:.3f}), second head + embedding ({second_best[0]:.3f})"
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=None)
    args = parser.parse_args()
    fit(args.data_dir)


if __name__ == "__main__":
    main()
