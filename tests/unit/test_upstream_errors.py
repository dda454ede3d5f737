"""How the relay names what the pool raised: aiohttp's errors reach it mapped by httpx-aiohttp,
whose map calls a dropped connection a connect timeout; the relay reads the cause."""

from __future__ import annotations

import aiohttp
import httpx
import pytest

from gateway.relay.upstream import Timeouts, Upstream
from quantgate.errors import UpstreamError, UpstreamUnavailable

pytestmark = pytest.mark.anyio


class Raising(httpx.AsyncBaseTransport):
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        raise self.exc


def mapped(cause: BaseException, as_: type[httpx.TransportError]) -> httpx.TransportError:
    """What httpx-aiohttp raises: the httpx error, from aiohttp's."""
    try:
        raise as_(str(cause)) from cause
    except httpx.TransportError as exc:
        return exc


async def open_with(exc: BaseException) -> UpstreamError:
    upstream = Upstream(
        "w4", "http://up/v1", Raising(exc), timeouts=Timeouts(1, 1, 1), served_model="m"
    )
    with pytest.raises(UpstreamError) as caught:
        await upstream.open("chat/completions", {"model": "x"}, stream=False)
    return caught.value


async def test_a_dropped_connection_is_a_failure_not_an_unreachable_variant() -> None:
    err = await open_with(mapped(aiohttp.ServerDisconnectedError(), httpx.ConnectTimeout))
    assert type(err) is UpstreamError
    assert "ServerDisconnectedError" in err.message


async def test_a_refused_connection_is_an_unreachable_variant() -> None:
    refused = aiohttp.ClientConnectorError(
        aiohttp.client_reqrep.ConnectionKey("up", 80, False, True, None, None, None),
        ConnectionRefusedError(111, "refused"),
    )
    err = await open_with(mapped(refused, httpx.ConnectError))
    assert isinstance(err, UpstreamUnavailable)
    assert "unreachable (ClientConnectorError)" in err.message


async def test_a_plain_httpx_error_keeps_its_own_name() -> None:
    err = await open_with(httpx.ConnectError("refused"))
    assert isinstance(err, UpstreamUnavailable) and "ConnectError" in err.message
