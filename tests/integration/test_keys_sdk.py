"""API keys on a real gateway process, through the OpenAI SDK: 401, 403 and 429 with
Retry-After arrive as the SDK's own errors, and no key reaches the log."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import httpx
import openai
import pytest

from quantgate import keys
from tests.integration.conftest import external_profile, start_mock
from tests.integration.processes import Process, free_port, quantgate

pytestmark = pytest.mark.integration


def test_keys_through_the_sdk(processes: Callable[..., Process], tmp_path: Path) -> None:
    first, _ = start_mock(processes, "a")
    second, _ = start_mock(processes, "b")
    profile = external_profile(tmp_path / "p.yaml", first, second)
    keys_file = tmp_path / "keys.json"
    team = keys.add(keys_file, "team", rpm=2, variants=("a",))
    ops = keys.add(keys_file, "ops", admin=True)
    port = free_port()
    gateway = processes(
        "gateway-keys",
        quantgate("serve", "--profile", str(profile), "--port", str(port), "--workers", "1"),
        {"QUANTGATE_KEYS_FILE": str(keys_file)},
    )
    base = f"http://127.0.0.1:{port}"
    gateway.wait_http(base + "/health")

    def sdk(secret: str) -> openai.OpenAI:
        return openai.OpenAI(base_url=base + "/v1", api_key=secret, max_retries=0)

    ask = {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 2}
    with pytest.raises(openai.AuthenticationError) as unknown:
        sdk("qg-not-a-key").chat.completions.create(model="m", **ask)
    assert unknown.value.code == "invalid_api_key"
    with pytest.raises(openai.PermissionDeniedError) as other_variant:
        sdk(team).chat.completions.create(model="m@b", **ask)
    assert other_variant.value.code == "variant_not_allowed"
    reply = sdk(team).chat.completions.create(model="m", **ask)  # routed: kept to a
    assert reply.choices[0].finish_reason is not None
    with pytest.raises(openai.RateLimitError) as limited:  # 2 a minute, 2 spent
        sdk(team).chat.completions.create(model="m@a", **ask)
    assert limited.value.code == "rate_limit_exceeded"
    assert int(limited.value.response.headers["retry-after"]) >= 1
    engines = httpx.get(base + "/sd/engines", headers={"authorization": f"Bearer {team}"})
    assert engines.status_code == 403 and engines.json()["error"]["code"] == "admin_key_required"
    assert httpx.get(base + "/sd/engines", headers={"authorization": f"Bearer {ops}"}).is_success
    log = gateway.log_path.read_text()
    assert '"key":"team"' in log  # the access log names the key ...
    assert team not in log and ops not in log and "qg-not-a-key" not in log  # ... never holds it
    stored = keys_file.read_text()
    assert team not in stored and ops not in stored  # only their hashes


def test_eval_through_a_keyed_gateway_and_on_a_gateway_of_its_own(
    processes: Callable[..., Process], tmp_path: Path
) -> None:
    """`quantgate eval` sends --api-key to a running gateway (one without it stops before any
    run is written), and a gateway it starts itself takes a key made for the run, whatever
    keys the user made for their own gateway."""
    upstream, _ = start_mock(processes, "ev")
    profile = external_profile(tmp_path / "p.yaml", upstream)
    keys_file = tmp_path / "keys.json"
    secret = keys.add(keys_file, "ops")
    stored = keys_file.read_bytes()
    port = free_port()
    gateway = processes(
        "gateway-eval-keys",
        quantgate("serve", "--profile", str(profile), "--port", str(port), "--workers", "1"),
        {"QUANTGATE_KEYS_FILE": str(keys_file)},
    )
    gateway.wait_http(f"http://127.0.0.1:{port}/health")

    def evaluate(out: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        argv = quantgate(
            "eval", "--profile", str(profile), "--tasks", "lambada", "--limit", "1",
            "--out", str(out), *args,
        )  # fmt: skip
        environ = {k: v for k, v in os.environ.items() if k != "QUANTGATE_API_KEY"}
        return subprocess.run(
            argv, capture_output=True, text=True, timeout=300, env={**environ, **env}
        )

    def errors(out: Path) -> int:
        (run,) = list(out.iterdir())
        summary = json.loads((run / "summary.json").read_text())
        assert not (run / "gateway-keys.json").exists()  # the run's key went with its gateway
        count: int = summary["tasks"]["lambada"]["variants"]["a"]["errors"]
        return count

    running = ("--gateway", f"http://127.0.0.1:{port}/v1")
    keyless = evaluate(tmp_path / "keyless", *running)
    assert keyless.returncode == 2, keyless.stdout + keyless.stderr
    assert "invalid_api_key" in keyless.stderr and "--api-key" in keyless.stderr
    assert not (tmp_path / "keyless").exists()
    keyed = evaluate(tmp_path / "keyed", *running, QUANTGATE_API_KEY=secret)
    assert keyed.returncode == 0, keyed.stderr[-2000:]
    assert errors(tmp_path / "keyed") == 0
    # the keyed gateway as a judge too: asked with --judge-key, or the run stops at once
    judged = ("--tasks", "mt_bench", "--form", "chat", "--judge", f"{running[1]}#m")
    keyless = evaluate(tmp_path / "unjudged", *running, *judged, QUANTGATE_API_KEY=secret)
    assert keyless.returncode == 2, keyless.stdout + keyless.stderr
    assert "invalid_api_key" in keyless.stderr and "--judge-key" in keyless.stderr
    env = {"QUANTGATE_API_KEY": secret, "QUANTGATE_JUDGE_KEY": secret}
    keyed = evaluate(tmp_path / "judged", *running, *judged, **env)
    assert keyed.returncode == 0, keyed.stderr[-2000:]
    (run,) = list((tmp_path / "judged").iterdir())
    (sample,) = [json.loads(line) for line in (run / "samples.jsonl").read_text().splitlines()]
    assert sample["error"] == "the judge gave no [[rating]]"  # it answered: the mock rates not
    own = evaluate(tmp_path / "own", QUANTGATE_KEYS_FILE=str(keys_file))
    assert own.returncode == 0, own.stderr[-2000:]
    assert errors(tmp_path / "own") == 0
    assert keys_file.read_bytes() == stored  # the user's keys untouched
