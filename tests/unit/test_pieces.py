"""Counting a SentencePiece BPE text piece by piece: the sum is the whole text's count."""

from __future__ import annotations

import json
import random
import re

import pytest
from tokenizers import Tokenizer

from gateway.routing import pieces as pieces_module
from gateway.routing.pieces import PieceCounter, glue, split_lines
from quantgate.gguf_tokenizer import BYTE, CONTROL, NORMAL, UNKNOWN, USER_DEFINED
from tests.unit.sentencepiece import tokenizer

META = "\u2581"
# a vocabulary where one piece spans a space: "a▁b" (as Gemma's ">▁</" does)
PIECES = [
    ("<unk>", 0.0, UNKNOWN),
    ("<bos>", 0.0, CONTROL),
    ("  ", -1000.0, USER_DEFINED),
    ("\n", -1000.0, USER_DEFINED),
    *((f"<0x{b:02X}>", 0.0, BYTE) for b in range(256)),
    (META, -1.0, NORMAL),
    ("a", -2.0, NORMAL),
    ("b", -3.0, NORMAL),
    ("c", -4.0, NORMAL),
    (f"a{META}", -5.0, NORMAL),
    (f"a{META}b", -6.0, NORMAL),
    (f"{META}b", -7.0, NORMAL),
    (f"{META}c", -8.0, NORMAL),
    ("bc", -9.0, NORMAL),
    (f"{META}bc", -10.0, NORMAL),
]


def build(**flags: object) -> Tokenizer:
    return tokenizer(PIECES, **flags)


def whole(tok: Tokenizer, text: str) -> int:
    return len(tok.encode(text).ids)


def test_the_glue_is_what_a_piece_joins_to_a_following_space() -> None:
    assert glue(["a\u2581b", "\u2581c", "\u2581\u2581", "x y", "zz"]) == {"a", "x"}
    tok = build()
    counter = PieceCounter.for_tokenizer(tok)
    assert counter is not None and counter.glue == {"a"} and counter.specials == 1
    # no cut after "a": "a b" is one token, as in the whole text
    assert counter.pieces("c a b bc") == ["c", " a b", " bc"]
    assert counter("c a b") == whole(tok, "c a b") == 4  # <bos> c ▁ a▁b
    assert counter.pieces("c b bc") == ["c", " b", " bc"]  # plain: split at single spaces
    assert counter.pieces(" b  c ") == [" b", "  c", " "]
    # newlines (an added token made of newlines only, in no BPE piece) and tabs (nowhere)
    # separate pieces; spaces before them stay a piece of their own
    assert counter.separators == "\n\t"
    assert counter.pieces("c b\n\nbc  \tb a b") == [
        "c",
        " b",
        "\n\n",
        "bc",
        "  ",
        "\t",
        "b",
        " a b",
    ]


def test_the_sum_of_the_pieces_is_the_whole_count_on_any_text() -> None:
    tok = build()
    counter = PieceCounter.for_tokenizer(tok)
    assert counter is not None
    rng = random.Random(0)
    alphabet = ["a", "b", "c", " ", "  ", META, "\n", "\t", "é", "x", "ab", "a b", "a\n", "\0"]
    texts = [
        "",
        " ",
        "a ",
        " a",
        "  ",
        *("".join(rng.choices(alphabet, k=rng.randrange(12))) for _ in range(3000)),
    ]
    assert [counter(t) for t in texts] == [whole(tok, t) for t in texts]
    added = [t.content for t in tok.get_added_tokens_decoder().values()]
    fresh = PieceCounter(tok, [], added)  # one that ignored the glue would cut "a b" apart
    assert fresh("c a b") != whole(tok, "c a b")


