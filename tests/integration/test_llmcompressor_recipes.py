"""The llm-compressor recipes the demo does not serve (W4A16 AWQ and the preset GPTQ, FP8
dynamic) and the demo's own W4A16 options (group 32, asymmetric), on a tiny random Llama: each
writes a compressed-tensors folder with the scheme it was asked for. (W8A8 SmoothQuant + GPTQ
and W4A16 GPTQ group 32 asymmetric are built and served in test_demo_profiles.py.)"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from quantgate.profile import parse_profile
from quantize.build import build_profile
from quantize.cache import ArtifactCache
from tests.integration.test_autoawq import make_tiny_llama

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


def test_gptq_w4a16_and_fp8_dynamic(tmp_path: Path) -> None:
    folder = make_tiny_llama(tmp_path / "tiny-llama", "quantize")
    calibration = tmp_path / "calibration.txt"
    calibration.write_text(
        "\n".join(f"Sentence {i} for calibrating a quantizer." for i in range(32))
    )
    profile = parse_profile(f"""
model: tiny
default_variant: gptq
artifacts:
  base: {{kind: hf-folder, path: "{folder}"}}
  gptq: {{kind: llmcompressor, source: base, scheme: W4A16, method: gptq,
          calibration: {{dataset: file, path: "{calibration}", samples: 16, max_seq_len: 64}}}}
  awq:  {{kind: llmcompressor, source: base, scheme: W4A16, method: awq,
          weights: {{group_size: 32, symmetric: false}},
          calibration: {{dataset: file, path: "{calibration}", samples: 16, max_seq_len: 64}}}}
  fp8:  {{kind: llmcompressor, source: base, scheme: FP8_DYNAMIC, method: rtn}}
variants:
  - {{name: gptq, engine: {{kind: vllm, artifact: gptq}}}}
""")
    built = build_profile(profile, ArtifactCache(tmp_path / "cache"), names=["gptq", "awq", "fp8"])
    gptq = json.loads((Path(built["gptq"].entry.path) / "config.json").read_text())
    group = gptq["quantization_config"]["config_groups"]["group_0"]
    assert gptq["quantization_config"]["format"] == "pack-quantized"
    assert (group["weights"]["num_bits"], group["weights"]["group_size"]) == (4, 128)
    assert group["input_activations"] is None
    awq = json.loads((Path(built["awq"].entry.path) / "config.json").read_text())
    weights = awq["quantization_config"]["config_groups"]["group_0"]["weights"]
    assert (weights["num_bits"], weights["group_size"], weights["symmetric"]) == (4, 32, False)
    fp8 = json.loads((Path(built["fp8"].entry.path) / "config.json").read_text())
    group = fp8["quantization_config"]["config_groups"]["group_0"]
    assert (group["weights"]["type"], group["weights"]["num_bits"]) == ("float", 8)
    assert group["input_activations"]["dynamic"] is True
