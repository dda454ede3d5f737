"""One smallest request to each target before a long run (eval, loadtest), so that a wrong
URL, model name or API key fails at once with the server's own words, instead of as a run of
N errored requests and a table of dashes.

A client mistake (connection refused, any 4xx but 429) is a ConfigError: the command exits
with status 2 before anything is written. A server that is busy or failing (429, 5xx, no
answer within the timeout) is only reported: the run goes on and records what it meets.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import typer

from quantgate.errors import ConfigError

TIMEOUT_S = 120.0  # a cold engine's first answer; slower is reported, not fatal
KEY_OPTIONS = {"--api-key": "QUANTGATE_API_KEY", "--judge-key": "QUANTGATE_JUDGE_KEY"}


def warning(message: str) -> None:
    typer.secho(f"warning: {message}", fg="yellow", err=True)


def check_endpoint(
    base_url: str,
    model: str,
    *,
    chat: bool = False,
    api_key: str | None = None,
    key_option: str = "--api-key",
    warn: Callable[[str], None] = warning,
    transport: httpx.BaseTransport | None = None,
) -> None:
    """Ask `model` at `base_url` (…/v1) for one token; raise ConfigError on a client mistake
    (naming `key_option` on a 401/403), `warn` when the server is busy, failing or slow."""
    body: dict[str, object] = {"model": model, "max_tokens": 1, "temperature": 0}
    if chat:
        path, body["messages"] = "chat/completions", [{"role": "user", "content": "Hi"}]
    else:
        path, body["prompt"] = "completions", "Hi"
    base_url = base_url.rstrip("/")
    url = f"{base_url}/{path}"
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    try:
        with httpx.Client(timeout=httpx.Timeout(TIMEOUT_S, connect=10.0), transport=transport) as c:
            response = c.post(url, json=body, headers=headers)
    except httpx.TimeoutException:
        warn(f"{model} at {base_url}: no answer to a 1-token request in {TIMEOUT_S:.0f} s")
        return
    except httpx.HTTPError as exc:
        raise ConfigError(f"cannot reach {url}: {exc}") from exc
    status = response.status_code
    if status == 200:
        return
    said = f"{model} at {base_url}: HTTP {status}: {_message(response)}"
    if status == 429 or status >= 500:
        warn(said)
        return
    if status == 404 and not base_url.endswith("/v1"):
        said += f" (an OpenAI base URL ends in /v1: {base_url}/v1?)"
    elif status in (401, 403):
        said += f" (give the key with {key_option} or {KEY_OPTIONS[key_option]})"
    raise ConfigError(said)


def _message(response: httpx.Response) -> str:
    """The OpenAI envelope's message and code, or the body's start."""
    try:
        error = response.json()["error"]
        code = error.get("code")
        return f"{error['message']}" + (f" ({code})" if code else "")
    except (ValueError, KeyError, TypeError, AttributeError):
        text = response.text.strip()
        return json.dumps(text[:200]) if text else "(empty body)"
