"""A SentencePiece BPE tokenizer's count of a text, summed over its pieces, each remembered.

A BPE merges two adjacent symbols only when their concatenation is in the vocabulary, so no
token ever spans a place in the text that no vocabulary piece spans. Such places are
everywhere:
- before a space (`▁` once normalized) that follows a character `c`, unless some piece
  contains `c▁` (of Gemma's 262k pieces one does, `>▁</`: the "glue" characters are computed
  from the vocabulary, added tokens included);
- on both sides of a run of a "separator": a character that no BPE piece contains and that
  added tokens hold only as runs of itself (Gemma's newlines and tabs), so added-token
  matching takes every run out before BPE sees the text.
Cut there, a text's tokens are its pieces' tokens, in order, so its count is the sum of
theirs. And where BPE never merges a digit (Gemma's vocabulary: each digit is a token of its
own, so nothing merges across one either), a text counts the same with any digit in place
of another: every digit is counted as `0`, and a record's fresh numbers are pieces seen
before (`_zeros` says when it is safe).

Words and lines recur, from one request to the next (a chat resends its history), so their
counts are remembered (bounded), and a prompt costs a split and dictionary lookups. The
pieces not seen before, from all of a text's lines at once, go to the BPE model directly
when no added token can occur in them (~3x cheaper than the whole pipeline), else through
the whole tokenizer, in one call. A line
without glue, `▁` or tabs (most text) is cut with `str.split(" ")` and its words looked up in
C (`sum(map(...))`), without making a piece per word: a word after a space is remembered
under itself, its space implied (`tails`), and the spaces of a run but its first are held
as `HOLD` first, so that the split leaves the run to the word that follows it.
bench/routing_cost.py measures it against whole-text counting.

Exact only for the shape `quantgate.gguf_tokenizer` writes (spaces replaced by `▁`, no
pre-tokenizer, a BPE model): `for_tokenizer` returns None for anything else (a prefix space,
a pre-tokenizer), and the caller counts whole texts. The integration tests check the sum
against llama.cpp on every dataset's prompts and on texts made of the awkward characters.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from itertools import pairwise
from typing import Any

SPACE, META, NEWLINE = " ", "\u2581", "\n"
SEPARATOR_CANDIDATES = "\n\t"
HOLD = "\0"  # stands for a space inside a run of spaces, in `tails`' keys (see the module)
DIGITS = "0123456789"
ZEROS = bytes.maketrans(DIGITS[1:].encode(), b"0" * 9)  # ASCII digits never occur inside a
# UTF-8 sequence for another character, so the bytes can be rewritten as they are
CACHED_PIECES = 50_000  # distinct pieces remembered (~5 MB), and as many words in `tails`;
# a cache restarts when full, keeping those of the text being counted
CACHED_LINE_CHARS = 2_000_000  # characters of whole lines remembered (2-8 MB), as well
LONGEST_LINE = 4096  # characters; a longer line is summed from its pieces, not remembered


class PieceCounter:
    """Counts a text's tokens (special tokens included) as the sum of its pieces' counts."""

    def __init__(self, tokenizer: Any, vocabulary: list[str], added: list[str]) -> None:
        self.tokenizer = tokenizer  # tokenizers.Tokenizer
        self.specials = len(tokenizer.encode_batch_fast([""])[0].ids)  # BOS, if added
        self.glue = glue([*vocabulary, *added])
        self.separators = separators(vocabulary, added)
        spaces, seps = f"[ {META}]", re.escape(self.separators)
        word = f"[^ {META}{seps}]"
        runs = [f"{re.escape(s)}+" for s in self.separators]
        plain = [*runs, f"{spaces}*{word}+", f"{spaces}+"]
        self._plain_pieces = re.compile("|".join(plain)).findall
        self._glued_pieces = self._plain_pieces
        if self.glue:  # a glue character followed by spaces keeps them and what follows
            kept = f"[{re.escape(''.join(sorted(self.glue)))}]"
            glued = f"{spaces}*(?:{word}*{kept}{spaces}+)+{word}*"
            self._glued_pieces = re.compile("|".join([*runs, glued, *plain[-2:]])).findall
        self._glue_pairs = [g + s for g in sorted(self.glue) for s in (SPACE, META)]
        self._not_simple = ["  ", META, *self.separators, *self._glue_pairs]
        # (newlines: the lines are cut first, when a newline is a separator)
        self._not_words = [META, *self.separators.replace(NEWLINE, ""), *self._glue_pairs, HOLD]
        # a piece in which no added token can start goes straight to the BPE model: none of
        # their first characters in it, past a leading space that no added token continues
        starts = "".join(sorted({t[0] for t in added if t})) or "\0"
        self._added_in = re.compile(f"[{re.escape(starts)}]").search
        self._after_space = {t[1] for t in added if t[:1] == SPACE and len(t) > 1}
        self._model_ok = SPACE not in added
        # digits all counted as 0 (see the module), unless the text may hold an added token
        # with a digit in it: these are what comes before its first digit (`<unused`)
        isolated = isolated_digits(vocabulary) and not getattr(tokenizer.model, "ignore_merges", 1)
        self._digit_added = digit_added(added) if isolated else None
        self.known: dict[str, int] = {}  # piece -> tokens
        self.tails: dict[str, int] = {}  # word -> tokens of " " + word (HOLD as a space)
        # whole lines too: a chat resends its history, line for line (cut at runs of
        # newlines, when a newline is a separator: no token spans one)
        self._lines = split_lines if NEWLINE in self.separators else None
        self.lines: dict[str, int] = {}  # line (or a run of newlines) -> tokens
        self._line_chars = 0

    @classmethod
    def for_tokenizer(cls, tokenizer: Any) -> PieceCounter | None:
        """A counter for `tokenizer` if its shape allows one (see the module), else None."""
        from tokenizers.models import BPE

        replace = {"type": "Replace", "pattern": {"String": SPACE}, "content": META}
        normalizer = json.loads(tokenizer.normalizer.__getstate__()) if tokenizer.normalizer else {}
        steps = normalizer.get("normalizers", [normalizer])
        if steps != [replace] or tokenizer.pre_tokenizer is not None:
            return None
        if not isinstance(tokenizer.model, BPE):
            return None
        added = [t.content for t in tokenizer.get_added_tokens_decoder().values()]
        return cls(tokenizer, list(tokenizer.get_vocab(with_added_tokens=False)), added)

    def bounds(self, size: int) -> tuple[int, int]:
        """The fewest and the most tokens a text of `size` UTF-8 bytes counts: at least the
        special tokens (or 1), at most one more token per byte. In this shape (a space becomes
        `▁`, nothing else is rewritten, nothing prepended) each token but the special ones
        stands for at least one byte of the text: a character, or one byte of it when the
        vocabulary falls back to bytes."""
        return max(1, self.specials), size + self.specials

    def pieces(self, text: str) -> list[str]:
        """`text` cut where no token can span (see the module)."""
        if not any(a in text for a in self._not_simple):
            words = text.split(SPACE)  # the common case: single spaces, one line
            tail = [SPACE + w for w in words[1:]]
            return [words[0], *tail] if words[0] else tail
        if any(a in text for a in self._glue_pairs):
            return self._glued_pieces(text)
        return self._plain_pieces(text)

    def _zeros(self, text: str) -> str:
        """`text` with its digits all `0` where that keeps the count, else `text`."""
        heads = self._digit_added
        if heads is None or any(h in text for h in heads):
            return text
        return text.encode(errors="surrogatepass").translate(ZEROS).decode(errors="surrogatepass")

    def __call__(self, text: str) -> int:
        text = self._zeros(text)
        # cut at spaces unless a glue pair, `▁` or a separator but the newline (the lines are
        # cut first) is there: looked for in the whole text, then in each line if found
        words = None if any(a in text for a in self._not_words) else True
        if self._lines is None:
            return self.specials + self._sums([text], words)[0]
        lines, known = self._lines(text), self.lines
        try:  # a chat's history: every line seen
            return self.specials + sum(map(known.__getitem__, lines))
        except KeyError:
            pass
        counts, fresh = {}, []  # this text's lines (its own copy: another thread may restart
        for line in dict.fromkeys(lines):  # the cache meanwhile)
            n = known.get(line)
            if n is None:
                fresh.append(line)
            else:
                counts[line] = n
        for line, n in zip(fresh, self._sums(fresh, words), strict=True):
            counts[line] = n
            if len(line) <= LONGEST_LINE:
                if self._line_chars > CACHED_LINE_CHARS:
                    known.clear()
                    self._line_chars = 0
                known[line] = n
                self._line_chars += len(line)
        return self.specials + sum(map(counts.__getitem__, lines))

    def _sums(self, texts: list[str], words: bool | None) -> list[int]:
        """The tokens of each text's pieces, special tokens not counted; `words`: whether
        they can be cut at spaces (see the module), None: not known. The pieces none of them
        was seen with are counted together, in one call."""
        keys = [self._keys(text, words) for text in texts]
        known, tails = self.known, self.tails
        sums: list[int | None] = []
        for heads, rest in keys:
            try:  # in C: on a long text, a loop in Python costs more than the BPE
                sums.append(sum(map(known.__getitem__, heads)) + sum(map(tails.__getitem__, rest)))
            except KeyError:  # not seen yet (or the cache just restarted)
                sums.append(None)
        short = [k for k, n in zip(keys, sums, strict=True) if n is None]
        if not short:
            return sums  # type: ignore[return-value]
        self._learn(
            (known, [h for heads, _ in short for h in heads], _same),
            (tails, [t for _, rest in short for t in rest], _tail),
        )
        return [
            self._sum(known, heads, _same) + self._sum(tails, rest, _tail) if n is None else n
            for (heads, rest), n in zip(keys, sums, strict=True)
        ]

    def _keys(self, text: str, words: bool | None) -> tuple[list[str], list[str]]:
        """`text`'s pieces: those remembered in `known`, and the words remembered in
        `tails` (see the module)."""
        if words is None:
            words = not any(a in text for a in self._not_words)
        if not words:
            return self.pieces(text), []
        if "  " in text:  # every space of a run but the first held: the run stays one piece
            text = text.replace("  ", SPACE + HOLD).replace(HOLD + SPACE, HOLD + HOLD)
        head, *tails = text.split(SPACE)
        return ([head] if head else []), tails

    def _learn(self, *wanted: tuple[dict[str, int], list[str], Callable[[str], str]]) -> None:
        """Count what each cache lacks of its keys (`piece` makes the text of a key), all in
        one call, and remember it; a full cache restarts, keeping its keys."""
        texts = [
            (known, keys, {k: piece(k) for k in set(keys).difference(known)})
            for known, keys, piece in wanted
        ]
        counted = self._encode(list({t for *_, new in texts for t in new.values()}))
        for known, keys, new in texts:
            if len(known) + len(new) > CACHED_PIECES:  # restart, keeping this text's
                kept = {k: n for k in keys if (n := known.get(k)) is not None}
                known.clear()
                known.update(kept)
            known.update((k, counted[t]) for k, t in new.items())

    def _sum(self, known: dict[str, int], keys: list[str], piece: Callable[[str], str]) -> int:
        """The sum of the tokens of `keys`, remembered in `known` (`_learn`)."""
        try:
            return sum(map(known.__getitem__, keys))
        except KeyError:
            # forgotten meanwhile: a long prompt is counted in a worker thread while the
            # event loop counts others, and either may restart the cache
            total = 0
            for k in keys:
                if (n := known.get(k)) is None:
                    n = self._encode([piece(k)])[piece(k)]
                total += n
            return total

    def _plain(self, piece: str) -> bool:
        body = piece[1:] if piece[:1] == SPACE else piece
        if body is not piece and body[:1] in self._after_space:
            return False
        return self._added_in(body) is None

    def _encode(self, pieces: list[str]) -> dict[str, int]:
        """Each piece's tokens, without special tokens."""
        plain = [p for p in pieces if self._plain(p)] if self._model_ok else []
        tokenize = self.tokenizer.model.tokenize
        out = {p: len(tokenize(p.replace(SPACE, META))) for p in plain}
        rest = [p for p in pieces if p not in out]
        encoded = self.tokenizer.encode_batch_fast(rest, add_special_tokens=False)
        out.update((p, len(e.ids)) for p, e in zip(rest, encoded, strict=True))
        return out


