"""What each HTTP client costs the relay a request: the gateway's own upstream pool
(gateway/relay/http1.py) against aiohttp (its pool before), httpx, pyreqwest (Rust's reqwest)
and rnet, side by side in one run.

The minimal upstream (bench/openai_upstream.py) runs on core 0; the clients take turns on core
1, each sending the same chat request one after another over one kept-alive connection and
reading the whole reply (`--stream`: the 16-chunk stream, read to its end), after a warm-up.
Printed per client: latency p50 / p99 (what the upstream adds is the same for all) and CPU
time per request, the figure a proxy pays on every request. The clients run in their own
environment (pinned versions; ~/.cache/quantgate/venvs/http-clients, made on first use).

    .venv/bin/python bench/http_clients.py [--requests 5000] [--stream]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CLIENTS = ("gateway http1", "aiohttp", "httpx", "pyreqwest", "rnet")
HEADERS = {"content-type": "application/json"}

Once = Callable[[], Awaitable[int]]


def request_body(stream: bool) -> bytes:
    body: dict[str, Any] = {
        "model": "bench",
        "messages": [{"role": "user", "content": "hi"}],
        "max_tokens": 16,
    }
    if stream:
        body["stream"] = True
    return json.dumps(body).encode()


async def clients(url: str, body: bytes) -> dict[str, tuple[Once, Callable[[], Awaitable[Any]]]]:
    """Per client: one request read to its end (-> bytes read), and how to close it."""
    import aiohttp
    import httpx
    import rnet
    from pyreqwest.client import ClientBuilder

    from gateway.relay.http1 import Http1Sender

    own = Http1Sender(16, 5)

    async def gateway_once() -> int:
        reply = await own.send("POST", url, body, HEADERS)
        size = sum([len(c) async for c in reply.chunks()])
        await reply.aclose()
        return size

    session = aiohttp.ClientSession(skip_auto_headers=("Accept-Encoding",))

    async def aiohttp_once() -> int:
        response = await session.post(url, data=body, headers=HEADERS, allow_redirects=False)
        size = sum([len(c) async for c in response.content.iter_any()])
        response.release()
        return size

    hx = httpx.AsyncClient()

    async def httpx_once() -> int:
        async with hx.stream("POST", url, content=body, headers=HEADERS) as response:
            return sum([len(c) async for c in response.aiter_raw()])

    reqwest = await ClientBuilder().build().__aenter__()

    async def pyreqwest_once() -> int:
        request = reqwest.post(url).body_bytes(body).header("content-type", "application/json")
        response = await request.build().send()
        return len(await response.bytes())

    rn = rnet.Client()

    async def rnet_once() -> int:
        response = await rn.post(url, body=body, headers=HEADERS)
        return len(await response.bytes())

    async def nothing() -> None:
        return None

    return {
        "gateway http1": (gateway_once, own.aclose),
        "aiohttp": (aiohttp_once, session.close),
        "httpx": (httpx_once, hx.aclose),
        "pyreqwest": (pyreqwest_once, lambda: reqwest.__aexit__(None, None, None)),
        "rnet": (rnet_once, nothing),
    }


async def measure(url: str, requests: int, stream: bool) -> dict[str, dict[str, float]]:
    found = await clients(url, request_body(stream))
    report = {}
    for name in CLIENTS:
        once, close = found[name]
        sizes = {await once() for _ in range(300)}  # warm-up; every reply the same length
        samples = []
        cpu = time.process_time()
        for _ in range(requests):
            t0 = time.perf_counter()
            await once()
            samples.append(time.perf_counter() - t0)
        cpu = (time.process_time() - cpu) / requests
        await close()
        samples.sort()
        report[name] = {
            "p50_us": statistics.median(samples) * 1e6,
            "p99_us": samples[int(len(samples) * 0.99)] * 1e6,
            "cpu_us": cpu * 1e6,
            "reply_bytes": float(sizes.pop()) if len(sizes) == 1 else -1.0,
        }
    return report


def inner(url: str, requests: int, stream: bool) -> None:
    """Run in the clients' environment, on its core: print the report as JSON."""
    import uvloop

    print(json.dumps(uvloop.run(measure(url, requests, stream))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000, help="per client, after warm-up")
    parser.add_argument("--stream", action="store_true", help="the 16-chunk stream instead")
    parser.add_argument("--inner", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inner:
        inner(args.inner, args.requests, args.stream)
        return
    sys.path.insert(0, str(ROOT))
    from bench import procs
    from quantgate.envs import ensure_env

    if len(os.sched_getaffinity(0)) < 2:
        sys.exit("needs two cores: one for the upstream, one for the clients")
    python = ensure_env("http-clients", print)
    up, base = procs.openai_upstream([0])
    try:
        url = f"{base}/v1/chat/completions"
        argv = [str(python), __file__, "--inner", url, "--requests", str(args.requests)]
        argv += ["--stream"] if args.stream else []
        out = subprocess.run(
            procs.pinned(argv, [1]),
            check=True,
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        ).stdout
    finally:
        procs.stop(up)
    report = json.loads(out.strip().splitlines()[-1])
    mode = "16-chunk stream" if args.stream else "chat"
    print(f"{mode}, {args.requests} requests per client, one connection, client on core 1:")
    print(f"{'client':<14} {'p50 us':>8} {'p99 us':>8} {'CPU us/req':>11} {'x ours':>7}")
    ours = report["gateway http1"]["cpu_us"]
    for name, r in report.items():
        if r["reply_bytes"] != report["gateway http1"]["reply_bytes"]:
            sys.exit(f"{name} read {r['reply_bytes']:.0f} bytes, not the whole reply")
        print(
            f"{name:<14} {r['p50_us']:>8.1f} {r['p99_us']:>8.1f} {r['cpu_us']:>11.1f} "
            f"{r['cpu_us'] / ours:>6.1f}x"
        )


if __name__ == "__main__":
    main()
