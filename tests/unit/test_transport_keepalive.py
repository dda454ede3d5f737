"""The gateway's upstream pool never reuses a connection the engine's server may be closing."""

from __future__ import annotations

import asyncio
import socket

import aiohttp
import pytest

from gateway.relay.transport import KEEPALIVE_S, AiohttpSender

UVICORN_KEEPALIVE_S = 5.0  # uvicorn's default, which llama-cpp-python's and vLLM's servers keep


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # free, and nothing listens once closed


def test_idle_connections_are_dropped_before_the_engines_close_them() -> None:
    async def connector_keepalive() -> float:
        sender = AiohttpSender(limit=4, connect_timeout=1.0)
        try:
            # the session is made on first use; a refused connection still makes it
            with pytest.raises(aiohttp.ClientConnectorError):
                await sender.send("GET", f"http://127.0.0.1:{closed_port()}/", None, {})
            assert sender._session is not None
            return float(sender._session.connector._keepalive_timeout)  # type: ignore[union-attr]
        finally:
            await sender.aclose()

    keepalive = asyncio.run(connector_keepalive())
    assert keepalive == KEEPALIVE_S
    assert keepalive <= UVICORN_KEEPALIVE_S / 2  # margin for a loaded machine's delays
