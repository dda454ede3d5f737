"""API keys' limits shared in a real Redis by two gateway processes; Redis down: the policy."""

from __future__ import annotations

import collections
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from quantgate import keys
from tests.integration.conftest import external_profile, start_mock
from tests.integration.processes import Process, free_port, quantgate

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not shutil.which("redis-server"), reason="make tools installs Redis"),
]

RPM = 10  # a token every 6 s: the requests below take far less


def test_two_gateways_on_one_redis_hold_a_key_to_its_limit(
    processes: Callable[..., Process], tmp_path: Path
) -> None:
    redis_port = free_port()
    redis = processes(
        "redis",
        [
            "redis-server",
            "--port",
            str(redis_port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
    )
    mock, _ = start_mock(processes, "m")
    profile = external_profile(tmp_path / "p.yaml", mock)
    keys_file = tmp_path / "keys.json"
    secret = keys.add(keys_file, "team", rpm=RPM)
    env = {
        "QUANTGATE_KEYS_FILE": str(keys_file),
        "QUANTGATE_REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
    }

    def gateway(name: str, **more: str) -> str:
        port = free_port()
        proc = processes(
            name,
            quantgate("serve", "--profile", str(profile), "--port", str(port)),
            {**env, **more},
        )
        proc.wait_http(f"http://127.0.0.1:{port}/health")
        return f"http://127.0.0.1:{port}"

    first, second = gateway("gateway-1"), gateway("gateway-2")
    closed = gateway("gateway-closed", QUANTGATE_REDIS_FAILURE="closed")
    headers = {"authorization": f"Bearer {secret}"}
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 2}

    def post(base: str) -> httpx.Response:
        return httpx.post(base + "/v1/chat/completions", json=body, headers=headers, timeout=30)

    replies = [post(first if i % 2 else second) for i in range(2 * RPM)]
    statuses = collections.Counter(r.status_code for r in replies)
    assert statuses == {200: RPM, 429: RPM}, statuses  # one budget for both processes
    refused = next(r for r in replies if r.status_code == 429)
    assert refused.json()["error"]["code"] == "rate_limit_exceeded"
    assert int(refused.headers["retry-after"]) >= 1

    redis.stop()  # Redis down: each gateway follows its policy
    admitted = post(first)  # open (the default): served, and a warning in its log
    assert admitted.status_code == 200
    shut = post(closed)
    assert shut.status_code == 503
    assert shut.json()["error"]["code"] == "rate_limiter_unavailable"
    log = (redis.log_path.parent / "gateway-1.log").read_text()
    warned = [json.loads(line) for line in log.splitlines() if "Redis unreachable" in line]
    assert warned and warned[0]["level"] == "WARNING"
