"""Processes for the benchmarks: free ports on 127.0.0.1, readiness, pinning to cores."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Sequence

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pinned(argv: Sequence[str], cores: Sequence[int] | None) -> list[str]:
    """`argv` run on `cores` only (all of them when None)."""
    return ["taskset", "-c", ",".join(map(str, cores)), *argv] if cores else list(argv)


def start(
    argv: Sequence[str], env: dict[str, str] | None = None, cores: Sequence[int] | None = None
) -> subprocess.Popen[bytes]:
    """`argv`, quiet, pinned to `cores`."""
    return subprocess.Popen(
        pinned(argv, cores),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
    )


def quantgate(
    args: Sequence[str], env: dict[str, str] | None = None, cores: Sequence[int] | None = None
) -> subprocess.Popen[bytes]:
    return start([sys.executable, "-m", "quantgate", *args], env, cores)


def openai_upstream(cores: Sequence[int] | None) -> tuple[subprocess.Popen[bytes], str]:
    """bench/openai_upstream.py on a free port, pinned to `cores`, once it answers: the
    process and its base URL."""
    port = free_port()
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "openai_upstream.py")
    proc = start([sys.executable, script, str(port)], cores=cores)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_http(base + "/v1/models", proc)
    except BaseException:
        stop(proc)
        raise
    return proc, base


def wait_http(url: str, proc: subprocess.Popen[bytes] | None = None, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{proc.args} exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise TimeoutError(url)


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
