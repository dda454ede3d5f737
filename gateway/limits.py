"""Token buckets for the API keys' limits: in this process, or in Redis, shared by every gateway
process and replica that names the same Redis (`QUANTGATE_REDIS_URL`).

A bucket holds up to `per_minute` and refills continuously. Three operations, each one step:
`take` debits what a request needs now or says how long to wait; `check` says whether anything
is left (a key's tokens per minute are admitted while the bucket holds any, and debited when
the request ends, by `spend`, which may overdraw it). In Redis each operation is one Lua
script, so two replicas never both take the last token, and the clock is Redis's own.

If Redis cannot be reached, `QUANTGATE_REDIS_FAILURE` decides: `open` (the default, as
Envoy's global rate limit does) admits the request and logs a warning; `closed` answers 503
`rate_limiter_unavailable`.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Any, Protocol

from quantgate.errors import RateLimiterUnavailable

log = logging.getLogger("quantgate.gateway")


class Buckets(Protocol):
    async def take(self, name: str, per_minute: int, need: float) -> int:
        """Debit `need` and return 0, or return the seconds until it is there (no debit)."""
        ...

    async def check(self, name: str, per_minute: int) -> int:
        """0 while the bucket holds anything, else the seconds until it does."""
        ...

    async def spend(self, name: str, per_minute: int, amount: float) -> None:
        """Debit `amount`, below zero if need be."""
        ...


def _wait(need: float, tokens: float, per_minute: int) -> int:
    short = need - tokens
    return 0 if short <= 0 else math.ceil(short * 60 / per_minute)


@dataclass
class _Bucket:
    per_minute: int
    tokens: float
    at: float

    def refill(self, now: float) -> float:
        self.tokens = min(self.per_minute, self.tokens + (now - self.at) * self.per_minute / 60)
        self.at = now
        return self.tokens


class LocalBuckets:
    """Buckets in this process's memory."""

    def __init__(self) -> None:
        self._buckets: dict[str, _Bucket] = {}

    def _bucket(self, name: str, per_minute: int) -> _Bucket:
        now = time.monotonic()
        bucket = self._buckets.get(name)
        if bucket is None or bucket.per_minute != per_minute:  # new, or its limit changed
            bucket = self._buckets[name] = _Bucket(per_minute, float(per_minute), now)
        bucket.refill(now)
        return bucket

    async def take(self, name: str, per_minute: int, need: float) -> int:
        bucket = self._bucket(name, per_minute)
        wait = _wait(need, bucket.tokens, per_minute)
        if not wait:
            bucket.tokens -= need
        return wait

    async def check(self, name: str, per_minute: int) -> int:
        bucket = self._bucket(name, per_minute)
        return 0 if bucket.tokens > 0 else _wait(1, bucket.tokens, per_minute)

    async def spend(self, name: str, per_minute: int, amount: float) -> None:
        self._bucket(name, per_minute).tokens -= amount


# KEYS[1]: the bucket; ARGV: per_minute, amount, mode (take | check | spend). Returns the wait.
_SCRIPT = """
local rate, amount, mode = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local s = redis.call('HMGET', KEYS[1], 'tokens', 'at', 'rate')
local tokens, at = tonumber(s[1]), tonumber(s[2])
if tokens == nil or tonumber(s[3]) ~= rate then tokens, at = rate, now end
tokens = math.min(rate, tokens + (now - at) * rate / 60)
local wait = 0
if mode == 'take' then
  if tokens >= amount then tokens = tokens - amount
  else wait = math.ceil((amount - tokens) * 60 / rate) end
elseif mode == 'check' then
  if tokens <= 0 then wait = math.ceil((1 - tokens) * 60 / rate) end
else
  tokens = tokens - amount
end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.6f', tokens),
           'at', string.format('%.6f', now), 'rate', rate)
redis.call('EXPIRE', KEYS[1], 3600)
return wait
"""


class RedisBuckets:
    """Buckets in Redis, one hash per key and limit, changed only by one Lua script."""

    def __init__(self, url: str, fail_open: bool = True, timeout: float = 0.5) -> None:
        import redis.asyncio as redis

        self.url = url
        self.fail_open = fail_open
        self._client: Any = redis.Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout
        )
        self._script = self._client.register_script(_SCRIPT)
        self._warned = 0.0

    async def _run(self, name: str, per_minute: int, amount: float, mode: str) -> int:
        import redis

        try:
            wait = await self._script(
                keys=[f"quantgate:bucket:{name}"], args=[per_minute, amount, mode]
            )
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            if not self.fail_open:
                raise RateLimiterUnavailable(
                    "the shared rate limiter cannot be reached; retry later"
                ) from exc
            now = time.monotonic()
            if now - self._warned > 10:  # once in a while, not once a request
                log.warning("rate limits not enforced: Redis unreachable (%s)", exc)
                self._warned = now
            return 0
        return int(wait)

    async def take(self, name: str, per_minute: int, need: float) -> int:
        return await self._run(name, per_minute, need, "take")

    async def check(self, name: str, per_minute: int) -> int:
        return await self._run(name, per_minute, 0, "check")

    async def spend(self, name: str, per_minute: int, amount: float) -> None:
        await self._run(name, per_minute, amount, "spend")

    async def aclose(self) -> None:
        await self._client.aclose()
