"""The SentencePiece BPE tokenizer built from a GGUF vocabulary, on a hand-made vocabulary."""

from __future__ import annotations

from tokenizers import Tokenizer

from quantgate.gguf_tokenizer import BYTE, CONTROL, NORMAL, UNKNOWN, USER_DEFINED
from tests.unit.sentencepiece import tokenizer

# piece, score (minus the merge rank), GGUF token type
PIECES = [
    ("<unk>", 0.0, UNKNOWN),
    ("<bos>", 0.0, CONTROL),
    ("<turn>", 0.0, CONTROL),
    ("  ", -1000.0, USER_DEFINED),  # a run of two spaces (raw, as Gemma's GGUF has it): whole
    ("<0x21>", 0.0, BYTE),  # "!"
    ("\u2581", -1.0, NORMAL),
    ("h", -2.0, NORMAL),
    ("i", -3.0, NORMAL),
    ("g", -4.0, NORMAL),
    ("hi", -5.0, NORMAL),
    ("\u2581hi", -6.0, NORMAL),
    ("gh", -7.0, NORMAL),
    ("\u2581high", -1000.0, NORMAL),  # a NORMAL piece that happens to have rank 1000
]


def build(**flags: object) -> Tokenizer:
    return tokenizer(PIECES, **flags)


def pieces(tok: Tokenizer, text: str) -> list[str]:
    return tok.encode(text).tokens


def test_merges_follow_the_ranks_and_normal_pieces_merge_whatever_their_score() -> None:
    tok = build()
    assert pieces(tok, "hi") == ["<bos>", "hi"]
    assert pieces(tok, " high") == ["<bos>", "\u2581high"]  # rank 1000 is not "user-defined"
    assert pieces(tok, " hi") == ["<bos>", "\u2581hi"]


def test_user_defined_pieces_are_whole_and_control_pieces_special() -> None:
    tok = build()
    assert pieces(tok, "hi  hi") == ["<bos>", "hi", "  ", "hi"]
    # matched on the raw text, as llama.cpp does: a `▁` in the text does not join a run
    assert pieces(tok, "hi\u2581 hi") == ["<bos>", "hi", "\u2581", "\u2581hi"]
    assert pieces(tok, "<turn>hi") == ["<bos>", "<turn>", "hi"]
    added = tok.get_added_tokens_decoder()
    assert added[2].special and not added[3].special  # control: special; user-defined: not


def test_unknown_characters_fall_back_to_bytes_and_flags_are_honoured() -> None:
    assert pieces(build(), "hi!") == ["<bos>", "hi", "<0x21>"]
    assert pieces(build(add_bos=False), "hi") == ["hi"]
    assert pieces(build(add_bos=False, add_space_prefix=True), "hi") == ["\u2581hi"]
