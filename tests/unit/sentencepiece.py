"""Hand-made SentencePiece vocabularies, built into `tokenizers` tokenizers as the gateway does."""

from __future__ import annotations

import json

from tokenizers import Tokenizer

from quantgate.gguf_tokenizer import tokenizer_json


def tokenizer(pieces: list[tuple[str, float, int]], **flags: object) -> Tokenizer:
    """`pieces` are (piece, score: minus the merge rank, GGUF token type); <unk> is id 0 and
    <bos> id 1."""
    vocab = {
        "pieces": [p for p, _, _ in pieces],
        "scores": [s for _, s, _ in pieces],
        "types": [t for _, _, t in pieces],
        "bos": 1,
        "unk": 0,
        "add_bos": True,
        "add_space_prefix": False,
    } | flags
    return Tokenizer.from_str(json.dumps(tokenizer_json(vocab)))
