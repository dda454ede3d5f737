"""What a GGUF really holds: tensor types by share of weights and bits per weight.

k-quants need rows that are multiples of 256; the demo model's rows are 640 wide, so a "Q2_K"
file is mostly Q4_0/Q3_K/Q5_0. Variants are named and labelled from this, not from the
requested file type.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class GgufSummary:
    block_types: dict[str, float]  # ggml type -> share of the transformer-block weights
    block_bpw: float  # bits per weight of the 2-D block weights
    embedding_type: str  # token_embd (also the output head when tied)
    total_bpw: float  # bits per weight of every 2-D tensor


def describe_holds(holds: dict[str, Any]) -> str:
    """One line from a stored GgufSummary: `blocks 4.15 bpw (Q4_0 62%, ...); embedding Q4_0`."""
    shares = sorted(holds["block_types"].items(), key=lambda kv: -kv[1])
    mix = ", ".join(f"{t} {share:.0%}" for t, share in shares)
    return (
        f"blocks {holds['block_bpw']:.2f} bpw ({mix}); embedding {holds['embedding_type']}; "
        f"all {holds['total_bpw']:.2f} bpw"
    )


def inspect(path: Path) -> dict[str, Any]:
    """Summary and shape of a GGUF in one read (GGUFReader takes ~10 s on a 262k vocabulary,
    so `quantgate build` stores this in the manifest instead of reading files at start-up)."""
    from gguf import GGUFReader

    reader = GGUFReader(str(path))
    return {"holds": asdict(_summarize(reader)), "shape": asdict(_shape(reader))}


def _summarize(reader: Any) -> GgufSummary:
    shares: Counter[str] = Counter()
    block_bits = block_n = all_bits = all_n = 0
    embedding = "?"
    for tensor in reader.tensors:
        if len(tensor.shape) < 2:
            continue
        n, bits = int(tensor.n_elements), int(tensor.n_bytes) * 8
        all_bits, all_n = all_bits + bits, all_n + n
        if tensor.name == "token_embd.weight":
            embedding = tensor.tensor_type.name
            continue
        shares[tensor.tensor_type.name] += n
        block_bits, block_n = block_bits + bits, block_n + n
    return GgufSummary(
        block_types={t: c / block_n for t, c in shares.most_common()},
        block_bpw=block_bits / block_n,
        embedding_type=embedding,
        total_bpw=all_bits / all_n,
    )


@dataclass(frozen=True)
class GgufShape:
    """What a server needs to size its buffers."""

    architecture: str
    layers: int
    kv_heads: int
    key_length: int
    value_length: int
    vocab: int
    context_length: int


def _shape(reader: Any) -> GgufShape:
    def scalar(key: str, default: int = 0) -> int:
        field = reader.fields.get(key)
        return int(field.parts[field.data[0]][0]) if field is not None else default

    arch_field = reader.fields["general.architecture"]
    arch = bytes(arch_field.parts[arch_field.data[0]]).decode()
    tokens = reader.fields.get("tokenizer.ggml.tokens")
    heads = scalar(f"{arch}.attention.head_count")
    return GgufShape(
        architecture=arch,
        layers=scalar(f"{arch}.block_count"),
        kv_heads=scalar(f"{arch}.attention.head_count_kv", heads),
        key_length=scalar(f"{arch}.attention.key_length"),
        value_length=scalar(f"{arch}.attention.value_length"),
        vocab=len(tokens.data) if tokens is not None else 0,
        context_length=scalar(f"{arch}.context_length"),
    )


def describe(path: Path) -> dict[str, Any]:
    """What an artifact holds, kept in the manifest (GGUF: tensor types, bpw, shape)."""
    if path.is_file() and _is_gguf(path):
        return inspect(path)
    return {}


def _is_gguf(path: Path) -> bool:
    with path.open("rb") as f:
        return f.read(4) == b"GGUF"
