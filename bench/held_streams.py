"""1000 streaming clients held open through the gateway: its memory, and whether a new request
is still served promptly; then twice the in-flight limit, where the excess must get 429.

A mock upstream streams slowly (one token every 200 ms, 40 tokens: 8 s a stream); the gateway
runs as `quantgate serve --workers 1` over a one-variant profile (one process: its RSS is the
gateway's, and the in-flight limit holds per worker). Phase 1: 1000 concurrent streams with a
limit of 1000; while they are open, one small request on a second variant (an idle mock) is
timed, and the gateway's RSS is read. Phase 2: a limit of 250 and no queue, 500 streams: 250
complete, 250 get 429 `overloaded` with Retry-After. Only complete streams (a finish_reason)
count as served. Targets: RSS < 300 MB, the new request within 50 ms, the excess 429s clean.

    .venv/bin/python bench/held_streams.py [--streams 1000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

import anyio
import httpx
import procs

RSS_TARGET_MB = 300
NEW_REQUEST_TARGET_MS = 50


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def one_stream(client: httpx.AsyncClient, url: str, model: str) -> str:
    body = {"model": model, "prompt": "x", "max_tokens": 40, "stream": True}
    async with client.stream("POST", url + "/v1/completions", json=body) as r:
        if r.status_code != 200:
            await r.aread()
            return str(r.status_code)
        finished = False
        async for line in r.aiter_lines():
            if line.startswith("data: {") and '"finish_reason":"' in line.replace(" ", ""):
                finished = True
        return "complete" if finished else "cut"


PROBE = """
import sys, time, httpx
with httpx.Client(timeout=60) as c:
    c.get(sys.argv[1] + "/health")  # connected before the clock starts
    t0 = time.perf_counter()
    r = c.post(sys.argv[1] + "/v1/completions",
               json={"model": "bench@idle", "prompt": "x", "max_tokens": 1})
    print((time.perf_counter() - t0) * 1000 if r.status_code == 200 else -1)
"""


def new_request_ms(gateway: str) -> float | None:
    """One small request on the idle variant, timed by a separate process."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, gateway], capture_output=True, text=True, check=True
    )
    ms = float(done.stdout.strip())
    return ms if ms >= 0 else None


async def phase(gateway: str, streams: int, pid: int, probe: bool) -> dict[str, object]:
    results: Counter[str] = Counter()
    limits = httpx.Limits(max_connections=streams + 10, max_keepalive_connections=0)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        peak = 0.0
        new_ms: float | None = None
        async with anyio.create_task_group() as tg:

            async def run() -> None:
                results[await one_stream(client, gateway, "bench@slow")] += 1

            for _ in range(streams):
                tg.start_soon(run)
            await anyio.sleep(4)  # every stream open and mid-way
            peak = rss_mb(pid)
            if probe:  # from another process: this one's event loop is busy reading streams
                new_ms = await anyio.to_thread.run_sync(new_request_ms, gateway)
    return {"results": dict(results), "rss_mb": peak, "new_request_ms": new_ms}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=1000)
    args = parser.parse_args()
    import resource

    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # this client holds them all too
    slow_port, idle_port = procs.free_port(), procs.free_port()
    mocks = [
        procs.quantgate(
            ["mock-server", "--port", str(slow_port), "--itl-ms", "200", "--output-tokens", "40"]
        ),
        procs.quantgate(["mock-server", "--port", str(idle_port)]),
    ]
    for port in (slow_port, idle_port):
        procs.wait_http(f"http://127.0.0.1:{port}/health")
    profile = Path(tempfile.mkdtemp()) / "bench.yaml"
    profile.write_text(
        "model: bench\ndefault_variant: slow\nvariants:\n"
        f"  - name: slow\n    engine: {{kind: external, url: 'http://127.0.0.1:{slow_port}/v1'}}\n"
        f"    max_concurrency: {args.streams}\n"
        f"  - name: idle\n    engine: {{kind: external, url: 'http://127.0.0.1:{idle_port}/v1'}}\n"
    )
    report = {}
    try:
        for name, streams, env in (
            ("held", args.streams, {"QUANTGATE_MAX_CONNECTIONS": str(args.streams)}),
            (
                "twice the limit",
                args.streams // 2,
                {"QUANTGATE_MAX_CONNECTIONS": str(args.streams // 4), "QUANTGATE_MAX_QUEUE": "0"},
            ),
        ):
            port = procs.free_port()
            gateway = procs.quantgate(
                ["serve", "--profile", str(profile), "--port", str(port), "--workers", "1"],
                {**env, "QUANTGATE_LOG_LEVEL": "warning"},
            )
            try:
                procs.wait_http(f"http://127.0.0.1:{port}/health")
                idle = rss_mb(gateway.pid)
                got = anyio.run(phase, f"http://127.0.0.1:{port}", streams, gateway.pid, True)
                report[name] = {"streams": streams, "idle_rss_mb": idle, **got}
            finally:
                gateway.terminate()
                gateway.wait(30)
    finally:
        for m in mocks:
            m.terminate()
    print(json.dumps(report, indent=2))
    held = report["held"]
    ok_rss = held["rss_mb"] < RSS_TARGET_MB
    ms = held["new_request_ms"]
    ok_new = ms is not None and ms < NEW_REQUEST_TARGET_MS
    twice = report["twice the limit"]["results"]
    limit = args.streams // 4
    ok_429 = twice.get("complete") == limit and twice.get("429") == args.streams // 2 - limit
    print(f"\n{args.streams} held streams: {held['results']}")
    print(
        f"gateway RSS with them open: {held['rss_mb']:.0f} MB (target < {RSS_TARGET_MB}): "
        f"{'met' if ok_rss else 'NOT met'}"
    )
    print(
        f"a new request meanwhile: {ms if ms is None else round(ms, 1)} ms "
        f"(target < {NEW_REQUEST_TARGET_MS}): {'met' if ok_new else 'NOT met'}"
    )
    print(
        f"twice the limit ({args.streams // 2} streams, limit {limit}, no queue): {twice} "
        f"({'clean: the excess got 429' if ok_429 else 'NOT clean'})"
    )


if __name__ == "__main__":
    main()
