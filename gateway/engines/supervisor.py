"""Start every managed variant, keep it healthy, restart it with backoff, stop it by PID.

The supervisor owns one `EngineProcess` per managed variant, on a port chosen once (a restart
reuses it, so the gateway's upstream URL never changes). A variant is healthy while its
process lives and answers its readiness path; the gateway skips variants that are not.

A busy engine may not answer probes (llama-cpp-python serves one request at a time), so a
failed probe counts only when the engine is idle, or when it is "busy" but hung: stopped
(SIGSTOP) or using no CPU while requests wait on it. An engine that stays unhealthy for
`restart_unhealthy` seconds is killed and restarted like one that died. The restart backoff
starts over only once an engine has stayed healthy for `backoff_reset` seconds: one that fails
again soon after each restart waits twice as long each time.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import anyio
import httpx

from gateway.engines.base import LaunchSpec
from gateway.engines.process import EngineProcess
from gateway.engines.reaper import Reaper
from quantgate.errors import EngineError

log = logging.getLogger("quantgate.engines")


class State(StrEnum):
    STARTING = "starting"
    HEALTHY = "healthy"
    UNHEALTHY = "unhealthy"  # alive but not answering
    RESTARTING = "restarting"  # died; waiting for the backoff to pass
    STOPPED = "stopped"


@dataclass
class SupervisorSettings:
    check_interval: float = 1.0
    probe_timeout: float = 2.0  # a hung engine is unhealthy within ~3 x (2 + 1) s
    probe_failures: int = 3  # consecutive failed probes before a live engine is unhealthy
    backoff_initial: float = 1.0
    backoff_max: float = 60.0
    restart_unhealthy: float = 30.0  # s an alive engine may stay unhealthy before a restart
    backoff_reset: float = 60.0  # s an engine must stay healthy before its backoff starts over
    idle_cpu: float = 0.02  # CPU s per check below which a busy engine is not working


@dataclass
class _Slot:
    process: EngineProcess
    state: State = State.STARTING
    failures: int = 0  # consecutive failed probes
    restarts: int = 0
    backoff: float = 0.0
    next_start: float = 0.0
    unhealthy_since: float = 0.0
    healthy_since: float = 0.0
    cpu: float = -1.0  # the session's CPU seconds at the last check


class Supervisor:
    def __init__(
        self,
        specs: Mapping[str, tuple[LaunchSpec, int]],
        log_dir: Path,
        settings: SupervisorSettings | None = None,
        unsupported: Mapping[str, str] | None = None,
    ) -> None:
        self.settings = settings or SupervisorSettings()
        # managed variants whose engine cannot run on this machine (name -> why): never
        # started, never healthy
        self.unsupported = dict(unsupported or {})
        # takes the engines down if this process dies without stopping them (reaper.py)
        self.reaper = Reaper()
        self._slots = {
            name: _Slot(EngineProcess(name, spec, port, log_dir / f"{name}.log", self.reaper))
            for name, (spec, port) in specs.items()
        }
        self._stopping = False
        self._started = False
        # set by the app: True while the gateway has requests in flight on a variant (a busy
        # engine's failed probes count only when it is hung: see the module's docstring)
        self.busy: Callable[[str], bool] = lambda name: False
        # set by the app: a restarted engine that passes its probes starts with a clean record
        self.recovered: Callable[[str], None] = lambda name: None

    @property
    def endpoints(self) -> dict[str, str]:
        return {name: slot.process.url + "/v1" for name, slot in self._slots.items()}

    @property
    def served_models(self) -> dict[str, str]:
        return {name: slot.process.spec.served_model for name, slot in self._slots.items()}

    @property
    def ports(self) -> dict[str, int]:
        return {name: slot.process.port for name, slot in self._slots.items()}

    def healthy(self, name: str) -> bool:
        slot = self._slots.get(name)
        if slot is None:  # unmanaged: not ours to judge, unless it could not be started here
            return name not in self.unsupported
        return slot.state is State.HEALTHY

    def state(self, name: str) -> State | None:
        slot = self._slots.get(name)
        return slot.state if slot else None

    def status(self) -> dict[str, dict[str, object]]:
        return {
            name: {
                "state": slot.state.value,
                "pid": slot.process.pid,
                "restarts": slot.restarts,
                "backoff": slot.backoff,  # s before the next restart, if it fails again
                "log": str(slot.process.log_path),
            }
            for name, slot in self._slots.items()
        }

    def processes(self) -> dict[str, EngineProcess]:
        return {name: slot.process for name, slot in self._slots.items()}

    async def start(self) -> dict[str, float]:
        """Start every engine at once; wait until each is ready. Returns seconds per variant.

        Variants that fail to start are left to the watcher to restart; if none starts,
        everything is stopped and the first failure is raised. A second call does nothing.
        """
        if self._started:
            return {}
        self._started = True
        for slot in self._slots.values():
            slot.process.start()
        seconds: dict[str, float] = {}
        errors: dict[str, EngineError] = {}

        async def ready(name: str, slot: _Slot) -> None:
            try:
                await slot.process.wait_ready()
            except EngineError as exc:
                errors[name] = exc
                await self._schedule_restart(slot)
                return
            slot.state, slot.healthy_since = State.HEALTHY, time.monotonic()
            seconds[name] = time.monotonic() - slot.process.started_at

        async with anyio.create_task_group() as tg:
            for name, slot in self._slots.items():
                tg.start_soon(ready, name, slot)
        if errors and not seconds:
            self.stop()
            raise next(iter(errors.values()))
        for name, exc in errors.items():
            log.error("variant %s did not start; will retry: %s", name, exc)
        return seconds

    async def watch(self) -> None:
        """Run until cancelled: probe engines, restart the dead ones with backoff."""
        async with (
            httpx.AsyncClient(timeout=self.settings.probe_timeout) as client,
            anyio.create_task_group() as restarts,
        ):
            while not self._stopping:
                now = time.monotonic()
                for name, slot in self._slots.items():
                    if slot.state is State.RESTARTING and now >= slot.next_start:
                        slot.state = State.STARTING
                        restarts.start_soon(self._restart, name, slot)
                async with anyio.create_task_group() as probes:
                    for name, slot in self._slots.items():
                        if slot.state in (State.HEALTHY, State.UNHEALTHY):
                            probes.start_soon(self._check, name, slot, client)
                await anyio.sleep(self.settings.check_interval)

    async def _check(self, name: str, slot: _Slot, client: httpx.AsyncClient) -> None:
        process = slot.process
        if not process.alive():
            code = process.proc.returncode if process.proc else None
            log.error(
                "variant %s: engine exited with %s; last log lines:\n%s",
                name,
                code,
                process.log_tail(5),
            )
            await self._schedule_restart(slot)
            return
        try:
            ok = (await client.get(process.url + process.spec.ready_path)).status_code == 200
        except httpx.HTTPError:
            ok = False
        state, cpu = process.progress()
        working = cpu - slot.cpu >= self.settings.idle_cpu if slot.cpu >= 0 else True
        slot.cpu = cpu
        hung = state == "T" or not working
        if not ok and self.busy(name) and not hung:
            return
        slot.failures = 0 if ok else slot.failures + 1
        now = time.monotonic()
        if ok:
            if slot.state is not State.HEALTHY:
                slot.state, slot.healthy_since = State.HEALTHY, now
            if now - slot.healthy_since >= self.settings.backoff_reset:
                slot.backoff = 0.0  # stable: a later failure starts the backoff over
        elif slot.failures >= self.settings.probe_failures and slot.state is State.HEALTHY:
            why = "stopped" if state == "T" else "busy with no CPU" if self.busy(name) else "idle"
            log.warning(
                "variant %s: %d probes failed (%s); marked unhealthy", name, slot.failures, why
            )
            slot.state, slot.unhealthy_since = State.UNHEALTHY, time.monotonic()
        elif (
            slot.state is State.UNHEALTHY
            and time.monotonic() - slot.unhealthy_since >= self.settings.restart_unhealthy
        ):
            log.error(
                "variant %s: unhealthy for %.0f s; killing and restarting it",
                name,
                time.monotonic() - slot.unhealthy_since,
            )
            await self._schedule_restart(slot)

    async def _schedule_restart(self, slot: _Slot) -> None:
        slot.state = State.RESTARTING  # skipped by the router from now on
        await slot.process.astop()
        slot.failures, slot.cpu = 0, -1.0
        s = self.settings
        slot.backoff = min(s.backoff_max, slot.backoff * 2 if slot.backoff else s.backoff_initial)
        slot.next_start = time.monotonic() + slot.backoff
        slot.state = State.RESTARTING

    async def _restart(self, name: str, slot: _Slot) -> None:
        slot.restarts += 1
        log.warning("variant %s: restart #%d", name, slot.restarts)
        slot.process.start()
        try:
            await slot.process.wait_ready()
        except EngineError as exc:
            log.error(
                "variant %s: restart failed, next try in %.0f s: %s",
                name,
                min(self.settings.backoff_max, slot.backoff * 2),
                exc,
            )
            await self._schedule_restart(slot)
            return
        slot.state, slot.failures = State.HEALTHY, 0
        slot.healthy_since = time.monotonic()  # the backoff stands until it has been stable
        self.recovered(name)
        log.info("variant %s: healthy again after restart #%d", name, slot.restarts)

    def stop(self) -> None:
        """Every engine told at once, then each waited for (SIGKILL after 10 s): an engine
        that ignores SIGTERM (vLLM while it starts) costs 10 s, not 10 s each."""
        self._stopping = True
        for slot in self._slots.values():
            slot.process.terminate()
        for slot in self._slots.values():
            slot.process.stop()
            slot.state = State.STOPPED
        self.reaper.close()
