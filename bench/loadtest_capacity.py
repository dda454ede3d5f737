"""How many streaming requests per second the load tester itself sustains, on one core.

A zero-latency mock server runs on the other core; the tester is pinned to one. Target:
>= 500 streaming req/s, so that the tester is never the bottleneck of a measurement.

    .venv/bin/python bench/loadtest_capacity.py [--requests 3000] [--concurrency 64]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

import anyio
import httpx
import procs

from loadtest.runner import Target, run_variants
from loadtest.strategies import Concurrent, Stop
from loadtest.workloads import Workload, word_counter


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--output-tokens", type=int, default=4)
    args = parser.parse_args()
    cores = sorted(os.sched_getaffinity(0))
    port = procs.free_port()
    server = subprocess.Popen(
        [
            "taskset",
            "-c",
            str(cores[-1]),
            sys.executable,
            "-m",
            "quantgate",
            "mock-server",
            "--port",
            str(port),
            "--model",
            "m",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        os.sched_setaffinity(0, {cores[0]})
        target = Target(f"http://127.0.0.1:{port}/v1", "m", [])
        workload = Workload(input_tokens=8, output_tokens=args.output_tokens)
        started = time.perf_counter()
        _, summaries = anyio.run(
            lambda: run_variants(
                target,
                workload,
                Concurrent(streams=args.concurrency),
                Stop(requests=args.requests),
                word_counter,
            )
        )
        wall = time.perf_counter() - started
    finally:
        server.terminate()
        server.wait(10)
    s = summaries["m"]
    print(f"load tester on core {cores[0]}, mock server on core {cores[-1]}")
    print(
        f"{s.ok}/{s.requests} streaming requests ({args.output_tokens} tokens each) "
        f"in {wall:.2f} s at concurrency {args.concurrency}"
    )
    print(
        f"capacity: {s.request_throughput:.0f} streaming req/s "
        f"(target >= 500: {'met' if s.request_throughput >= 500 else 'NOT met'})"
    )
    if s.ttft:
        print(f"TTFT median {s.ttft.median * 1000:.2f} ms, p99 {s.ttft.p99 * 1000:.2f} ms")


if __name__ == "__main__":
    main()
