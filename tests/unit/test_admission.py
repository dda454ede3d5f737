"""Admission control: each variant serves at most `limit` requests at once; the rest queue
(bounded, for a bounded time) or get 429 with Retry-After. Nothing is dropped silently."""

from __future__ import annotations

from collections.abc import Callable

import anyio
import httpx
import pytest
from fastapi import FastAPI

from gateway.relay.admission import Admission
from quantgate.errors import Overloaded
from tests.unit.fakes import FakeUpstreams

pytestmark = pytest.mark.anyio

PINNED = {"model": "demo@w4", "messages": [{"role": "user", "content": "hello there"}]}


async def test_the_first_candidate_with_room_is_taken() -> None:
    gate = Admission({"a": 1, "b": 1}, queue=0, wait=1.0)
    assert await gate.admit(["a", "b"]) == "a"
    assert await gate.admit(["a", "b"]) == "b"  # a is full: its next admissible twin
    with pytest.raises(Overloaded) as refused:
        await gate.admit(["a", "b"])  # both full, no queue
    assert refused.value.status == 429 and refused.value.retry_after >= 1
    gate.release("a")
    assert await gate.admit(["a", "b"]) == "a"


async def test_a_queued_request_gets_the_slot_a_release_frees() -> None:
    gate = Admission({"a": 1}, queue=1, wait=5.0)
    assert await gate.admit(["a"]) == "a"
    got: list[str] = []
    async with anyio.create_task_group() as tg:
        tg.start_soon(lambda: _append(got, gate.admit(["a"])))
        with anyio.fail_after(2):
            while not gate.queued["a"]:  # noqa: ASYNC110
                await anyio.sleep(0.01)
        with pytest.raises(Overloaded, match="1 queued"):
            await gate.admit(["a"])  # the queue is full
        assert not gate.try_admit("a")
        gate.release("a")
    assert got == ["a"] and gate.active["a"] == 1 and gate.queued["a"] == 0


async def test_a_queued_request_gives_up_after_the_wait() -> None:
    gate = Admission({"a": 1}, queue=4, wait=0.2)
    await gate.admit(["a"])
    with pytest.raises(Overloaded, match=r"stayed at its limit .* for 0.2 s"):
        await gate.admit(["a"])
    assert gate.queued["a"] == 0 and gate.active["a"] == 1


async def _append(out: list[str], pending: object) -> None:
    out.append(await pending)  # type: ignore[misc]


async def test_past_the_limit_and_queue_clients_get_429_in_the_envelope(
    make_app: Callable[..., FastAPI], upstreams: FakeUpstreams
) -> None:
    release = anyio.Event()
    mock = FakeUpstreams._mock("w4")

    async def slow(request: httpx.Request) -> httpx.Response:
        await release.wait()
        return await mock(request)

    upstreams.set("w4", slow)
    app = make_app(max_connections=1, max_queue=1, queue_timeout=10)
    statuses: list[int] = []
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://g") as c:

        async def ask() -> None:
            statuses.append((await c.post("/v1/chat/completions", json=PINNED)).status_code)

        async with anyio.create_task_group() as tg:
            tg.start_soon(ask)  # admitted
            tg.start_soon(ask)  # queued
            admission = app.state.gateway.admission
            with anyio.fail_after(5):
                while admission.queued["w4"] < 1:  # noqa: ASYNC110
                    await anyio.sleep(0.01)
            refused = await c.post("/v1/chat/completions", json=PINNED)
            release.set()
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1
    error = refused.json()["error"]
    assert error["code"] == "overloaded" and "w4" in error["message"]
    assert sorted(statuses) == [200, 200]  # the queued one was served, not dropped
    assert admission.active["w4"] == 0  # every slot given back
    await app.state.gateway.pool.aclose()
