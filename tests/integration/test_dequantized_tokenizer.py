"""The dequantized HF folder tokenizes exactly as llama.cpp does on the GGUF it came from
(transformers, as vLLM loads it), on every kind of prompt."""

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
from tests.integration.tokenizer_texts import texts

pytestmark = pytest.mark.integration

PROFILE = Path(__file__).resolve().parents[2] / "profiles" / "demo-vllm-cpu.yaml"


def test_hf_tokenizer_matches_llamacpp() -> None:
    cases = texts()
    built = build_profile(load_profile(PROFILE), ArtifactCache(), names=["hf-bf16"])
    gguf, folder = built["release"].entry.path, built["hf-bf16"].entry.path
    script = (
        "import json, sys\nfrom transformers import AutoTokenizer\n"
        f"t = AutoTokenizer.from_pretrained({folder!r})\n"
        "print(json.dumps([t(s)['input_ids'] for s in json.load(sys.stdin)]))"
    )
    done = subprocess.run(
        [str(ensure_env("quantize")), "-c", script],
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        check=True,
    )
    hf = json.loads(done.stdout.strip().splitlines()[-1])
    model = llama_cpp.Llama(gguf, vocab_only=True, verbose=False)
    reference = [model.tokenize(t.encode(), add_bos=True, special=False) for t in cases]
    differ = [t for t, ours, theirs in zip(cases, hf, reference, strict=True) if ours != theirs]
    assert differ == [], f"{len(differ)} of {len(cases)} differ, e.g. {differ[0][:80]!r}"
