"""What the classifier reads of a text, remembered per whitespace-separated piece.

Both of its inputs from a text are made piece by piece: the words that carry a weight (no
word spans whitespace) and, for the second head, the WordPiece ids (BERT's pre-tokenizer
splits at whitespace first). A request's pieces were mostly seen before, so the text is
split once, each piece is looked up once (`map` in C), and only the unseen ones are read:
their words by one regex, their ids all at once by the embedding. The table is bounded: it
restarts when full, keeping the text's own pieces. Its values are pairs of tuples of
strings and ints, which the garbage collector stops tracking once it has passed over them
(twice at most: a pair reached before its tuples waits for the next pass); lists it would
walk for good.
"""

from __future__ import annotations

from itertools import chain
from operator import itemgetter
from typing import Any

from gateway.routing.embedding import MAX_TOKENS
from gateway.routing.features import every_word

CACHED_PIECES = 50_000  # distinct pieces remembered (~10 MB with their ids)

Read = tuple[tuple[str, ...], tuple[int, ...]]  # a piece's words in the vocabulary, its ids
_words, _ids = itemgetter(0), itemgetter(1)


class Reader:
    def __init__(self, vocabulary: frozenset[str], embedder: Any = None) -> None:
        """`embedder`: a StaticEmbedding, whose token ids are read too; None: words only."""
        self.vocabulary = vocabulary
        self.embedder = embedder
        self.pieces: dict[str, Read] = {}

    def __call__(self, text: str) -> tuple[set[str], list[int]]:
        """The text's words in the vocabulary (`every_word` of it, lower-cased) and its
        token ids, at most MAX_TOKENS (those of the tokenizer on the whole text)."""
        pieces = text.split()
        found: list[Any] = list(map(self.pieces.get, pieces))  # Read, None when unseen
        if None in found:  # a piece not seen yet (or the table was just restarted)
            found = self._read(pieces, found)
        words = set().union(*map(_words, found))
        ids = list(chain.from_iterable(map(_ids, found)))[:MAX_TOKENS]
        return words, ids

    def _read(self, pieces: list[str], found: list[Any]) -> list[Any]:
        known, vocabulary = self.pieces, self.vocabulary
        missing = list(dict.fromkeys(p for p, f in zip(pieces, found, strict=True) if f is None))
        ids = self.embedder.encode_pieces(missing) if self.embedder is not None else {}
        fresh = {
            p: (tuple(vocabulary.intersection(every_word(p.lower()))), tuple(ids.get(p, ())))
            for p in missing
        }
        if len(known) + len(fresh) > CACHED_PIECES:  # restart, keeping this text's
            kept = {p: f for p, f in zip(pieces, found, strict=True) if f is not None}
            known.clear()
            known.update(kept)
        known.update(fresh)
        return [fresh[p] if f is None else f for p, f in zip(pieces, found, strict=True)]
