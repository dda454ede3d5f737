"""Try the candidates in order until one answers; fail over only before the first byte."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gateway.relay.admission import Admission
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
    admission: Admission,
    headers: Mapping[str, str] | None = None,
    adapt: Callable[[str, dict[str, Any]], dict[str, Any]] | None = None,
) -> Served:
    """Open a reply from the first candidate that gives one; raise if none does.

    Each candidate is admitted first (`admission`: the first with room, or a bounded wait for
    the first choice; `Overloaded` past that). Each candidate that fails is released and
    appended to `failed` as (variant, error). The one that answers stays admitted: the caller
    releases it when the request ends. Once a reply is returned nothing here is retried: the
    caller commits it to the client. The error raised when every candidate failed is the last
    one's kind, naming them all. `adapt(variant, body)` gives the body as that variant's
    engine spells it.
    """
    remaining = list(candidates)
    while remaining:
        name = await admission.admit([u.name for u in remaining])
        upstream = next(u for u in remaining if u.name == name)
        remaining.remove(upstream)
        try:
            payload = adapt(upstream.name, body) if adapt is not None else body
            reply = await upstream.open(path, payload, stream=stream, headers=headers)
        except UpstreamError as exc:
            failed.append((upstream.name, exc))
            admission.release(name)
            continue
        except BaseException:
            admission.release(name)
            raise
        return Served(reply, upstream)
    if not failed:
        raise UpstreamError("no variant to send the request to")
    last = failed[-1][1]
    if len(failed) == 1:
        raise last
    summary = "; ".join(str(exc) for _, exc in failed)
    raise type(last)(f"all {len(failed)} candidate variants failed: {summary}") from last
