"""`quantgate eval` stopped with SIGTERM mid-run stops the gateway it started (which runs in
its own session, so nothing else would)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.integration.conftest import external_profile, start_mock
from tests.integration.processes import Process, alive, quantgate

pytestmark = pytest.mark.integration


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:  # the parent's pid, after the state
                found.append(int(entry.name))
    return found


def test_sigterm_stops_the_gateway_the_eval_started(
    processes: Callable[..., Process], tmp_path: Path
) -> None:
    mock, _ = start_mock(processes, "slow", ttft_ms=120_000)  # every answer hangs
    profile = external_profile(tmp_path / "p.yaml", mock, served_model="up-slow")
    argv = quantgate(
        "eval", "--profile", str(profile), "--tasks", "lambada", "--limit", "2",
        "--out", str(tmp_path / "runs"),
    )  # fmt: skip
    log = (tmp_path / "eval.log").open("w+")
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, text=True)
    served: list[int] = []
    try:
        deadline = time.monotonic() + 60  # hang guards, not timing assertions
        while not (port := re.search(r"on port (\d+)", Path(log.name).read_text())):
            assert proc.poll() is None and time.monotonic() < deadline, Path(log.name).read_text()
            time.sleep(0.2)
        gateway = f"http://127.0.0.1:{port[1]}"
        while True:
            try:
                if httpx.get(gateway + "/ready", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline
            time.sleep(0.2)
        served += children(proc.pid)
        assert served, "the gateway is the eval's child"
        time.sleep(1)  # the eval asks its first question, whose answer never comes
        assert proc.poll() is None
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=90)
        assert all(not alive(pid) for pid in served), served
        with pytest.raises(httpx.ConnectError):
            httpx.get(gateway + "/health", timeout=2)
    finally:
        if proc.poll() is None:
            proc.kill()
        for pid in served:  # had the eval left it running (as it did), it goes now
            if alive(pid):
                os.killpg(pid, signal.SIGKILL)
