"""`quantgate serve` on an address it cannot bind: a clear error at once, before any engine."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

DEMO = Path(__file__).resolve().parents[2] / "profiles" / "demo-llamacpp.yaml"


def serve(*args: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "quantgate", "serve", "--profile", str(DEMO), *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=100)


def test_a_port_in_use_is_refused_before_the_engines_start() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = serve("--port", str(port))
    assert done.returncode == 2, done.stderr
    assert f"cannot serve on 127.0.0.1:{port}: in use" in done.stderr
    assert "starting the engines" not in done.stderr  # nothing was built or started


def test_an_address_not_on_this_machine_is_refused() -> None:
    done = serve("--host", "192.0.2.1", "--port", "8080")  # TEST-NET-1: never local
    assert done.returncode == 2, done.stderr
    assert "cannot serve on 192.0.2.1:8080" in done.stderr
