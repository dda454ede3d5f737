"""Work that stops when the client goes away: the upstream request is closed (vLLM then aborts
the generation) rather than computed, or streamed, for nobody."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

from starlette.requests import ClientDisconnect
from starlette.types import Receive

T = TypeVar("T")


async def unless_disconnected(receive: Receive, work: Awaitable[T]) -> T:
    """`work`, cancelled if the client goes away first (ClientDisconnect is raised then). The
    request body is read by now, so the next message the server has is the disconnect.

    asyncio's own primitives (a watcher task that cancels this one, as `asyncio.timeout`
    does), not a task group: a third of the cost, on the path every request takes (and on
    every stream, where Starlette's `StreamingResponse` would open a task group of its own
    under servers of ASGI spec < 2.4, uvicorn's among them)."""
    task = asyncio.current_task()
    assert task is not None
    gone = False

    async def watch() -> None:
        nonlocal gone
        while (await receive())["type"] != "http.disconnect":
            pass
        gone = True
        task.cancel()

    watcher = asyncio.create_task(watch())
    try:
        return await work
    except asyncio.CancelledError:
        # ours (the client left) unless someone else cancelled too: theirs goes on
        if gone and task.uncancel() == 0:
            raise ClientDisconnect() from None
        raise
    finally:
        # the watcher can only have cancelled this task while `work` was still awaited (it
        # runs only while this task waits), so no cancellation is left pending past here
        watcher.cancel()
