"""What a proxy adds to each request: quantgate (pinned and routed) and LiteLLM's proxy against
the upstream reached directly, on the same upstream and the same load, in one run.

The upstream (bench/openai_upstream.py: raw asyncio, answers at once, 16 tokens; streams of
16 chunks and a usage chunk) and wrk share core 0; the proxy under test has core 1 to itself,
one worker. Each cell is chat with 16 max tokens, streamed or not, at 1 and 32 connections,
after a warm-up. Only complete replies count (a 200 with a finish_reason, and `[DONE]` for a
stream: bench/wrk/openai.lua). "added" is the proxy's latency minus the direct one at the
same percentile. The routed path's own cost is then measured side by side on the same
gateway: pinned and routed chat at one connection, alternating, in `--rounds` short cells
each, with the gateway's own decision time per request (its
`quantgate_routing_decision_seconds`, scraped before and after each cell); the target reads
the median difference of the rounds. Then `quantgate serve --workers 1` against `--workers 2`
with nothing pinned (upstream and wrk included), non-streaming at 32 connections.

LiteLLM runs from its own environment (`litellm[proxy]==1.80.0`, created on first use under
~/.cache/quantgate/venvs/litellm). Needs `wrk` (Debian) and `taskset`.

    .venv/bin/python bench/overhead.py [--seconds 8] [--rounds 7] [--json runs/overhead.json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from statistics import median
from typing import Any

import httpx
import procs
from prometheus_client.parser import text_string_to_metric_families

from quantgate.envs import ensure_env

HERE = Path(__file__).parent
LUA = HERE / "wrk" / "openai.lua"
LOAD, PROXY = [0], [1]  # upstream and wrk on core 0; the proxy under test on core 1
UPSTREAM_MODEL = "bench-model"
LITELLM = "litellm 1.80.0"

TARGETS = {  # figure: target
    "chat: added p50 at 1 connection (ms)": 0.3,
    "chat: added p99 at 1 connection (ms)": 1.0,
    "chat: req/s at 32 connections": 1500,
    "stream: added p50 at 1 connection (ms)": 0.8,
    "stream: req/s at 32 connections": 800,
    "routed minus pinned, chat p50 (ms)": 0.1,
    "--workers 2 / --workers 1, req/s": 1.6,
}


def wrk(url: str, model: str, stream: bool, conns: int, seconds: int, cores: Any) -> dict:
    body = {
        "model": model,
        "messages": [{"role": "user", "content": "Say something short about the sea."}],
        "max_tokens": 16,
        "stream": stream,
    }
    argv = ["wrk", f"-t{min(conns, 2 if cores is None else 1)}", f"-c{conns}"]
    argv += [f"-d{seconds:d}s", "--timeout", "10s", "-s", str(LUA), url]
    env = {**os.environ, "BENCH_BODY": json.dumps(body), "BENCH_STREAM": str(int(stream))}
    done = subprocess.run(
        procs.pinned(argv, cores), capture_output=True, text=True, env=env, check=True
    )
    line = next(x for x in done.stdout.splitlines() if x.startswith("WRK "))
    out: dict[str, Any] = json.loads(line[4:])
    out["rps"] = out["complete"] / out["seconds"]
    return out


def measure(
    name: str, base: str, model: str, seconds: int, cells: list[tuple[bool, int]], cores: Any
) -> dict[str, dict]:
    url = base + "/v1/chat/completions"
    results = {}
    for stream, conns in cells:
        wrk(url, model, stream, conns, 2, cores)  # warm-up: pools, caches, JIT of wrk's Lua
        got = wrk(url, model, stream, conns, seconds, cores)
        key = f"{'stream' if stream else 'chat'}@{conns}"
        results[key] = got
        print(
            f"  {name:<22} {key:<10} {got['rps']:7.0f} req/s  p50 {got['p50_us'] / 1000:6.2f} ms"
            f"  p99 {got['p99_us'] / 1000:6.2f} ms  ({got['complete']} complete, "
            f"{got['incomplete']} incomplete, {got['errors']} errors)",
            flush=True,
        )
    return results


def decisions(base: str) -> tuple[float, float]:
    """The gateway's routing decisions so far: (seconds summed, count)."""
    text = httpx.get(base + "/metrics", timeout=10).text
    found = {}
    for family in text_string_to_metric_families(text):
        if family.name == "quantgate_routing_decision_seconds":
            for sample in family.samples:
                found[sample.name.rsplit("_", 1)[-1]] = sample.value
    return found["sum"], found["count"]


