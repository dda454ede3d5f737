"""A child server process: started in its own session, readiness-polled, stopped by PID."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import time
from collections import deque
from pathlib import Path

import anyio
import httpx

from gateway.engines.base import LaunchSpec
from gateway.engines.reaper import Reaper, stats
from quantgate.errors import EngineError

_PR_SET_PDEATHSIG = 1
MODELS_PATH = "/v1/models"  # OpenAI's model list: every engine here lists its served model


def die_with_parent() -> None:  # pragma: no cover - runs in the child
    """Linux: this process (an engine, a gateway worker) gets SIGTERM if the one that started
    it dies without stopping it."""
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class EngineProcess:
    def __init__(
        self, name: str, spec: LaunchSpec, port: int, log_path: Path, reaper: Reaper | None = None
    ) -> None:
        self.name = name
        self.spec = spec
        self.port = port
        self.log_path = log_path
        self.reaper = reaper  # told of the process group while it may be alive
        self.proc: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        for folder in self.spec.make_dirs:
            Path(folder).mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            log.write(
                f"\n=== start {time.strftime('%F %T')}: {' '.join(self.spec.argv)}\n".encode()
            )
            log.flush()
            self.proc = subprocess.Popen(
                self.spec.argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, **self.spec.env},
                start_new_session=True,
                preexec_fn=die_with_parent,
            )
        if self.reaper is not None:
            self.reaper.watch(self.proc.pid)
        self.started_at = time.monotonic()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    async def wait_ready(self) -> None:
        """Poll the ready path until it answers 200 and the server there lists this engine's
        model (`/v1/models`, asked once it is ready: engines answer it when idle); raise
        with the log tail otherwise. A 200 from a server that does not serve the model is
        another process on the port (the engine then fails to bind it, often only after
        loading its weights): never taken as this engine ready."""
        timeout = self.spec.start_timeout
        deadline = time.monotonic() + timeout
        other = ""  # what a server on the port that is not this engine said it serves
        async with httpx.AsyncClient(timeout=2.0) as client:
            while time.monotonic() < deadline:
                if not self.alive():
                    code = self.proc.returncode if self.proc else None
                    raise EngineError(
                        f"variant {self.name}: the engine exited with {code} "
                        f"while starting{other}; last log lines:\n{self.log_tail()}"
                    )
                try:
                    reply = await client.get(self.url + self.spec.ready_path)
                    if reply.status_code == 200:
                        served = await self._served(client, reply)
                        if self.spec.served_model in served:
                            return
                        other = f" (port {self.port} is answered by a server of {served})"
                except httpx.TransportError:
                    pass
                await anyio.sleep(0.25)
        raise EngineError(
            f"variant {self.name}: not ready after {timeout:g} s{other}; "
            f"last log lines:\n{self.log_tail()}"
        )

    async def _served(self, client: httpx.AsyncClient, ready: httpx.Response) -> list[str]:
        """The model ids the server on this port lists ([] when it lists none)."""
        reply = ready
        if self.spec.ready_path != MODELS_PATH:
            reply = await client.get(self.url + MODELS_PATH)
        try:
            data = reply.json().get("data") if reply.status_code == 200 else None
            return [str(m.get("id")) for m in data if isinstance(m, dict)] if data else []
        except (ValueError, AttributeError, TypeError):
            return []

    def log_tail(self, lines: int = 15) -> str:
        try:
            with self.log_path.open("rb") as f:
                tail = deque(f, maxlen=lines)
        except OSError:
            return "(no log)"
        return "".join(b.decode("utf-8", "replace") for b in tail).rstrip()

    def terminate(self) -> None:
        """SIGTERM the engine's process group (and SIGCONT, for a stopped one); no wait."""
        if self.proc is not None and self.proc.poll() is None:
            _signal_group(self.proc.pid, signal.SIGTERM)
            _signal_group(self.proc.pid, signal.SIGCONT)

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM the engine's process group, SIGKILL it if it lingers.

        If the leader is already dead (a crash, a kill -9), its children may live on (vLLM's
        engine core and worker): the group is killed all the same.
        """
        if self.proc is None:
            return
        if self.proc.poll() is None:
            _signal_group(self.proc.pid, signal.SIGTERM)
            _signal_group(self.proc.pid, signal.SIGCONT)  # a stopped engine must see it
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                _signal_group(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout)
        self._killed()

    async def astop(self, grace: float = 10.0) -> None:
        """`stop` for the event loop: waits by polling, never blocking the loop.

        SIGCONT follows SIGTERM so that a stopped (SIGSTOP, hung) engine receives it.
        """
        if self.proc is None:
            return
        if self.proc.poll() is None:
            _signal_group(self.proc.pid, signal.SIGTERM)
            _signal_group(self.proc.pid, signal.SIGCONT)
            if not await self._exited(grace):
                _signal_group(self.proc.pid, signal.SIGKILL)
                await self._exited(grace)
        self._killed()

    def _killed(self) -> None:
        """SIGKILL what is left of the group (children of a dead leader); the reaper forgets it."""
        assert self.proc is not None
        _signal_group(self.proc.pid, signal.SIGKILL)
        if self.reaper is not None:
            self.reaper.forget(self.proc.pid)

    async def _exited(self, within: float) -> bool:
        assert self.proc is not None
        with anyio.move_on_after(within):
            while self.proc.poll() is None:  # noqa: ASYNC110 - a child's exit has no event here
                await anyio.sleep(0.05)
        return self.proc.poll() is not None

    def progress(self) -> tuple[str, float]:
        """(state letter, CPU seconds) of the engine's session: 'T' when stopped; CPU time
        that does not grow while requests wait means the engine is hung, not busy."""
        if self.pid is None:
            return "", 0.0
        return session_cpu(self.pid)

    def memory_bytes(self) -> int:
        """Memory of the engine and every process in its session (PSS)."""
        if self.pid is None:
            return 0
        return session_memory(self.pid)


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)


def session_cpu(sid: int) -> tuple[str, float]:
    """(the leader's state letter, user + system CPU seconds of every process in a session)."""
    ticks = os.sysconf("SC_CLK_TCK")
    state, total = "", 0.0
    for folder, fields in stats():
        if fields[3] != str(sid):
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks
        if folder.name == str(sid):
            state = fields[0]
    return state, total


def session_memory(sid: int) -> int:
    """Proportional set size (shared pages split among their users) of a session's processes."""
    total = 0
    for folder, fields in stats():
        if fields[3] != str(sid):
            continue
        try:
            rollup = (folder / "smaps_rollup").read_text()
        except OSError:
            continue
        for line in rollup.splitlines():
            if line.startswith("Pss:"):
                total += int(line.split()[1]) * 1024
    return total
