"""SIGTERM drains: requests in flight finish, new connections are refused, and the drain has a
deadline (QUANTGATE_DRAIN_TIMEOUT) after which the gateway exits anyway."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

import openai
import pytest

from tests.integration.conftest import start_mock
from tests.integration.processes import Process, free_port, quantgate

pytestmark = pytest.mark.integration


def gateway(
    processes: Callable[..., Process], tmp_path: Path, upstream: str, drain: float
) -> tuple[Process, str]:
    profile = tmp_path / "p.yaml"
    engine = f"{{kind: external, url: '{upstream}'}}"
    profile.write_text(
        f"model: demo\ndefault_variant: ref\nvariants:\n  - name: ref\n    engine: {engine}\n"
    )
    port = free_port()
    proc = processes(
        f"gateway-{drain}",
        quantgate("serve", "--profile", str(profile), "--port", str(port)),
        env={"QUANTGATE_DRAIN_TIMEOUT": str(drain)},
    )
    proc.wait_http(f"http://127.0.0.1:{port}/health")
    return proc, f"http://127.0.0.1:{port}/v1"


def stream_in_thread(url: str, out: dict[str, object]) -> threading.Thread:
    def run() -> None:
        client = openai.OpenAI(base_url=url, api_key="unused", max_retries=0)
        try:
            chunks = list(
                client.completions.create(model="demo", prompt="x", max_tokens=20, stream=True)
            )
            out["finish"] = chunks[-1].choices[0].finish_reason if chunks else None
        except Exception as exc:
            out["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_a_stream_in_flight_finishes_after_sigterm(
    processes: Callable[..., Process], tmp_path: Path
) -> None:
    upstream, _ = start_mock(processes, "slow", itl_ms=100)  # 20 tokens: ~2 s
    proc, url = gateway(processes, tmp_path, upstream, drain=30)
    out: dict[str, object] = {}
    thread = stream_in_thread(url, out)
    time.sleep(0.5)  # the stream is under way
    os.kill(proc.pid, signal.SIGTERM)
    thread.join(30)
    assert out == {"finish": "length"}  # complete, with its finish_reason
    # uvicorn re-raises the signal it caught once it has shut down: exit by SIGTERM, not KILL
    assert proc.proc.wait(30) in (0, -signal.SIGTERM)
    with pytest.raises(openai.APIConnectionError):  # gone: no new request is taken
        openai.OpenAI(base_url=url, api_key="unused", max_retries=0).models.list()


def test_the_drain_has_a_deadline(processes: Callable[..., Process], tmp_path: Path) -> None:
    upstream, _ = start_mock(processes, "endless", itl_ms=1000)  # 20 tokens: ~20 s
    proc, url = gateway(processes, tmp_path, upstream, drain=1)
    out: dict[str, object] = {}
    thread = stream_in_thread(url, out)
    time.sleep(1.5)
    os.kill(proc.pid, signal.SIGTERM)
    proc.proc.wait(15)  # raises if it waits for the stream (~20 s) instead of its 1 s deadline
    thread.join(15)
    assert "error" in out  # the cut stream is an error for the client, never a silent end