def side_by_side(base: str, rounds: int, seconds: int) -> dict[str, Any]:
    """Pinned (`m@ref`) and routed (`m`) chat at one connection, alternating for `rounds`
    rounds of `seconds` a cell: each cell's p50 and the gateway's mean decision time in it."""
    url = base + "/v1/chat/completions"
    cells: dict[str, list[dict[str, float]]] = {"m@ref": [], "m": []}
    for model in cells:
        wrk(url, model, False, 1, 2, LOAD)  # warm-up
    for r in range(rounds):
        for model, got in cells.items():
            before = decisions(base)
            cell = wrk(url, model, False, 1, seconds, LOAD)
            after = decisions(base)
            done = after[1] - before[1]
            decision_us = (after[0] - before[0]) / done * 1e6 if done else 0.0
            got.append({"p50_us": cell["p50_us"], "decision_us": decision_us})
        diff = cells["m"][-1]["p50_us"] - cells["m@ref"][-1]["p50_us"]
        print(
            f"  round {r + 1}: p50 pinned {cells['m@ref'][-1]['p50_us'] / 1000:.3f} ms, routed "
            f"{cells['m'][-1]['p50_us'] / 1000:.3f} ms (+{diff / 1000:.3f}); decision "
            f"{cells['m@ref'][-1]['decision_us']:.0f} / {cells['m'][-1]['decision_us']:.0f} us",
            flush=True,
        )
    diffs = [b["p50_us"] - a["p50_us"] for a, b in zip(cells["m@ref"], cells["m"], strict=True)]
    return {
        "rounds": cells,
        "p50_diffs_us": diffs,
        "median_diff_ms": median(diffs) / 1000,
        "decision_us": {m: median(c["decision_us"] for c in got) for m, got in cells.items()},
    }


def profile_file(upstream: str) -> Path:
    path = Path(tempfile.mkdtemp()) / "bench.yaml"
    engine = f"{{kind: external, url: '{upstream}/v1', served_model: {UPSTREAM_MODEL}}}"
    path.write_text(
        "model: m\ndefault_variant: ref\nvariants:\n"
        f"  - name: ref\n    engine: {engine}\n    max_concurrency: 256\n"
        f"  - name: small\n    engine: {engine}\n    max_concurrency: 256\n"
    )
    return path


def litellm_config(upstream: str) -> Path:
    path = Path(tempfile.mkdtemp()) / "litellm.yaml"
    path.write_text(
        "model_list:\n  - model_name: bench\n    litellm_params:\n"
        f"      model: openai/{UPSTREAM_MODEL}\n      api_base: {upstream}/v1\n"
        "      api_key: none\n"
    )
    return path


def quantgate(profile: Path, workers: int, cores: Any) -> tuple[Any, str]:
    port = procs.free_port()
    args = ["serve", "--profile", str(profile), "--port", str(port), "--workers", str(workers)]
    proc = procs.quantgate(args, cores=cores)
    base = f"http://127.0.0.1:{port}"
    procs.wait_http(base + "/health", proc)
    return proc, base


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument(
        "--rounds", type=int, default=7, help="pinned/routed rounds side by side (3 s cells)"
    )
    parser.add_argument(
        "--json", type=Path, default=Path("runs/overhead.json"), help="where the figures go"
    )
    args = parser.parse_args()
    if len(os.sched_getaffinity(0)) < 2:
        sys.exit("needs two cores: one for the proxy, one for the upstream and wrk")
    litellm = ensure_env("litellm", print).parent / "litellm"
    up, upstream = procs.openai_upstream(LOAD)
    cells = [(False, 1), (False, 32), (True, 1), (True, 32)]
    report: dict[str, Any] = {"seconds": args.seconds}
    running: list[Any] = [up]
    try:
        print("upstream reached directly, and each proxy on its own core:")
        report["direct"] = measure("direct", upstream, UPSTREAM_MODEL, args.seconds, cells, LOAD)
        proc, base = quantgate(profile_file(upstream), 1, PROXY)
        running.append(proc)
        for name, model in (("quantgate m@ref", "m@ref"), ("quantgate m", "m")):
            report[name] = measure(name, base, model, args.seconds, cells, LOAD)
        print("pinned and routed chat at 1 connection, side by side:")
        report["side by side"] = side_by_side(base, args.rounds, 3)
        procs.stop(running.pop())
        port = procs.free_port()
        config = litellm_config(upstream)
        argv = [str(litellm), "--config", str(config), "--port", str(port), "--num_workers", "1"]
        proc = procs.start(argv, {"LITELLM_LOG": "ERROR"}, PROXY)
        running.append(proc)
        procs.wait_http(f"http://127.0.0.1:{port}/health/liveliness", proc, timeout=300)
        base = f"http://127.0.0.1:{port}"
        report[LITELLM] = measure(LITELLM, base, "bench", args.seconds, cells, LOAD)
        procs.stop(running.pop())
        print("workers, nothing pinned (upstream and wrk on the same two cores):")
        for workers in (1, 2):
            proc, base = quantgate(profile_file(upstream), workers, None)
            running.append(proc)
            name = f"quantgate --workers {workers}"
            report[name] = measure(name, base, "m@ref", args.seconds, [(False, 32)], None)
            procs.stop(running.pop())
    finally:
        for proc in running:
            procs.stop(proc)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2))
    print_table(report)
    print(f"\nJSON: {args.json}")