def test_the_cache_restarts_when_full_and_counts_stay_exact(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(pieces_module, "CACHED_PIECES", 3)
    tok = build()
    counter = PieceCounter.for_tokenizer(tok)
    assert counter is not None
    for text in ["a b c", "bc c b a", "c c c", "b bc a b", "a b", "b c bc  c b   bc"]:
        assert counter(text) == whole(tok, text)
        # a restart keeps what the text being counted has
        kept = max(3, len(set(counter.pieces(text))))
        assert len(counter.known) <= kept and len(counter.tails) <= kept


def test_other_shapes_are_counted_whole() -> None:
    assert PieceCounter.for_tokenizer(build(add_space_prefix=True)) is None  # a prefix space
    document = json.loads(build().to_str())
    document["pre_tokenizer"] = {
        "type": "Metaspace",
        "replacement": META,
        "prepend_scheme": "first",
        "split": True,
    }
    assert PieceCounter.for_tokenizer(Tokenizer.from_str(json.dumps(document))) is None


def test_pieces_forgotten_between_the_lookups_are_counted_again() -> None:
    """Another thread may restart the cache while a count is under way."""

    class Forgetful(dict[str, int]):  # seen when asked whether it knows, gone when read
        def __contains__(self, key: object) -> bool:
            return True

        def __getitem__(self, key: str) -> int:
            raise KeyError(key)

        def get(self, key: str, default: object = None) -> None:  # type: ignore[override]
            return None

    tok = build()
    counter = PieceCounter.for_tokenizer(tok)
    assert counter is not None
    counter.known = Forgetful()
    assert counter("c a b bc  b") == whole(tok, "c a b bc  b")  # cut by the glue's pattern
    counter.tails = Forgetful()
    assert counter("c b bc  b ") == whole(tok, "c b bc  b ")  # cut at spaces


def test_the_pieces_a_text_brings_are_counted_in_one_call() -> None:
    """Lines and words not seen before, from every line of a text, go to the tokenizer
    together: one call a text, not one a line."""
    tok = build()
    counter = PieceCounter.for_tokenizer(tok)
    assert counter is not None
    calls: list[list[str]] = []
    encode = counter._encode
    counter._encode = lambda pieces: calls.append(pieces) or encode(pieces)  # type: ignore[method-assign]
    text = "a b\nbc c\n\nc a  b\nb bc\tc a"  # heads and tails; a line cut by the pattern
    assert counter(text) == whole(tok, text)
    assert len(calls) == 1 and len(calls[0]) == len(set(calls[0]))
    counter.lines.clear()  # its lines forgotten, its pieces not: nothing new to count
    assert counter(text) == whole(tok, text) and len(calls) == 1


def test_runs_of_spaces_stay_with_the_word_after_them() -> None:
    tok = build()
    counter = PieceCounter.for_tokenizer(tok)
    assert counter is not None
    for text in ["b  c", " b", "  b", "b   ", "   ", "c    bc b", "b \0 c", "\0  b"]:
        assert counter(text) == whole(tok, text)
    assert counter.tails["\0\0\0bc"] == whole(tok, "    bc") - 1  # four spaces, then bc


def test_a_vocabulary_without_added_tokens_is_counted_too() -> None:
    plain = [(p, s, t) for p, s, t in PIECES if t in (NORMAL, BYTE)]
    tok = tokenizer([("<unk>", 0.0, NORMAL), ("<bos>", 0.0, NORMAL), *plain], add_bos=False)
    assert tok.get_added_tokens_decoder() == {}
    counter = PieceCounter.for_tokenizer(tok)
    assert counter is not None and counter.specials == 0
    for text in ["c a b bc", " b\\n\\nc\\t a", ""]:
        assert counter(text) == whole(tok, text)


DIGIT_PIECES = [(d, -20.0 - i, NORMAL) for i, d in enumerate("0123456789")]


def test_digits_that_never_merge_are_all_counted_as_zero() -> None:
    tok = tokenizer([*PIECES, *DIGIT_PIECES, ("<u7>", 0.0, CONTROL)])
    counter = PieceCounter.for_tokenizer(tok)
    assert counter is not None and counter._digit_added == ["<u"]
    rng = random.Random(1)
    alphabet = ["a", "b", "c", " ", "1", "9", "05", "<u7>", "<u", "7>", "\n", "é", "a b", "a1"]
    texts = ["".join(rng.choices(alphabet, k=rng.randrange(12))) for _ in range(3000)]
    assert [counter(t) for t in texts] == [whole(tok, t) for t in texts]
    counter.known.clear()
    counter.tails.clear()
    assert counter("c 12 b 3456") == whole(tok, "c 12 b 3456")
    # a fresh number is seen before (words after a space are remembered without it)
    assert (set(counter.known), set(counter.tails)) == ({"c"}, {"00", "b", "0000"})
    counter.tails.clear()
    counter("c 12 <u7>")  # an added token with a digit may be there: the digits stay
    assert "12" in counter.tails


def test_digits_stay_where_a_merge_can_join_one() -> None:
    for extra in [("1a", -30.0, NORMAL), (f"{META}1", -30.0, NORMAL)]:
        counter = PieceCounter.for_tokenizer(tokenizer([*PIECES, *DIGIT_PIECES, extra]))
        assert counter is not None and counter._digit_added is None
    starts_with_digit = tokenizer([*PIECES, *DIGIT_PIECES, ("7up", 0.0, CONTROL)])
    counter = PieceCounter.for_tokenizer(starts_with_digit)
    assert counter is not None and counter._digit_added is None
    assert counter("a 7up 12") == whole(starts_with_digit, "a 7up 12")


def test_lines_are_remembered_whole_within_bounds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pieces_module, "LONGEST_LINE", 6)
    monkeypatch.setattr(pieces_module, "CACHED_LINE_CHARS", 10)
    tok = build()
    counter = PieceCounter.for_tokenizer(tok)
    assert counter is not None
    text = "c b\n\nbc\tb\na b c b c b"
    assert counter(text) == whole(tok, text)
    remembered = ["c b", "\n\n", "bc\tb", "\n"]  # not the last line: too long
    assert counter.lines == {line: whole(tok, line) - 1 for line in remembered}  # no <bos>
    counter.known.clear()  # a line remembered is not cut into pieces again
    assert counter("c b\nbc\tb") == whole(tok, "c b\nbc\tb") and counter.known == {}
    assert counter("a b\nc c c c") == whole(tok, "a b\nc c c c")
    assert "c c c c" not in counter.lines  # longer than LONGEST_LINE
    assert sum(map(len, counter.lines)) <= 10 + 6  # restarted when over CACHED_LINE_CHARS


def test_lines_and_the_runs_of_newlines_between_them() -> None:
    assert split_lines("") == []
    assert split_lines("a") == ["a"]
    assert split_lines("\n\na b\n\tc\n\n\n") == ["\n\n", "a b", "\n", "\tc", "\n\n\n"]
    rng = random.Random(2)
    for _ in range(500):
        text = "".join(rng.choices(["a", "\n", " ", "\t"], k=rng.randrange(15)))
        assert split_lines(text) == [p for p in re.split("(\n+)", text) if p]
