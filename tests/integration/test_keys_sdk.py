"""API keys on a real gateway process, through the OpenAI SDK: 401, 403 and 429 with
Retry-After arrive as the SDK's own errors, and no key reaches the log."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import openai
import pytest

from quantgate import keys
from tests.integration.conftest import start_mock
from tests.integration.processes import Process, free_port, quantgate

pytestmark = pytest.mark.integration


def test_keys_through_the_sdk(processes: Callable[..., Process], tmp_path: Path) -> None:
    first, _ = start_mock(processes, "a")
    second, _ = start_mock(processes, "b")
    profile = tmp_path / "p.yaml"
    profile.write_text(
        "model: m\ndefault_variant: a\nvariants:\n"
        f"  - name: a\n    engine: {{kind: external, url: '{first}'}}\n"
        f"  - name: b\n    engine: {{kind: external, url: '{second}'}}\n"
    )
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
