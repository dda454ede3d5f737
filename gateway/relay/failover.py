"""Try the candidates in order until one answers; fail over only before the first byte."""

from __future__ import annotations

from collections.abc import Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any

from gateway.relay.upstream import Reply, Upstream
from quantgate.errors import UpstreamError


@dataclass
class Served:
    reply: Reply
    upstream: Upstream


async def open_first(
    candidates: Sequence[Upstream],
    path: str,
    body: dict[str, Any],
    *,
    stream: bool,
    failed: list[tuple[str, UpstreamError]],
    headers: Mapping[str, str] | None = None,
    waiting: MutableMapping[str, int] | None = None,
    adapt: Callable[[str, dict[str, Any]], dict[str, Any]] | None = None,
) -> Served:
    """Open a reply from the first candidate that gives one; raise if none does.

    Each candidate that fails is appended to `failed` as (variant, error). Once a reply is
    returned nothing here is retried: the caller commits it to the client. The error raised
    when every candidate failed is the last one's kind, naming them all. `waiting` counts, per
    variant, the requests waiting for its first byte (the supervisor reads it: a busy engine).
    `adapt(variant, body)` gives the body as that variant's engine spells it.
    """
    for upstream in candidates:
        if waiting is not None:
            waiting[upstream.name] = waiting.get(upstream.name, 0) + 1
        try:
            payload = adapt(upstream.name, body) if adapt is not None else body
            reply = await upstream.open(path, payload, stream=stream, headers=headers)
        except UpstreamError as exc:
            failed.append((upstream.name, exc))
            continue
        finally:
            if waiting is not None:
                waiting[upstream.name] -= 1
        return Served(reply, upstream)
    if not failed:
        raise UpstreamError("no variant to send the request to")
    last = failed[-1][1]
    if len(failed) == 1:
        raise last
    summary = "; ".join(str(exc) for _, exc in failed)
    raise type(last)(f"all {len(failed)} candidate variants failed: {summary}") from last
