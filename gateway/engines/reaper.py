"""Takes down the engines a gateway leaves behind when it dies without stopping them.

The death signal an engine gets (process.py: PDEATHSIG SIGTERM) reaches its leader only, and
a vLLM server that is still starting ignores SIGTERM: a gateway killed with SIGKILL (or by
the OOM killer) left a 4.7 GB vLLM engine running. The reaper is a small process beside the
supervisor, in a session of its own (a signal to the gateway's process group does not reach
it). It reads from a pipe the process group of every engine the supervisor starts (`+pgid`)
and stops (`-pgid`). When the pipe closes without a `done` line, the gateway is gone: every
group still listed gets SIGTERM (and SIGCONT, for a stopped engine), then SIGKILL after
GRACE seconds.

Stdlib only: it runs as a script (`python -S this_file`), ~10 MB, started with the first
engine.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

GRACE = 10.0  # seconds an engine has to exit after SIGTERM, as when the gateway stops it


class Reaper:
    """The supervisor's side: starts the reaper process on the first `watch`."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen[bytes] | None = None

    def watch(self, pgid: int) -> None:
        if self._proc is None:
            self._proc = subprocess.Popen(
                [sys.executable, "-S", "-E", __file__],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        self._send(f"+{pgid}")

    def forget(self, pgid: int) -> None:
        if self._proc is not None:
            self._send(f"-{pgid}")

    def close(self) -> None:
        """The gateway stopped its engines itself: the reaper leaves."""
        if self._proc is None:
            return
        proc, self._proc = self._proc, None
        with contextlib.suppress(BrokenPipeError):
            assert proc.stdin is not None
            proc.stdin.write(b"done\n")
            proc.stdin.close()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:  # never seen; a stop must not hang on it
            proc.kill()
            proc.wait()

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def _send(self, line: str) -> None:
        assert self._proc is not None and self._proc.stdin is not None
        try:
            self._proc.stdin.write(line.encode() + b"\n")
            self._proc.stdin.flush()
        except BrokenPipeError:  # the reaper died: nothing left to tell it
            self._proc = None


def reap(lines: IO[str], grace: float = GRACE) -> set[int]:
    """Read the pipe to its end; the groups taken down (none after `done`)."""
    groups: set[int] = set()
    for line in lines:
        word = line.strip()
        if word == "done":
            return set()
        if word[:1] == "+":
            groups.add(int(word[1:]))
        elif word[:1] == "-":
            groups.discard(int(word[1:]))
    for sig in (signal.SIGTERM, signal.SIGCONT):
        _signal(groups, sig)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(_alive(g) for g in groups):
        time.sleep(0.1)
    _signal(groups, signal.SIGKILL)
    return groups


def _signal(groups: set[int], sig: int) -> None:
    for group in groups:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(group, sig)


def _alive(group: int) -> bool:
    """Whether any process of the group runs (zombies do not)."""
    return any(int(f[2]) == group and f[0] != "Z" for _, f in stats())


def stats() -> Iterator[tuple[Path, list[str]]]:
    """Every process's /proc folder and the fields of its `stat` after the command: state(0)
    ppid pgrp session ... utime(11) stime(12). Processes gone meanwhile are left out."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if len(fields) > 12:
            yield stat.parent, fields


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a terminal's ^C is for the gateway
    reap(sys.stdin)
