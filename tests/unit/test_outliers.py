"""Outlier ejection: consecutive failures eject a variant for a cooldown that doubles; a run of
successes resets it; never more than half of the variants at once."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from fastapi import FastAPI

from gateway.relay.outliers import Outliers
from tests.unit.fakes import FakeUpstreams


def fail(o: Outliers, name: str, times: int, now: float) -> None:
    for _ in range(times):
        o.report(name, ok=False, now=now)


def test_consecutive_failures_eject_for_a_doubling_cooldown() -> None:
    o = Outliers(["a", "b", "c", "d"], consecutive=3, base=10, longest=25, stable=2)
    fail(o, "a", 2, now=0)
    o.report("a", ok=True, now=0)  # a success breaks the run
    fail(o, "a", 2, now=0)
    assert not o.ejected("a", now=0)
    fail(o, "a", 1, now=0)
    assert o.ejected("a", now=5) and not o.ejected("a", now=10.5)
    fail(o, "a", 3, now=11)
    assert o.ejected("a", now=30) and not o.ejected("a", now=31.5)  # 20 s the second time
    fail(o, "a", 3, now=32)
    assert o.ejected("a", now=56) and not o.ejected("a", now=57.5)  # capped at 25 s
    o.report("a", ok=True, now=60)
    o.report("a", ok=True, now=60)  # stable again: the next cooldown is the base one
    fail(o, "a", 3, now=61)
    assert o.ejected("a", now=70) and not o.ejected("a", now=71.5)


def test_a_restarted_engine_is_readmitted_at_once() -> None:
    o = Outliers(["a", "b", "c"], consecutive=2, base=60)
    fail(o, "a", 2, now=0)
    assert o.ejected("a", now=1)
    o.reset("a")
    assert not o.ejected("a", now=1)


def test_never_more_than_half_of_the_variants_are_ejected() -> None:
    o = Outliers(["a", "b", "c", "d"], consecutive=1, base=10)
    for name in "abcd":
        o.report(name, ok=False, now=0)
    assert [o.ejected(n, now=1) for n in "abcd"] == [True, True, False, False]


@pytest.mark.anyio
async def test_a_failing_variant_is_ejected_and_skipped(
    make_app: Callable[..., FastAPI], upstreams: FakeUpstreams
) -> None:
    async def broken(request: httpx.Request) -> httpx.Response:
        return httpx.Response(500, json={"error": {"message": "boom"}})

    upstreams.set("w4", broken)
    app = make_app()
    chat = {"model": "demo", "messages": [{"role": "user", "content": "hello there"}]}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://g") as c:
        first = [await c.post("/v1/chat/completions", json=chat) for _ in range(5)]
        assert all(r.headers["x-quantgate-failover"] == "w4" for r in first)  # tried, failed
        later = await c.post("/v1/chat/completions", json=chat)
    assert later.status_code == 200
    assert "x-quantgate-failover" not in later.headers  # not tried any more
    assert "w4" in later.headers["x-quantgate-skipped"]
    assert len(upstreams.received["w4"]) == 5
