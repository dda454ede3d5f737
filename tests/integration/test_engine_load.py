"""Two gateway replicas in front of one engine: the engine's own load (vLLM's /metrics gauges)
is what both route on, so a replica with no requests of its own still routes around it."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from tests.integration.conftest import start_mock
from tests.integration.processes import Process, free_port, quantgate, wait_until

pytestmark = pytest.mark.integration

HOLD_MS = 8000  # each request on the busy engine takes this long: the first one's hold is the
# window in which the engine queues; it must outlast replica 2's poll lag on a loaded machine
# (CI: a full run's load let a 4 s window pass between two readings)
# how often each replica reads the engine's load: a poll's timeout is as long, and a reading
# is dropped after three (gateway/engines/load.py). At 0.2 s, a rehearsal with other work on
# the two cores lost the readings for longer than the window; 1 s is the default
LOAD_INTERVAL_S = 1.0
ROUNDS = 3  # busy windows tried, at most


def test_a_replica_routes_around_an_engine_busy_with_another_replicas_requests(
    processes: Callable[..., Process], tmp_path: Path
) -> None:
    ref, _ = start_mock(processes, "ref")
    w4, _ = start_mock(processes, "w4", ttft_ms=HOLD_MS, max_running=1)
    profile = tmp_path / "p.yaml"
    profile.write_text(f"""
model: m
default_variant: w4
variants:
  - name: ref
    engine: {{kind: external, url: "{ref}"}}
  - name: w4
    engine: {{kind: external, url: "{w4}", served_model: up-w4, load_metrics: vllm}}
    quant: {{w_bits: 4, method: awq}}
""")

    def gateway(name: str) -> str:
        port = free_port()
        args = quantgate("serve", "--profile", str(profile), "--port", str(port))
        proc = processes(name, args, {"QUANTGATE_LOAD_INTERVAL": str(LOAD_INTERVAL_S)})
        proc.wait_http(f"http://127.0.0.1:{port}/health")
        return f"http://127.0.0.1:{port}"

    first, second = gateway("replica-1"), gateway("replica-2")
    client = openai.OpenAI(base_url=second + "/v1", api_key="unused", max_retries=0)

    def routed() -> str:
        raw = client.chat.completions.with_raw_response.create(
            model="m", messages=[{"role": "user", "content": "hello"}], max_tokens=2
        )
        assert raw.parse().choices[0].finish_reason == "length"
        return raw.headers["x-quantgate-variant"]

    def load(base: str) -> dict[str, Any]:
        body: dict[str, Any] = httpx.get(base + "/ready", timeout=10).json()
        return body["load"]

    def wait_for(check: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        return wait_until(lambda: load(second), check, seconds=30, what="a load reading", every=0.1)

    def queued(seen: dict[str, Any]) -> float:
        """Requests waiting at w4's engine, by a reading replica 2 holds fresh (a reading older
        than three intervals is dropped: gateway/engines/load.py)."""
        return float(seen.get("w4", {}).get("waiting", 0.0))

    assert wait_for(lambda seen: "w4" in seen) == {"w4": {"running": 0.0, "waiting": 0.0}}
    assert routed() == "w4"  # the cheaper variant, while its engine is idle

    pinned = {"model": "m@w4", "messages": [{"role": "user", "content": "hold"}], "max_tokens": 2}
    with ThreadPoolExecutor(2) as pool:
        # A round is judged only when replica 2's busy reading is fresh on both sides of the
        # routed request: on a loaded machine its poll can still lag past the staleness
        # limit between the check and the decision, and then it rightly has no reading,
        # routes to w4 and waits there until the engine drains. So each round makes the
        # engine busy anew.
        for _ in range(ROUNDS):
            held = [
                pool.submit(httpx.post, first + "/v1/chat/completions", json=pinned, timeout=60)
                for _ in range(2)
            ]
            busy = wait_for(lambda seen: queued(seen) > 0)  # replica 1's requests
            assert busy["w4"] == {"running": 1.0, "waiting": 1.0}
            variant = routed()
            judged = queued(load(second)) > 0
            assert [f.result().status_code for f in held] == [200, 200]
            if judged:
                break
        else:
            raise AssertionError("the engine's busy reading never held across one request")
    assert variant == "ref"  # replica 2 has none of its own in flight on w4
    wait_for(lambda seen: seen["w4"] == {"running": 0.0, "waiting": 0.0})
    assert routed() == "w4"
