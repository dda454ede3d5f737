"""`quantgate serve` stops its engines when SIGTERM comes before uvicorn has taken over."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

CHILD = """
import time
from quantgate.cli.serve import _exit_on_sigterm
_exit_on_sigterm()
try:
    print("starting the engines", flush=True)
    time.sleep(60)
finally:
    print("engines stopped", flush=True)
"""


def test_sigterm_while_engines_start_runs_the_cleanup() -> None:
    """By default SIGTERM ends a process at once, `finally` unrun: the engines (a vLLM server
    ignores SIGTERM while it starts) would outlive the gateway."""
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD], stdout=subprocess.PIPE, text=True, env=os.environ
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "starting the engines"
    time.sleep(0.2)  # inside the try
    child.send_signal(signal.SIGTERM)
    out, _ = child.communicate(timeout=30)
    assert "engines stopped" in out
    assert child.returncode == 128 + signal.SIGTERM
