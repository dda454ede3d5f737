"""The AutoAWQ path, on a model it supports: a tiny random Llama (AutoAWQ 0.2.9 predates
Gemma 3, so the demo model itself cannot go through it; that refusal is checked too)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from quantgate.envs import ensure_env
from quantgate.errors import BuildError
from quantgate.profile import load_profile, parse_profile
from quantize.build import build_profile
from quantize.cache import ArtifactCache

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]

TINY_LLAMA = """
import sys
from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM
import torch
torch.manual_seed(0)
tokenizer = AutoTokenizer.from_pretrained(sys.argv[1])
config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=128, intermediate_size=256,
                     num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=2,
                     bos_token_id=2, eos_token_id=1, pad_token_id=0)
LlamaForCausalLM(config).save_pretrained(sys.argv[2])
tokenizer.save_pretrained(sys.argv[2])
"""


def profile_text(folder: Path, calibration: Path) -> str:
    calibration.write_text(
        "\n".join(f"Calibration sentence number {i} about quantization." for i in range(16))
    )
    return f"""
model: tiny
default_variant: awq
artifacts:
  base: {{kind: hf-folder, path: "{folder}"}}
  awq:  {{kind: autoawq, source: base, group_size: 64,
          calibration: {{dataset: file, path: "{calibration}", samples: 16, max_seq_len: 64}}}}
variants:
  - {{name: awq, engine: {{kind: vllm, artifact: awq}}}}
"""


def make_tiny_llama(folder: Path, env: str) -> Path:
    """A 2-layer random Llama with the demo's tokenizer, saved by `env`'s transformers."""
    demo = build_profile(
        load_profile(REPO / "profiles" / "demo-vllm-cpu.yaml"), ArtifactCache(), names=["hf-bf16"]
    )
    subprocess.run(
        [str(ensure_env(env)), "-c", TINY_LLAMA, demo["hf-bf16"].entry.path, str(folder)],
        check=True,
        capture_output=True,
    )
    return folder


def test_autoawq_quantizes_a_supported_model(tmp_path: Path) -> None:
    folder = make_tiny_llama(tmp_path / "tiny-llama", "autoawq")
    text = profile_text(folder, tmp_path / "calibration.txt")
    built = build_profile(parse_profile(text), ArtifactCache(tmp_path / "cache"))
    out = Path(built["awq"].entry.path)
    config = json.loads((out / "config.json").read_text())["quantization_config"]
    assert config["quant_method"] == "awq"
    assert (config["bits"], config["group_size"], config["version"]) == (4, 64, "gemm")
    assert any(out.glob("*.safetensors"))


def test_autoawq_refuses_gemma3_clearly(tmp_path: Path) -> None:
    demo = build_profile(
        load_profile(REPO / "profiles" / "demo-vllm-cpu.yaml"), ArtifactCache(), names=["hf-bf16"]
    )
    text = profile_text(Path(demo["hf-bf16"].entry.path), tmp_path / "calibration.txt")
    with pytest.raises(BuildError, match=r"autoawq_run\.py exited") as info:
        build_profile(parse_profile(text), ArtifactCache(tmp_path / "cache"))
    log = Path(str(info.value).rsplit("log: ", 1)[1]).read_text()
    assert "does not support `gemma3_text` models" in log
