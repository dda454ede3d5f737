"""API keys: hashed on disk, asked for on every API call once configured, limited per
minute, revocable without a restart; engine details only for admins."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

import httpx
import pytest
from fastapi import FastAPI

from quantgate import keys
from quantgate.errors import ConfigError

pytestmark = pytest.mark.anyio

CHAT = {"model": "demo@w4", "messages": [{"role": "user", "content": "hello there"}]}


def test_the_secret_is_shown_once_and_only_its_hash_is_stored(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    secret = keys.add(path, "alice", rpm=10)
    assert secret.startswith("qg-") and len(secret) > 40
    text = path.read_text()
    assert secret not in text and keys.digest(secret) in text
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [k.name for k in keys.load(path).values()] == ["alice"]
    with pytest.raises(ConfigError, match="exists"):
        keys.add(path, "alice")
    keys.revoke(path, "alice")
    assert keys.load(path) == {}
    with pytest.raises(ConfigError, match="no key named"):
        keys.revoke(path, "alice")
    path.write_text("{not json")
    with pytest.raises(ConfigError, match="not a quantgate keys file"):
        keys.load(path)


@pytest.fixture
def keyed(tmp_path: Path, make_app: Callable[..., FastAPI]) -> tuple[FastAPI, Path, dict[str, str]]:
    path = tmp_path / "keys.json"
    secrets = {
        "user": keys.add(path, "user", rpm=2),
        "admin": keys.add(path, "ops", admin=True),
    }
    return make_app(keys_file=path), path, secrets


def bearer(secret: str) -> dict[str, str]:
    return {"authorization": f"Bearer {secret}"}


async def test_api_calls_need_a_valid_key(keyed: tuple[FastAPI, Path, dict[str, str]]) -> None:
    app, path, secrets = keyed
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://g") as c:
        for headers in ({}, bearer("qg-wrong"), {"authorization": "Basic abc"}):
            r = await c.post("/v1/chat/completions", json=CHAT, headers=headers)
            assert r.status_code == 401, headers
            assert r.json()["error"]["code"] == "invalid_api_key"
        assert (await c.get("/v1/models")).status_code == 401
        ok = await c.post("/v1/chat/completions", json=CHAT, headers=bearer(secrets["admin"]))
        assert ok.status_code == 200
        assert (await c.get("/health")).status_code == 200  # liveness needs no key
        keys.revoke(path, "ops")  # takes effect on the next request, no restart
        gone = await c.post("/v1/chat/completions", json=CHAT, headers=bearer(secrets["admin"]))
        assert gone.status_code == 401 and "revoked" in gone.json()["error"]["message"]


async def test_a_key_is_held_to_its_requests_per_minute(
    keyed: tuple[FastAPI, Path, dict[str, str]],
) -> None:
    app, _, secrets = keyed
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://g") as c:
        codes = [
            (await c.post("/v1/chat/completions", json=CHAT, headers=bearer(secrets["user"])))
            for _ in range(3)
        ]
    assert [r.status_code for r in codes] == [200, 200, 429]
    assert codes[2].json()["error"]["code"] == "rate_limit_exceeded"
    assert 1 <= int(codes[2].headers["retry-after"]) <= 30  # one request of 2/min: 30 s


async def test_engine_details_are_for_admins(
    keyed: tuple[FastAPI, Path, dict[str, str]], make_app: Callable[..., FastAPI], tmp_path: Path
) -> None:
    app, _, secrets = keyed
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://g") as c:
        assert (await c.get("/sd/engines", headers=bearer(secrets["user"]))).status_code == 403
        assert (await c.get("/sd/engines")).status_code == 401
        assert (await c.get("/sd/engines", headers=bearer(secrets["admin"]))).status_code == 200
    # no keys: open to this machine, closed to other hosts
    open_app = make_app(keys_file=tmp_path / "none.json")
    remote = httpx.ASGITransport(app=open_app, client=("203.0.113.9", 5000))
    async with httpx.AsyncClient(transport=remote, base_url="http://g") as c:
        r = await c.get("/sd/engines")
        assert r.status_code == 403 and r.json()["error"]["code"] == "admin_key_required"
    local = httpx.ASGITransport(app=open_app)
    async with httpx.AsyncClient(transport=local, base_url="http://g") as c:
        assert (await c.get("/sd/engines")).json() == []


def test_the_keys_file_is_json_a_person_can_read(tmp_path: Path) -> None:
    path = tmp_path / "k.json"
    keys.add(path, "ci", admin=True, rpm=60)
    (entry,) = json.loads(path.read_text())["keys"]
    assert entry["name"] == "ci" and entry["admin"] is True and entry["rpm"] == 60


class _Supervisor:
    unsupported: ClassVar[dict[str, str]] = {}

    def healthy(self, name: str) -> bool:
        return True

    def status(self) -> dict[str, dict[str, object]]:
        return {"w4": {"state": "healthy", "pid": 4242, "restarts": 0, "log": "/x/w4.log"}}


async def test_ready_names_pids_and_logs_to_admins_only(
    keyed: tuple[FastAPI, Path, dict[str, str]],
) -> None:
    app, _, secrets = keyed
    app.state.gateway.supervisor = _Supervisor()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://g") as c:
        public = await c.get("/ready")
        user = await c.get("/ready", headers=bearer(secrets["user"]))
        admin = await c.get("/ready", headers=bearer(secrets["admin"]))
    assert public.status_code == 200 and "engines" not in public.json()
    assert public.json()["variants"]["w4"] == "up"
    assert "engines" not in user.json()
    assert admin.json()["engines"]["w4"]["pid"] == 4242


async def test_the_access_log_names_the_key_and_never_holds_it(
    keyed: tuple[FastAPI, Path, dict[str, str]], caplog: pytest.LogCaptureFixture
) -> None:
    app, _, secrets = keyed
    caplog.set_level("INFO", logger="quantgate.access")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://g") as c:
        await c.post("/v1/chat/completions", json=CHAT, headers=bearer(secrets["admin"]))
        await c.post("/v1/chat/completions", json=CHAT, headers=bearer("qg-not-a-key"))
    records = [r for r in caplog.records if r.name == "quantgate.access"]
    assert [getattr(r, "key", None) for r in records] == ["ops", None]
    assert [getattr(r, "status", None) for r in records] == [200, 401]
    logged = " ".join(str(vars(r)) for r in caplog.records)
    assert secrets["admin"] not in logged and "qg-not-a-key" not in logged


async def test_a_key_is_held_to_its_tokens_per_minute(
    tmp_path: Path, make_app: Callable[..., FastAPI]
) -> None:
    path = tmp_path / "keys.json"
    secret = keys.add(path, "batch", tpm=20)
    app = make_app(keys_file=path)
    body = {**CHAT, "max_tokens": 16}  # the mock answers 16 tokens, plus the prompt's
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://g") as c:
        first = await c.post("/v1/chat/completions", json=body, headers=bearer(secret))
        second = await c.post("/v1/chat/completions", json=body, headers=bearer(secret))
        third = await c.post("/v1/chat/completions", json=body, headers=bearer(secret))
    assert first.status_code == 200 and second.status_code == 200  # 20 - 18: still above 0
    assert third.status_code == 429  # 20 - 36 < 0: wait for the refill
    assert "tokens per minute" in third.json()["error"]["message"]
    assert int(third.headers["retry-after"]) >= 40  # 16+ tokens at 20 a minute


async def test_a_key_may_be_held_to_some_variants(
    tmp_path: Path, make_app: Callable[..., FastAPI]
) -> None:
    path = tmp_path / "keys.json"
    secret = keys.add(path, "cheap", variants=("w4",))
    app = make_app(keys_file=path)
    routed = {"model": "demo", "messages": [{"role": "user", "content": "hello there"}]}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://g") as c:
        ok = await c.post("/v1/chat/completions", json=routed, headers=bearer(secret))
        pinned = await c.post(
            "/v1/chat/completions", json={**routed, "model": "demo@ref"}, headers=bearer(secret)
        )
    assert ok.status_code == 200 and ok.headers["x-quantgate-variant"] == "w4"
    assert pinned.status_code == 403
    assert pinned.json()["error"]["code"] == "variant_not_allowed"
    assert keys.load(path)[keys.digest(secret)].variants == ("w4",)


def test_a_key_held_to_variants_the_profile_does_not_serve_is_named(
    tmp_path: Path, make_app: Callable[..., FastAPI], caplog: pytest.LogCaptureFixture
) -> None:
    """A typo in `--variants` made a key that got 403 on every request, silently: `keys add
    --profile` refuses it, and a gateway names it when it starts."""
    from typer.testing import CliRunner

    from quantgate.cli.main import app

    path = tmp_path / "keys.json"
    demo = str(Path(__file__).resolve().parents[2] / "profiles" / "demo-llamacpp.yaml")
    argv = ["keys", "add", "ci", "--variants", "q8_0,q8", "--file", str(path)]
    refused = CliRunner().invoke(app, [*argv, "--profile", demo])
    assert isinstance(refused.exception, ConfigError) and not path.exists()  # main(): exit 2
    said = str(refused.exception)
    assert said.startswith("--variants q8: not a variant of") and "q4_k_m" in said
    assert CliRunner().invoke(app, [*argv[:4], "q8_0", *argv[5:], "-p", demo]).exit_code == 0
    keys.add(path, "typo", variants=("w4", "w8-typo"))
    with caplog.at_level("WARNING", logger="quantgate.gateway"):
        make_app(keys_file=path)
    assert "key 'typo' may use w8-typo, which this profile does not serve" in caplog.text


async def test_metrics_can_be_put_behind_an_admin_key(
    tmp_path: Path, make_app: Callable[..., FastAPI]
) -> None:
    path = tmp_path / "keys.json"
    user, admin = keys.add(path, "u"), keys.add(path, "ops", admin=True)
    guarded = make_app(keys_file=path, admin_metrics=True)
    transport = httpx.ASGITransport(app=guarded)
    async with httpx.AsyncClient(transport=transport, base_url="http://g") as c:
        assert (await c.get("/metrics")).status_code == 401
        assert (await c.get("/metrics", headers=bearer(user))).status_code == 403
        ok = await c.get("/metrics", headers=bearer(admin))
    assert ok.status_code == 200 and "quantgate_requests" in ok.text
    open_app = make_app(keys_file=path)  # the default: Prometheus scrapes without a key
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=open_app), base_url="http://g"
    ) as c:
        assert (await c.get("/metrics")).status_code == 200


async def test_each_keys_requests_and_tokens_are_counted_under_its_name(
    keyed: tuple[FastAPI, Path, dict[str, str]],
) -> None:
    app, _, secrets = keyed
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://g") as c:
        for _ in range(3):  # "user" may send 2 a minute: the third is refused, and counted
            await c.post("/v1/chat/completions", json=CHAT, headers=bearer(secrets["user"]))
        await c.post("/v1/chat/completions", json=CHAT, headers=bearer(secrets["admin"]))
        await c.post("/v1/chat/completions", json=CHAT, headers=bearer("qg-not-a-key"))
        text = (await c.get("/metrics", headers=bearer(secrets["admin"]))).text
    samples = {
        line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("quantgate_key_")
    }
    assert samples['quantgate_key_requests_total{key="user",status="200"}'] == 2
    assert samples['quantgate_key_requests_total{key="user",status="429"}'] == 1
    assert samples['quantgate_key_requests_total{key="ops",status="200"}'] == 1
    assert samples['quantgate_key_tokens_total{key="user",kind="completion"}'] > 0
    assert not any("qg-" in name for name in samples)  # an unknown key has no series


def test_keys_count_from_the_next_request_whether_the_file_comes_or_goes(tmp_path: Path) -> None:
    """A gateway started with no keys file is open; the first key written closes it on the
    next look, a revoked key is gone on the next, and removing the file opens it again."""
    from gateway.access import KeyCheck

    path = tmp_path / "keys.json"
    check = KeyCheck(path)
    assert check.keys() == {} and not check.required
    secret = keys.add(path, "alice")
    assert [k.name for k in check.keys().values()] == ["alice"]
    keys.add(path, "bob")
    keys.revoke(path, "alice")
    assert [k.name for k in check.keys().values()] == ["bob"]
    known = check.keys()
    assert keys.digest(secret) not in known
    path.unlink()
    assert check.keys() == {} and not check.required
    keys.add(path, "carol")
    assert [k.name for k in check.keys().values()] == ["carol"]


def test_a_rewrite_of_the_same_size_in_the_same_clock_tick_is_seen(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A key revoked and another of the same shape added within one tick of the file
    system's clock leave the file's size, mtime and (reused by the rename) inode as they
    were: the revoked key must still stop working. A file that young is read again on every
    request; an older one only when its stamp changes."""
    from gateway.access import KeyCheck

    path = tmp_path / "keys.json"
    keys.add(path, "alice")
    check = KeyCheck(path)
    before = {k.name for k in check.keys().values()}
    stat_before = path.stat()
    keys.revoke(path, "alice")
    keys.add(path, "carol")  # same length of name: the same size of file
    assert path.stat().st_size == stat_before.st_size
    os.utime(path, ns=(stat_before.st_atime_ns, stat_before.st_mtime_ns))  # the same tick
    assert before == {"alice"}
    assert {k.name for k in check.keys().values()} == {"carol"}
    loads = []
    real = keys.load
    monkeypatch.setattr(keys, "load", lambda p: loads.append(p) or real(p))
    old = path.stat().st_mtime_ns - 10_000_000_000
    os.utime(path, ns=(old, old))  # ten seconds old
    check.keys()  # its stamp changed: read once
    for _ in range(3):
        assert {k.name for k in check.keys().values()} == {"carol"}
    assert len(loads) == 1


def test_a_broken_keys_file_leaves_the_keys_before_in_force(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A keys file half-edited by hand is not every request's 500, nor an open API: the keys
    read before still hold, the error is logged once, and the mended file counts again."""
    from gateway.access import KeyCheck

    path = tmp_path / "keys.json"
    keys.add(path, "alice")
    check = KeyCheck(path)  # what the gateway starts with, before any request
    path.write_text('{"keys": [{"name": "bob"')  # cut off
    for _ in range(3):
        assert {k.name for k in check.keys().values()} == {"alice"}
    (error,) = [r for r in caplog.records if r.levelname == "ERROR"]
    assert "not a quantgate keys file" in error.getMessage()
    assert "the 1 keys read before stay in force" in error.getMessage()
    path.unlink()
    keys.add(path, "bob")
    assert {k.name for k in check.keys().values()} == {"bob"}


def test_a_broken_keys_file_stops_the_start(tmp_path: Path) -> None:
    from gateway.access import KeyCheck

    path = tmp_path / "keys.json"
    path.write_text("{bad")
    with pytest.raises(ConfigError, match="not a quantgate keys file"):
        KeyCheck(path)
