"""Start and stop real processes for tests: free ports on 127.0.0.1, readiness, stop by PID."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import httpx

from gateway.engines.process import die_with_parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Process:
    """A child process whose output goes to a log file; stopped by PID, never by name."""

    def __init__(
        self, name: str, args: Sequence[str], log_dir: Path, env: dict[str, str] | None = None
    ) -> None:
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            list(args),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
            start_new_session=True,
            preexec_fn=die_with_parent,  # a killed test run leaves nothing behind
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log_tail(self, lines: int = 30) -> str:
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def wait_http(self, url: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with {self.proc.returncode}:\n{self.log_tail()}"
                )
            try:
                if httpx.get(url, timeout=1.0).status_code < 500:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"{self.name} not ready at {url} in {timeout} s:\n{self.log_tail()}")

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        if self.proc.poll() is None:
            os.killpg(self.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self, timeout: float = 10.0) -> None:
        if self.proc.poll() is None:
            os.killpg(self.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self._log.close()


def alive(pid: int) -> bool:
    """Running: a zombie has exited (only its parent has not read its status yet)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


T = TypeVar("T")


def wait_until(
    read: Callable[[], T],
    done: Callable[[T], object] = bool,
    *,
    seconds: float,
    what: str,
    every: float = 0.2,
) -> T:
    """Read until `done(value)` holds, and return that value. A hang guard, never a timing
    assertion: after `seconds` an AssertionError names `what` and the last value read."""
    deadline = time.monotonic() + seconds
    while not done(value := read()):
        assert time.monotonic() < deadline, f"not within {seconds} s: {what} (last read {value!r})"
        time.sleep(every)
    return value


def quantgate(*args: str) -> list[str]:
    return [sys.executable, "-m", "quantgate", *args]
