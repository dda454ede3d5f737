"""The dequantized HF folder tokenizes exactly as llama.cpp does on the GGUF it came from."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import llama_cpp
import pytest

from quantgate.envs import ensure_env
from quantgate.profile import load_profile
from quantize.build import build_profile
from quantize.cache import ArtifactCache

pytestmark = pytest.mark.integration

PROFILE = Path(__file__).resolve().parents[2] / "profiles" / "demo-vllm-cpu.yaml"
TEXTS = [
    "The capital of France is Paris. The capital of Italy is",
    "Hello world!\n  Indented\tcode 12345\n\n\nend    of    line",
    "naïve café 東京 — “quotes” and emoji 🙂",
    "def f(x):\n    return x ** 2  # square",
    "Q: Natalia sold clips to 48 of her friends in April?\nA:",
]


def test_hf_tokenizer_matches_llamacpp() -> None:
    built = build_profile(load_profile(PROFILE), ArtifactCache(), names=["hf-bf16"])
    gguf, folder = built["release"].entry.path, built["hf-bf16"].entry.path
    script = (
        "import json, sys\nfrom transformers import AutoTokenizer\n"
        f"t = AutoTokenizer.from_pretrained({folder!r})\n"
        "print(json.dumps([t(s)['input_ids'] for s in json.load(sys.stdin)]))"
    )
    done = subprocess.run(
        [str(ensure_env("quantize")), "-c", script],
        input=json.dumps(TEXTS),
        capture_output=True,
        text=True,
        check=True,
    )
    hf = json.loads(done.stdout.strip().splitlines()[-1])
    model = llama_cpp.Llama(gguf, vocab_only=True, verbose=False)
    reference = [model.tokenize(t.encode(), add_bos=True, special=False) for t in TEXTS]
    for text, ours, theirs in zip(TEXTS, hf, reference, strict=True):
        assert ours == theirs, text
