from __future__ import annotations

import httpx
import pytest

from tests.unit.fakes import FakeUpstreams, down, hang

pytestmark = pytest.mark.anyio


async def test_models_lists_the_model_and_every_variant(client: httpx.AsyncClient) -> None:
    r = await client.get("/v1/models")
    assert r.status_code == 200
    ids = [m["id"] for m in r.json()["data"]]
    assert ids == ["demo", "demo@ref", "demo@w8", "demo@w4"]
    assert all(m["object"] == "model" for m in r.json()["data"])


async def test_each_model_is_retrieved_by_its_id(client: httpx.AsyncClient) -> None:
    listed = (await client.get("/v1/models")).json()["data"]
    for card in listed:
        r = await client.get(f"/v1/models/{card['id']}")
        assert r.status_code == 200 and r.json() == card
    r = await client.get("/v1/models/demo@nope")
    assert r.status_code == 404
    error = r.json()["error"]
    assert error["code"] == "model_not_found" and error["param"] == "model"
    assert "demo@w4" in error["message"]  # what is there instead


async def test_health_is_liveness_only(make_app, upstreams: FakeUpstreams) -> None:
    for v in ("ref", "w8", "w4"):
        upstreams.set(v, down())
    app = make_app()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://g") as c:
        assert (await c.get("/health")).status_code == 200
        r = await c.get("/ready")
    assert r.status_code == 503
    assert r.json()["variants"] == {"ref": "down", "w8": "down", "w4": "down"}


async def test_ready_when_one_variant_answers(make_app, upstreams: FakeUpstreams) -> None:
    upstreams.set("ref", down())
    upstreams.set("w8", hang())
    app = make_app(ready_timeout=0.2)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://g") as c:
        r = await c.get("/ready")
    assert r.status_code == 200
    variants = {"ref": "down", "w8": "down", "w4": "up"}
    assert r.json() == {"status": "ready", "variants": variants, "load": {}}  # none publish it
