"""Who may call: API keys (quantgate/keys.py) and each key's requests per minute.

With keys configured, every `/v1/...` request needs `Authorization: Bearer <key>` (401
`invalid_api_key` otherwise) and is held to its key's limit (429 `rate_limit_exceeded` with
Retry-After past it: a token bucket of `rpm` requests refilled continuously; likewise `tpm`
prompt + completion tokens, debited when each request ends). The details of
`/ready` (PIDs, ports, log paths) and `/sd/engines` (engine ports, for Prometheus) need an
admin key. With no keys, the API is open (the gateway binds 127.0.0.1 by default) and those
details are shown only to clients on the loopback interface: the operator on the machine,
not whoever reaches a gateway bound to 0.0.0.0.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from starlette.requests import Request

from gateway.limits import Buckets, LocalBuckets
from quantgate import keys as keystore
from quantgate.errors import AdminOnly, ConfigError, InvalidApiKey, RateLimited

log = logging.getLogger("quantgate.gateway")

LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})
RACY_NS = 2_000_000_000  # a keys file younger than this is read again on every request


@dataclass
class KeyCheck:
    """The keys file, re-read when it changes, and one token bucket per key."""

    path: Path
    buckets: Buckets = field(default_factory=LocalBuckets)  # or RedisBuckets: shared
    _keys: dict[str, keystore.Key] = field(default_factory=dict)
    _stamp: tuple[int, int, int] | None = None

    def __post_init__(self) -> None:
        self._where = str(self.path)
        stamp = self._stamp_now()
        self._keys = keystore.load(self.path)  # a broken file stops the start (ConfigError)
        self._stamp = stamp

    def keys(self) -> dict[str, keystore.Key]:
        """The keys as the file holds them now: looked at on every request, so a key added
        or revoked counts from the next one. A file that breaks leaves the keys read before
        in force (logged once per version of the file)."""
        if self._stamp is None and not os.access(self._where, os.F_OK):
            return self._keys  # still no file (os.access: no exception raised per request)
        stamp = self._stamp_now()
        # two writes of one size within one tick of the file system's clock leave the same
        # stamp (the inode too, reused by the rename): a file changed that recently is read
        # again on every request, as git treats a racily clean index entry
        racy = stamp is not None and time.time_ns() - stamp[0] < RACY_NS
        if stamp != self._stamp or racy:
            try:
                self._keys = keystore.load(self.path) if stamp else {}
            except ConfigError as exc:  # half-edited by hand, say
                if stamp != self._stamp:
                    log.error("%s; the %d keys read before stay in force", exc, len(self._keys))
            self._stamp = stamp
        return self._keys

    def _stamp_now(self) -> tuple[int, int, int] | None:
        try:
            stat = os.stat(self._where)  # a str: Path.stat converts it on every call
        except FileNotFoundError:
            return None
        return (stat.st_mtime_ns, stat.st_size, stat.st_ino)

    @property
    def required(self) -> bool:
        return bool(self.keys())

    def identify(self, request: Request) -> keystore.Key | None:
        """The caller's key; None when no keys are configured. 401 for a missing or bad key."""
        known = self.keys()
        if not known:
            return None
        scheme, _, secret = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not secret:
            raise InvalidApiKey("this gateway needs an API key: Authorization: Bearer <key>")
        key = known.get(keystore.digest(secret.strip()))
        if key is None:
            raise InvalidApiKey("the API key is not valid (unknown or revoked)")
        return key

    async def admit(
        self, request: Request, seen: Callable[[keystore.Key], None] | None = None
    ) -> keystore.Key | None:
        """`identify`, then spend one request of the key's per-minute budget; refused while
        its tokens per minute are spent (they are debited when a request ends: `spend`)."""
        key = self.identify(request)
        if key is None:
            return None
        if seen is not None:  # the key is known: a request it is refused still counts for it
            seen(key)
        if key.tpm > 0 and (wait := await self.buckets.check(f"tpm:{key.name}", key.tpm)):
            raise RateLimited(
                f"key {key.name!r} is limited to {key.tpm} tokens per minute", retry_after=wait
            )
        if key.rpm > 0 and (wait := await self.buckets.take(f"rpm:{key.name}", key.rpm, 1)):
            raise RateLimited(
                f"key {key.name!r} is limited to {key.rpm} requests per minute", retry_after=wait
            )
        return key

    async def spend(self, name: str | None, tokens: int) -> None:
        """Debit a finished request's tokens (prompt + completion) from its key's budget; the
        bucket may go below zero, and the key waits until it refills."""
        # the keys as read when the request was admitted: no second stat of the file
        key = next((k for k in self._keys.values() if k.name == name), None)
        if key is not None and key.tpm > 0 and tokens:
            await self.buckets.spend(f"tpm:{key.name}", key.tpm, tokens)

    def is_admin(self, request: Request) -> bool:
        """An admin key; with no keys configured, a client on the loopback interface."""
        if not self.required:
            return request.client is not None and request.client.host in LOOPBACK
        try:
            key = self.identify(request)
        except InvalidApiKey:
            return False
        return key is not None and key.admin

    def require_admin(self, request: Request) -> None:
        if self.required:
            self.identify(request)  # 401 for a missing or bad key, 403 for a user's
        if not self.is_admin(request):
            why = "an admin key" if self.required else "a client on this machine (or keys)"
            raise AdminOnly(f"this endpoint needs {why}")
