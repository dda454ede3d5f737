"""Asking an OpenAI-compatible endpoint, with a response cache so that runs resume.

httpx is the one network seam: tests pass a transport. Each reply is appended to
`cache/<variant>/<task>.jsonl` under a hash of the request; a rerun with the same run directory
asks only what is missing. Failures are returned as replies with `error` set (and not cached),
so a rerun retries them.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import httpx

from evalsuite.types import Reply, Request


class Endpoint:
    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None = None,
        timeout: float = 600.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.model = model
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.http = httpx.AsyncClient(
            base_url=base_url.rstrip("/") + "/",
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=10.0),
            transport=transport,
        )

    async def aclose(self) -> None:
        await self.http.aclose()

    async def ask(self, req: Request) -> Reply:
        body: dict[str, Any] = {"model": self.model, "max_tokens": req.max_tokens, "temperature": 0}
        if req.stop:
            body["stop"] = list(req.stop)
        if req.prompt is not None:
            path = "completions"
            body["prompt"] = req.prompt
            if req.logprobs is not None:
                body["logprobs"] = req.logprobs
            if req.echo:
                body["echo"] = True
        else:
            path = "chat/completions"
            body["messages"] = [{"role": r, "content": c} for r, c in req.messages or ()]
            if req.logprobs is not None:
                body.update(logprobs=True, top_logprobs=req.logprobs)
        started = time.perf_counter()
        try:
            response = await self.http.post(path, json=body)
        except httpx.HTTPError as exc:
            return Reply(
                latency_s=time.perf_counter() - started, error=f"{type(exc).__name__}: {exc}"
            )
        latency = time.perf_counter() - started
        if response.status_code != 200:
            return Reply(
                latency_s=latency, error=f"HTTP {response.status_code}: {response.text[:300]}"
            )
        try:
            return parse_reply(response.json(), latency, req)
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            return Reply(latency_s=latency, error=f"unreadable reply: {exc}")


class Offline(httpx.AsyncBaseTransport):
    """A transport that asks no one: behind a cache, a reply not in it is an error."""

    URL = "http://offline.invalid/v1"

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("not in the run's cache (offline)", request=request)


def parse_reply(data: dict[str, Any], latency: float, req: Request) -> Reply:
    choice = data["choices"][0]
    usage = data.get("usage") or {}
    text = choice["text"] if "text" in choice else (choice["message"].get("content") or "")
    top, prompt_lp, tokens = None, None, None
    lp = choice.get("logprobs")
    if isinstance(lp, dict) and "top_logprobs" in lp:  # completions
        tops = [dict(t or {}) for t in lp.get("top_logprobs") or []]
        token_lps = lp.get("token_logprobs") or []
        tokens = list(lp.get("tokens") or [])
        if req.echo:  # the prompt's tokens are those that start inside the prompt's text
            offsets = lp.get("text_offset") or []
            n_prompt = sum(1 for o in offsets if o < len(req.prompt or ""))
            prompt_lp = token_lps[:n_prompt]
            tops, tokens = tops[n_prompt:], tokens[n_prompt:]
            text = text[len(req.prompt or "") :] if text.startswith(req.prompt or "") else text
        top = tops
    elif isinstance(lp, dict) and "content" in lp:  # chat
        items = lp.get("content") or []
        top = [{t["token"]: t["logprob"] for t in item.get("top_logprobs") or []} for item in items]
        tokens = [item["token"] for item in items]
    return Reply(
        text=text,
        latency_s=latency,
        finish_reason=choice.get("finish_reason"),
        prompt_tokens=usage.get("prompt_tokens"),
        completion_tokens=usage.get("completion_tokens"),
        top_logprobs=top,
        prompt_logprobs=prompt_lp,
        tokens=tokens,
    )


class ReplyCache:
    """Replies by request hash, one JSONL file per (variant, task)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.replies: dict[str, Reply] = {}
        if path.exists():
            for line in path.read_text().splitlines():
                try:
                    row = json.loads(line)
                    self.replies[row["key"]] = Reply(**row["reply"])
                except (ValueError, KeyError, TypeError):
                    continue  # a line cut by a crash: ask again

    @staticmethod
    def key(model: str, req: Request) -> str:
        text = json.dumps({"model": model, **req.key()}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    def get(self, key: str) -> Reply | None:
        return self.replies.get(key)

    def put(self, key: str, reply: Reply) -> None:
        self.replies[key] = reply
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a") as fh:
            fh.write(json.dumps({"key": key, "reply": asdict(reply)}) + "\n")
