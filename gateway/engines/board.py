"""The engines' live state, shared between the supervisor's process and the gateway's workers.

With `quantgate serve --workers N`, one process starts and supervises the engines and N
worker processes serve the API. They share one small file mapped into each of them: per
variant, the supervisor writes its engine's state, PID and restart count; per worker, a row
of flags saying on which variants that worker has requests in flight (what the supervisor
needs to tell a busy engine from a hung one). Each slot has one writer, so no lock is needed
but the one a worker takes to claim its row.

`WorkerEngines` is a worker's view of the engines: what the app asks of a supervisor
(health, status, endpoints), read from the board.
"""

from __future__ import annotations

import fcntl
import logging
import mmap
import os
from collections.abc import Callable, Mapping
from pathlib import Path

import anyio

from gateway.engines.supervisor import State

log = logging.getLogger("quantgate.engines")

STATES = list(State)
_HEADER = 3  # version, variants, worker rows
_VERSION = 1
_PER_VARIANT = 3  # state, pid, restarts


class EngineBoard:
    def __init__(self, path: Path, variants: list[str], workers: int) -> None:
        self.path = path
        self.variants = variants
        self.index = {name: i for i, name in enumerate(variants)}
        self.workers = workers
        self._file = path.open("r+b")
        self._map = mmap.mmap(self._file.fileno(), 0)  # the whole file
        self.cells = memoryview(self._map).cast("q")  # aligned 8-byte words
        if tuple(self.cells[:_HEADER]) != (_VERSION, len(variants), workers):
            self.close()
            raise ValueError(f"{path} is not a board of {len(variants)} variants, {workers} rows")

    @classmethod
    def create(cls, path: Path, variants: list[str], workers: int) -> EngineBoard:
        size = _HEADER + _PER_VARIANT * len(variants) + workers * (1 + len(variants))
        words = [_VERSION, len(variants), workers] + [0] * (size - _HEADER)
        path.write_bytes(b"".join(w.to_bytes(8, "little", signed=True) for w in words))
        return cls(path, variants, workers)

    def _engine(self, name: str) -> int:
        return _HEADER + _PER_VARIANT * self.index[name]

    def _row(self, row: int) -> int:
        return _HEADER + _PER_VARIANT * len(self.variants) + row * (1 + len(self.variants))

    # the supervisor's side
    def publish(self, status: Mapping[str, Mapping[str, object]]) -> None:
        """Write each engine's state, PID and restarts (Supervisor.status())."""
        for name, s in status.items():
            at = self._engine(name)
            self.cells[at + 1] = int(s["pid"] or 0)  # type: ignore[call-overload]
            self.cells[at + 2] = int(s["restarts"])  # type: ignore[call-overload]
            self.cells[at] = STATES.index(State(str(s["state"])))

    def busy(self, name: str) -> bool:
        """Does any worker have requests in flight on `name`?"""
        i = self.index[name]
        for r in range(self.workers):
            at = self._row(r)
            owner = self.cells[at]
            if owner and self.cells[at + 1 + i] and _alive(owner):
                return True
        return False

    # a worker's side
    def claim(self, pid: int) -> int:
        """A row for the worker `pid`: a free one, or one whose worker has died."""
        with self.path.open("r+b") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            for r in range(self.workers):
                owner = self.cells[self._row(r)]
                if owner == 0 or owner == pid or not _alive(owner):
                    at = self._row(r)
                    for i in range(len(self.variants)):
                        self.cells[at + 1 + i] = 0
                    self.cells[at] = pid
                    return r
        raise RuntimeError(f"all {self.workers} worker rows of {self.path} are taken")

    def release(self, row: int) -> None:
        self.cells[self._row(row)] = 0

    def set_busy(self, row: int, name: str, busy: bool) -> None:
        self.cells[self._row(row) + 1 + self.index[name]] = int(busy)

    def state(self, name: str) -> State:
        return STATES[self.cells[self._engine(name)]]

    def pid(self, name: str) -> int:
        return self.cells[self._engine(name) + 1]

    def restarts(self, name: str) -> int:
        return self.cells[self._engine(name) + 2]

    def close(self) -> None:
        self.cells.release()
        self._map.close()
        self._file.close()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class WorkerEngines:
    """The managed engines as one worker sees them: the supervisor's process runs them."""

    def __init__(
        self,
        board: EngineBoard,
        endpoints: Mapping[str, str],
        served_models: Mapping[str, str],
        logs: Mapping[str, str],
        ports: Mapping[str, int],
        interval: float = 0.2,
        unsupported: Mapping[str, str] | None = None,
    ) -> None:
        self.board = board
        self.unsupported = dict(unsupported or {})
        self.endpoints = dict(endpoints)
        self.served_models = dict(served_models)
        self.logs = dict(logs)
        self.ports = dict(ports)
        self.interval = interval
        self.row = -1
        # set by the app, as on a Supervisor
        self.busy: Callable[[str], bool] = lambda name: False
        self.recovered: Callable[[str], None] = lambda name: None

    def healthy(self, name: str) -> bool:
        if name not in self.board.index:
            return name not in self.unsupported
        return self.board.state(name) is State.HEALTHY

    def status(self) -> dict[str, dict[str, object]]:
        return {
            name: {
                "state": self.board.state(name).value,
                "pid": self.board.pid(name) or None,
                "restarts": self.board.restarts(name),
                "log": self.logs.get(name, ""),
            }
            for name in self.board.variants
        }

    async def start(self) -> dict[str, float]:
        self.row = self.board.claim(os.getpid())
        return {}

    async def watch(self) -> None:
        """Publish this worker's busy variants; a restarted engine clears its outlier record."""
        restarts = {name: self.board.restarts(name) for name in self.board.variants}
        while True:
            for name in self.board.variants:
                self.board.set_busy(self.row, name, self.busy(name))
                count = self.board.restarts(name)
                if count != restarts[name] and self.healthy(name):
                    restarts[name] = count
                    self.recovered(name)
            await anyio.sleep(self.interval)

    def stop(self) -> None:
        if self.row >= 0:
            self.board.release(self.row)
            self.row = -1
