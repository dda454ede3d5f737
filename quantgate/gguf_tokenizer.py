"""A Hugging Face `tokenizers` tokenizer built from a GGUF's SentencePiece vocabulary.

llama.cpp's own tokenizer, called from Python, costs ~16 ms for a 4k-token prompt; the Rust
`tokenizers` library does it in a fraction, with the same result. SentencePiece BPE (GGUF
`tokenizer.ggml.model = llama`: Gemma, Llama 2, Mistral) stores its pieces with scores that are
minus their merge rank, and no merge list. The merges are derived from the ranks: a piece is
the merge of two pieces of the vocabulary, applied in the order of the merged piece's rank,
which is how SentencePiece applies them. Control pieces (GGUF token type 3) are special added
tokens; user-defined pieces (type 4: runs of spaces, newlines, tabs, ...) are matched whole
in the raw text before BPE runs, as llama.cpp does; byte pieces (type 6) are the byte fallback.

tests/integration/test_gguf_tokenizer.py checks the result token for token against llama.cpp
on every dataset's prompts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE = 1, 2, 3, 4, 5, 6
# what `tokenizer_json` writes; cached files carry it in their names. 2: user-defined pieces
# are matched on the raw text (a `▁` typed in a prompt no longer joins a run of spaces)
FORMAT = 2


def _field(reader: Any, name: str) -> Any:
    field = reader.fields.get(name)
    if field is None:
        return None
    if len(field.data) == 1 and len(field.types) == 1:  # a scalar
        value = field.parts[field.data[0]]
        return bytes(value).decode() if field.types[0].name == "STRING" else value[0].item()
    return [field.parts[i] for i in field.data]


def vocabulary(gguf: Path) -> dict[str, Any]:
    """The tokenizer fields of a GGUF: pieces, scores, types, special ids, flags."""
    from gguf import GGUFReader

    reader = GGUFReader(str(gguf))
    model = _field(reader, "tokenizer.ggml.model")
    if model != "llama":
        raise ValueError(f"{gguf.name}: tokenizer model {model!r} is not SentencePiece (llama)")
    pieces = [bytes(p).decode("utf-8") for p in _field(reader, "tokenizer.ggml.tokens")]
    return {
        "pieces": pieces,
        "scores": [float(s[0]) for s in _field(reader, "tokenizer.ggml.scores")],
        "types": [int(t[0]) for t in _field(reader, "tokenizer.ggml.token_type")],
        "bos": _field(reader, "tokenizer.ggml.bos_token_id"),
        "unk": _field(reader, "tokenizer.ggml.unknown_token_id"),
        "add_bos": bool(_field(reader, "tokenizer.ggml.add_bos_token")),
        "add_space_prefix": bool(_field(reader, "tokenizer.ggml.add_space_prefix")),
    }


def tokenizer_json(vocab: dict[str, Any]) -> dict[str, Any]:
    """The tokenizer.json document for a SentencePiece BPE vocabulary (see `vocabulary`)."""
    pieces, scores, types = vocab["pieces"], vocab["scores"], vocab["types"]
    ids = {piece: i for i, piece in enumerate(pieces)}
    rank = {piece: -score for piece, score in zip(pieces, scores, strict=True)}
    mergeable = {p for p, t in zip(pieces, types, strict=True) if t == NORMAL}
    merges = []
    for piece in mergeable:
        for i in range(1, len(piece)):
            left, right = piece[:i], piece[i:]
            if left in mergeable and right in mergeable:
                merges.append((rank[piece], rank[left], rank[right], left, right))
    merges.sort()
    added = [
        {
            "id": i,
            "content": piece,
            "single_word": False,
            "lstrip": False,
            "rstrip": False,
            "normalized": False,  # matched on the raw text, as llama.cpp does
            "special": kind != USER_DEFINED,
        }
        for i, (piece, kind) in enumerate(zip(pieces, types, strict=True))
        if kind in (CONTROL, USER_DEFINED, UNKNOWN)
    ]
    normalizers: list[dict[str, Any]] = []
    if vocab["add_space_prefix"]:
        normalizers.append({"type": "Prepend", "prepend": "\u2581"})
    normalizers.append({"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"})
    document: dict[str, Any] = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": {"type": "Sequence", "normalizers": normalizers},
        "pre_tokenizer": None,  # SentencePiece BPE sees the whole (normalized) text
        "post_processor": None,
        "decoder": {
            "type": "Sequence",
            "decoders": [
                {"type": "Replace", "pattern": {"String": "\u2581"}, "content": " "},
                {"type": "ByteFallback"},
                {"type": "Fuse"},
            ],
        },
        "model": {
            "type": "BPE",
            "dropout": None,
            "unk_token": pieces[vocab["unk"]] if vocab["unk"] is not None else None,
            "continuing_subword_prefix": None,
            "end_of_word_suffix": None,
            "fuse_unk": True,
            "byte_fallback": True,
            "ignore_merges": False,
            "vocab": ids,
            "merges": [[left, right] for *_, left, right in merges],
        },
    }
    if vocab["add_bos"] and vocab["bos"] is not None:
        bos = pieces[vocab["bos"]]
        document["post_processor"] = {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": bos, "type_id": 0}}, _SEQ_A],
            "pair": [{"SpecialToken": {"id": bos, "type_id": 0}}, _SEQ_A, _SEQ_B],
            "special_tokens": {bos: {"id": bos, "ids": [vocab["bos"]], "tokens": [bos]}},
        }
    return document


_SEQ_A = {"Sequence": {"id": "A", "type_id": 0}}
_SEQ_B = {"Sequence": {"id": "B", "type_id": 1}}


def write_tokenizer(gguf: Path, out: Path) -> Path:
    """Write `out` (tokenizer.json) for `gguf`, whole or not at all."""
    tmp = out.with_name(out.name + ".partial")
    tmp.write_text(json.dumps(tokenizer_json(vocabulary(gguf)), ensure_ascii=False))
    tmp.rename(out)
    return out