def print_table(r: dict[str, Any]) -> None:
    direct = r["direct"]

    def added(target: str, mode: str, q: str) -> float:
        return (r[target][f"{mode}@1"][q] - direct[f"{mode}@1"][q]) / 1000

    print("\n| target | added p50, 1 conn | added p99, 1 conn | req/s, 1 conn | req/s, 32 conns |")
    print("|---|---|---|---|---|")
    for target in ("quantgate m@ref", "quantgate m", LITELLM, "direct"):
        for mode in ("chat", "stream"):
            cells = r[target]
            a50 = "-" if target == "direct" else f"{added(target, mode, 'p50_us'):.2f} ms"
            a99 = "-" if target == "direct" else f"{added(target, mode, 'p99_us'):.2f} ms"
            print(
                f"| {target}, {mode} | {a50} | {a99} | {cells[f'{mode}@1']['rps']:.0f} | "
                f"{cells[f'{mode}@32']['rps']:.0f} |"
            )
    q, lite = r["quantgate m@ref"], r[LITELLM]
    figures = {
        "chat: added p50 at 1 connection (ms)": added("quantgate m@ref", "chat", "p50_us"),
        "chat: added p99 at 1 connection (ms)": added("quantgate m@ref", "chat", "p99_us"),
        "chat: req/s at 32 connections": q["chat@32"]["rps"],
        "stream: added p50 at 1 connection (ms)": added("quantgate m@ref", "stream", "p50_us"),
        "stream: req/s at 32 connections": q["stream@32"]["rps"],
        "routed minus pinned, chat p50 (ms)": r["side by side"]["median_diff_ms"],
        "--workers 2 / --workers 1, req/s": r["quantgate --workers 2"]["chat@32"]["rps"]
        / r["quantgate --workers 1"]["chat@32"]["rps"],
    }
    side = r["side by side"]
    spread = ", ".join(f"{d / 1000:.3f}" for d in sorted(side["p50_diffs_us"]))
    print(
        f"\nrouted minus pinned, chat p50 at 1 connection, {len(side['p50_diffs_us'])} rounds "
        f"side by side: {spread} ms (median {side['median_diff_ms']:.3f}); the gateway's "
        f"decision, median of the cells: {side['decision_us']['m@ref']:.0f} us pinned, "
        f"{side['decision_us']['m']:.0f} us routed"
    )
    print()
    for name, value in figures.items():
        target = TARGETS[name]
        higher = "req/s" in name
        met = value >= target if higher else value <= target
        sign = ">=" if higher else "<="
        print(f"{name}: {value:.2f} (target {sign} {target}): {'met' if met else 'NOT met'}")
    chat = q["chat@32"]["rps"] / lite["chat@32"]["rps"]
    stream = q["stream@32"]["rps"] / lite["stream@32"]["rps"]
    print(f"req/s at 32 connections, one worker / LiteLLM: chat {chat:.1f}x, stream {stream:.1f}x")
    one = q["chat@32"]["rps"] / q["chat@1"]["rps"]
    met = "met" if one >= 1 else "NOT met"
    print(f"chat req/s at 32 connections over 1 connection: {one:.2f} (target >= 1): {met}")


if __name__ == "__main__":
    main()
