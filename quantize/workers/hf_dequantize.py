"""Dequantize a GGUF into a Hugging Face folder with transformers.

Job: {"gguf": path, "out": folder, "dtype": "bfloat16"}. transformers refuses to save a model
loaded from GGUF ("quantized with gguf and is not serializable") until the quantizer and its
config entry are dropped; the weights are plain tensors by then.

The tokenizer needs repair. Gemma's SentencePiece model is BPE; the GGUF stores its pieces with
scores that are minus their merge rank. transformers (5.17) converts that into a Unigram model,
which splits "capital" into "c", "ap", ...; and GemmaTokenizer, reading that file back as BPE
without merges, splits every word into characters. The repair writes a BPE model whose merges
are derived from the ranks (a piece is the merge of two pieces that are in the vocabulary,
ordered by the merged piece's rank), which is how SentencePiece BPE applies them.
"""

import json
import sys
from pathlib import Path


def main(job: dict) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf = Path(job["gguf"])
    dtype = getattr(torch, job["dtype"])
    print(f"loading {gguf} with transformers (dequantizing)", flush=True)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=dtype)
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.save_pretrained(job["out"])
    tokenizer.save_pretrained(job["out"])
    repair_tokenizer(Path(job["out"]) / "tokenizer.json")
    params = sum(p.numel() for p in model.parameters())
    print(
        f"saved {type(model).__name__} ({params / 1e6:.0f}M parameters, {dtype}) to {job['out']}",
        flush=True,
    )


def repair_tokenizer(path: Path) -> None:
    data = json.loads(path.read_text())
    model = data["model"]
    if model["type"] != "Unigram":
        return
    special = {t["content"] for t in data.get("added_tokens", []) if t.get("special")}
    pieces = [piece for piece, _score in model["vocab"]]
    vocab = {piece: i for i, piece in enumerate(pieces)}
    rank = {piece: -score for piece, score in model["vocab"]}
    # score -1000 marks SentencePiece's user-defined pieces (runs of spaces, newlines, tabs):
    # matched whole before BPE runs, so they become added tokens, not merge results
    user_defined = [p for p, score in model["vocab"] if score == -1000 and p not in special]
    mergeable = {
        p for p in pieces if p not in special and p not in user_defined and not _is_byte(p)
    }
    merges = []
    for piece in mergeable:
        for i in range(1, len(piece)):
            left, right = piece[:i], piece[i:]
            if left in mergeable and right in mergeable:
                merges.append((rank[piece], rank[left], rank[right], left, right))
    merges.sort()
    data["model"] = {
        "type": "BPE",
        "dropout": None,
        "unk_token": pieces[model["unk_id"]],
        "continuing_subword_prefix": None,
        "end_of_word_suffix": None,
        "fuse_unk": True,
        "byte_fallback": True,
        "ignore_merges": False,
        "vocab": vocab,
        "merges": [[left, right] for *_, left, right in merges],
    }
    data["pre_tokenizer"] = None  # SentencePiece BPE sees the whole (normalized) text
    data["added_tokens"] += [
        {
            "id": vocab[p],
            "content": p,
            "single_word": False,
            "lstrip": False,
            "rstrip": False,
            "normalized": True,
            "special": False,
        }
        for p in user_defined
    ]
    bos = pieces[2] if pieces[2] in special else None  # Gemma: <bos> is id 2, always added
    if bos is not None:
        data["post_processor"] = {
            "type": "TemplateProcessing",
            "single": [
                {"SpecialToken": {"id": bos, "type_id": 0}},
                {"Sequence": {"id": "A", "type_id": 0}},
            ],
            "pair": [
                {"SpecialToken": {"id": bos, "type_id": 0}},
                {"Sequence": {"id": "A", "type_id": 0}},
                {"Sequence": {"id": "B", "type_id": 1}},
            ],
            "special_tokens": {bos: {"id": bos, "ids": [2], "tokens": [bos]}},
        }
        config_path = path.with_name("tokenizer_config.json")
        config = json.loads(config_path.read_text())
        config["add_bos_token"] = True
        config_path.write_text(json.dumps(config, indent=2))
    path.write_text(json.dumps(data, ensure_ascii=False))
    print(f"tokenizer: Unigram -> BPE with {len(merges)} merges", flush=True)


def _is_byte(piece: str) -> bool:
    return len(piece) == 6 and piece.startswith("<0x") and piece.endswith(">")


if __name__ == "__main__":
    main(json.loads(Path(sys.argv[1]).read_text()))
