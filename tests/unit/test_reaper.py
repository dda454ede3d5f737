"""The reaper's protocol: groups it is told of, groups it forgets, and a clean goodbye."""

from __future__ import annotations

import io
import subprocess
import sys

from gateway.engines.reaper import reap


def test_a_clean_goodbye_takes_nothing_down() -> None:
    sleeper = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True
    )
    try:
        assert reap(io.StringIO(f"+{sleeper.pid}\ndone\n"), grace=0.1) == set()
        assert sleeper.poll() is None
    finally:
        sleeper.kill()
        sleeper.wait()


def test_a_closed_pipe_takes_down_the_groups_still_listed() -> None:
    kept, dropped = (
        subprocess.Popen(
            [sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True
        )
        for _ in range(2)
    )
    try:
        lines = f"+{kept.pid}\n+{dropped.pid}\n-{dropped.pid}\n"
        assert reap(io.StringIO(lines), grace=5) == {kept.pid}
        assert kept.wait(5) != 0  # SIGTERM
        assert dropped.poll() is None
    finally:
        for p in (kept, dropped):
            p.kill()
            p.wait()
