"""Every error leaves as the OpenAI envelope with the right status."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.unit.fakes import FakeUpstreams, down, hang, status

pytestmark = pytest.mark.anyio

CHAT = {"model": "demo", "messages": [{"role": "user", "content": "hi"}]}


def error_of(r: httpx.Response) -> dict:
    body = r.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"message", "type", "param", "code"}
    assert body["error"]["message"]
    return body["error"]


async def test_unknown_model_is_404_model_not_found(client: httpx.AsyncClient) -> None:
    r = await client.post("/v1/chat/completions", json={**CHAT, "model": "gpt-9"})
    assert r.status_code == 404
    err = error_of(r)
    assert err["code"] == "model_not_found"
    assert err["param"] == "model"
    assert "demo@w8" in err["message"]


async def test_unknown_variant_is_404(client: httpx.AsyncClient) -> None:
    r = await client.post("/v1/completions", json={"model": "demo@w2", "prompt": "x"})
    assert r.status_code == 404
    assert error_of(r)["code"] == "model_not_found"


@pytest.mark.parametrize(
    ("path", "body", "param"),
    [
        ("/v1/chat/completions", {"model": "demo"}, "messages"),
        ("/v1/chat/completions", {"model": "demo", "messages": []}, "messages"),
        ("/v1/chat/completions", {**CHAT, "messages": [{"role": "wizard"}]}, "messages.0.role"),
        ("/v1/chat/completions", {**CHAT, "max_tokens": 0}, "max_tokens"),
        ("/v1/chat/completions", {**CHAT, "temperature": 5}, "temperature"),
        ("/v1/chat/completions", {**CHAT, "stream": "yes please"}, "stream"),
        ("/v1/chat/completions", {**CHAT, "logit_bias": {"hello": 5}}, "logit_bias.hello.[key]"),
        ("/v1/chat/completions", {**CHAT, "logit_bias": {"-1": 5}}, "logit_bias.-1.[key]"),
        ("/v1/chat/completions", {**CHAT, "logit_bias": {"7": 101}}, "logit_bias.7"),
        ("/v1/chat/completions", {**CHAT, "top_logprobs": 21}, "top_logprobs"),
        ("/v1/chat/completions", {**CHAT, "presence_penalty": -3}, "presence_penalty"),
        ("/v1/completions", {"model": "demo", "prompt": "x", "seed": "7"}, "seed"),
        ("/v1/completions", {"model": "demo"}, "prompt"),
        ("/v1/completions", {"prompt": "x"}, "model"),
    ],
)
async def test_invalid_body_is_400_naming_the_field(
    client: httpx.AsyncClient, upstreams: FakeUpstreams, path: str, body: dict, param: str
) -> None:
    r = await client.post(path, json=body)
    assert r.status_code == 400
    err = error_of(r)
    assert err["type"] == "invalid_request_error"
    assert err["param"] == param
    assert all(v == [] for v in upstreams.received.values())


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b""])
async def test_malformed_json_is_400(client: httpx.AsyncClient, raw: bytes) -> None:
    r = await client.post(
        "/v1/chat/completions", content=raw, headers={"content-type": "application/json"}
    )
    assert r.status_code == 400
    assert error_of(r)["type"] == "invalid_request_error"


DEEP = b'{"model": "demo", "messages": ' + b"[" * 5000 + b"]" * 5000 + b"}"
BAD_INPUTS = [
    # (name, raw body, status, code)
    ("deep nesting beyond the parser", DEEP, 400, "invalid_request"),
    (
        "nesting beyond MAX_DEPTH",
        b'{"model": "demo", "metadata": ' + b'{"a":' * 40 + b"1" + b"}" * 40 + b"}",
        400,
        "invalid_request",
    ),
    (
        "lone surrogate in content",
        b'{"model": "demo", "messages": [{"role": "user", "content": "\\ud800"}]}',
        400,
        "invalid_request",
    ),
    (
        "lone surrogate in a forwarded field",
        b'{"model": "demo", "messages": [{"role": "user", "content": "hi"}], "user": "\\udfff"}',
        400,
        "invalid_request",
    ),
    (
        "lone surrogate in a key",
        b'{"model": "demo", "messages": [{"role": "user", "content": "hi"}], "\\ud800": 1}',
        400,
        "invalid_request",
    ),
    (
        "400-digit max_tokens",
        b'{"model": "demo", "messages": [{"role": "user", "content": "hi"}], "max_tokens": '
        + b"9" * 400
        + b"}",
        400,
        "invalid_request",
    ),
    (
        "a 19-digit seed beyond int64 that JSON parsers still read",
        b'{"model": "demo", "messages": [{"role": "user", "content": "hi"}], "seed": '
        + b"9" * 19
        + b"}",
        400,
        "invalid_request",
    ),
    (
        "NaN temperature",
        b'{"model": "demo", "messages": [{"role": "user", "content": "hi"}], "temperature": NaN}',
        400,
        "invalid_request",
    ),
    (
        "Infinity",
        b'{"model": "demo", "messages": [{"role": "user", "content": "hi"}], "top_p": -Infinity}',
        400,
        "invalid_request",
    ),
    (
        "invalid UTF-8",
        b'{"model": "demo", "messages": [{"role": "user", "content": "\xff\xfe"}]}',
        400,
        "invalid_request",
    ),
    (
        "control characters in strings",
        b'{"model": "demo\x01", "messages": []}',
        400,
        "invalid_request",
    ),
    (
        "huge array",
        b'{"model": "demo", "stop": [' + b'"x",' * 20000 + b'"x"]}',
        400,
        "invalid_request",
    ),
    (
        "unknown model",
        b'{"model": "nope", "messages": [{"role": "user", "content": "hi"}]}',
        404,
        "model_not_found",
    ),
    (
        "negative max_tokens",
        b'{"model": "demo", "messages": [{"role": "user", "content": "hi"}], "max_tokens": -5}',
        400,
        "invalid_request",
    ),
    (
        "a string where a number goes",
        b'{"model": "demo", "messages": [{"role": "user", "content": "hi"}], "top_p": "0.5"}',
        400,
        "invalid_request",
    ),
    (
        "n beyond OpenAI's 128",
        b'{"model": "demo", "messages": [{"role": "user", "content": "hi"}], "n": 100000}',
        400,
        "invalid_request",
    ),
    (
        "a pinned max_tokens beyond the variant's context",
        b'{"model": "demo@w4", "messages": [{"role": "user", "content": "hi"}], '
        b'"max_tokens": 1000000000}',
        400,
        "context_length_exceeded",
    ),
]


@pytest.mark.parametrize(
    ("name", "raw", "status", "code"), BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS]
)
async def test_bad_input_is_a_4xx_in_the_envelope(
    client: httpx.AsyncClient,
    upstreams: FakeUpstreams,
    name: str,
    raw: bytes,
    status: int,
    code: str,
) -> None:
    r = await client.post(
        "/v1/chat/completions", content=raw, headers={"content-type": "application/json"}
    )
    assert r.status_code == status, (name, r.text[:300])
    assert error_of(r)["code"] == code
    assert all(v == [] for v in upstreams.received.values())


@pytest.mark.parametrize("media", ["text/plain", "application/x-www-form-urlencoded", None])
async def test_only_json_bodies_are_read(
    client: httpx.AsyncClient, upstreams: FakeUpstreams, media: str | None
) -> None:
    """A web page may POST text/plain or a form cross-origin without a preflight: refused."""
    headers = {"content-type": media} if media else {}
    r = await client.post("/v1/chat/completions", content=json.dumps(CHAT), headers=headers)
    assert r.status_code == 415 and error_of(r)["code"] == "unsupported_media_type"
    ok = await client.post(
        "/v1/chat/completions",
        content=json.dumps(CHAT),
        headers={"content-type": "application/json; charset=utf-8"},
    )
    assert ok.status_code == 200


async def test_body_over_limit_is_413(make_app) -> None:
    app = make_app(max_body_bytes=1000)
    big = {**CHAT, "messages": [{"role": "user", "content": "x" * 2000}]}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://g") as c:
        r = await c.post("/v1/chat/completions", json=big)
        assert r.status_code == 413
        assert error_of(r)["code"] == "request_too_large"

        # a chunked body without content-length is cut off too
        async def body():
            yield b'{"model": "demo", "messages": [{"role": "user", "content": "'
            yield b"x" * 2000
            yield b'"}]}'

        json_type = {"content-type": "application/json"}
        r = await c.post("/v1/chat/completions", content=body(), headers=json_type)
        assert r.status_code == 413


@pytest.mark.parametrize(
    ("failure", "code", "status_code", "settings"),
    [
        (down, "upstream_unavailable", 503, {}),
        (lambda: status(500), "bad_gateway", 502, {}),
        (hang, "upstream_timeout", 504, {"first_byte_timeout": 0.1}),
    ],
    ids=["down", "500", "timeout"],
)
async def test_every_variant_failing(
    make_app, upstreams: FakeUpstreams, failure, code, status_code, settings
) -> None:
    for v in ("ref", "w8", "w4"):
        upstreams.set(v, failure())
    app = make_app(**settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://g") as c:
        r = await c.post("/v1/chat/completions", json=CHAT)
    assert r.status_code == status_code
    err = error_of(r)
    assert err["code"] == code
    assert all(name in err["message"] for name in ("ref", "w8", "w4"))


async def test_upstream_client_error_passes_through(
    client: httpx.AsyncClient, upstreams: FakeUpstreams
) -> None:
    upstreams.set("w4", status(400, "max_tokens is too large"))
    r = await client.post("/v1/chat/completions", json=CHAT)
    assert r.status_code == 400
    assert error_of(r)["message"] == "max_tokens is too large"
    assert upstreams.received["ref"] == []  # a 4xx is the caller's fault: no failover


async def test_unknown_route_and_method_use_the_envelope(client: httpx.AsyncClient) -> None:
    r = await client.post("/v1/embeddings", json={"model": "m", "input": "hi"})
    assert r.status_code == 404
    error = error_of(r)
    assert error["message"].startswith("Invalid URL (POST /v1/embeddings); served: POST /v1/chat")
    assert error["type"] == "invalid_request_error"  # as OpenAI answers an unknown path
    r = await client.get("/v1/chat/completions")
    assert r.status_code == 405
    assert error_of(r)["message"] == "Method not allowed (GET /v1/chat/completions); allowed: POST"


def test_a_long_number_is_found_wherever_a_digit_run_is() -> None:
    """The body check finds 19 digits in a row exactly where the regex `\\d{19}` would, on
    random bytes (digits, letters, UTF-8 bytes, backslashes), runs of every length near 19."""
    import random
    import re

    from gateway.api.body import _may_break_rules

    regex = re.compile(rb"\d{19}")
    rng = random.Random(3)
    found = 0
    for _ in range(5000):
        raw = bytes(rng.choice(b'0123456789a "\\\xff\x80:') for _ in range(rng.randrange(40)))
        raw += b"7" * rng.randrange(15, 22) + raw[:5]
        expected = regex.search(raw) is not None
        assert _may_break_rules(raw) == expected, raw  # (no bracket, no `\\u` here)
        found += expected
    assert 1000 < found < 4000