def _same(key: str) -> str:
    return key


def _tail(word: str) -> str:
    """The piece a word of `tails` stands for."""
    return SPACE + word.replace(HOLD, SPACE)


def glue(pieces: list[str]) -> set[str]:
    """Characters that some piece joins to a following space: no cut may follow them."""
    found = set()
    for piece in pieces:
        if SPACE in piece[1:] or META in piece[1:]:
            for a, b in pairwise(piece):
                if b in (SPACE, META) and a not in (SPACE, META):
                    found.add(a)
    return found


def separators(vocabulary: list[str], added: list[str]) -> str:
    """The candidates that no BPE piece contains (the model's vocabulary lists the added
    tokens too: they are not BPE pieces) and added tokens hold only as runs."""
    found, whole = "", set(added)
    for c in SEPARATOR_CANDIDATES:
        if any(c in p and p not in whole for p in vocabulary):
            continue
        if all(t == c * len(t) for t in added if c in t):
            found += c
    return found


def isolated_digits(vocabulary: list[str]) -> bool:
    """Whether BPE leaves each ASCII digit a token of its own: all ten are pieces, and no
    longer piece with a digit in it can be made by a merge (a merge joins two pieces of the
    vocabulary into a third). A digit then never merges, so its neighbours never merge
    across it, and a text's count does not depend on which digits it has. (A model that
    takes whole words from its vocabulary before merging, `ignore_merges`, is never asked.)"""
    pieces = set(vocabulary)
    if not pieces.issuperset(DIGITS):
        return False
    has_digit = re.compile("[0-9]").search
    return not any(
        len(piece) > 1
        and has_digit(piece)
        and any(piece[:i] in pieces and piece[i:] in pieces for i in range(1, len(piece)))
        for piece in vocabulary
    )


def digit_added(added: list[str]) -> list[str] | None:
    """What comes before the first digit of each added token with a digit in it (a text
    without any of them holds no such token, whatever its digits); None when one starts with
    a digit (then no text is safe)."""
    digit = re.compile("[0-9]")
    heads = {t[: m.start()] for t in added if (m := digit.search(t))}
    return None if "" in heads else sorted(heads)


def split_lines(text: str) -> list[str]:
    """`text`'s lines and the runs of newlines between them, in order, none empty (a
    `str.split` and a loop over the lines: a fifth of what `re.split` costs on 16k
    characters)."""
    parts = text.split(NEWLINE)
    out, run, last = [], 0, len(parts) - 1
    for i, part in enumerate(parts):
        if i:
            run += 1
        if part or i == last:
            if run:
                out.append(NEWLINE * run)
                run = 0
            if part:
                out.append(part)
    return out
