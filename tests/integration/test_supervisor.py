"""The supervisor on real processes (the mock server stands in for an engine)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from gateway.engines.base import LaunchSpec
from gateway.engines.supervisor import State, Supervisor, SupervisorSettings
from quantgate.errors import EngineError
from tests.integration.processes import Process, alive, free_port, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

FAST = SupervisorSettings(check_interval=0.1, probe_timeout=1.0, backoff_initial=0.2)


def mock_engine(port: int, **kw: object) -> tuple[LaunchSpec, int]:
    argv = [sys.executable, "-m", "quantgate", "mock-server", "--port", str(port)]
    return LaunchSpec(
        argv=argv, served_model="mock-model", memory_bytes=0, ready_path="/health", **kw
    ), port  # type: ignore[arg-type]


def gone(pid: int) -> bool:
    """Exited and reaped: the supervisor waits for the engines it started (no zombie left)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


async def test_a_killed_engine_is_restarted_on_its_port(tmp_path: Path) -> None:
    port = free_port()
    sup = Supervisor({"a": mock_engine(port)}, tmp_path, FAST)
    try:
        started = await sup.start()
        assert set(started) == {"a"} and sup.healthy("a")
        pid = sup.status()["a"]["pid"]
        assert isinstance(pid, int)
        async with anyio.create_task_group() as tg:
            tg.start_soon(sup.watch)
            os.kill(pid, signal.SIGKILL)
            with anyio.fail_after(60):
                while not (sup.state("a") is State.HEALTHY and sup.status()["a"]["pid"] != pid):  # noqa: ASYNC110
                    await anyio.sleep(0.1)
            tg.cancel_scope.cancel()
        assert sup.status()["a"]["restarts"] == 1
        assert sup.endpoints["a"] == f"http://127.0.0.1:{port}/v1"
    finally:
        sup.stop()
    assert gone(sup.status()["a"]["pid"])  # type: ignore[arg-type]
    assert sup.state("a") is State.STOPPED


async def test_an_engine_that_exits_reports_its_log(tmp_path: Path) -> None:
    argv = [sys.executable, "-c", "import sys; print('unknown flag --frobnicate'); sys.exit(3)"]
    spec = LaunchSpec(argv=argv, served_model="x", memory_bytes=0)
    sup = Supervisor({"bad": (spec, free_port())}, tmp_path, FAST)
    with pytest.raises(EngineError, match=r"(?s)exited with 3.*unknown flag --frobnicate"):
        await sup.start()


async def test_an_engine_that_never_gets_ready_times_out(tmp_path: Path) -> None:
    argv = [sys.executable, "-c", "import time; print('loading...', flush=True); time.sleep(60)"]
    spec = LaunchSpec(argv=argv, served_model="x", memory_bytes=0, start_timeout=1.0)
    sup = Supervisor({"slow": (spec, free_port())}, tmp_path, FAST)
    t0 = time.monotonic()
    with pytest.raises(EngineError, match=r"(?s)not ready after 1 s.*loading"):
        await sup.start()
    assert time.monotonic() - t0 < 30
    assert gone(sup.status()["slow"]["pid"])  # type: ignore[arg-type]


@pytest.fixture
def stranger(tmp_path: Path) -> Iterator[int]:
    """A port answered by a server of another model (a mock serving `other`)."""
    port = free_port()
    args = [sys.executable, "-m", "quantgate", "mock-server", "--port", str(port)]
    proc = Process("stranger", [*args, "--model", "other"], tmp_path)
    try:
        proc.wait_http(f"http://127.0.0.1:{port}/health")
        yield port
    finally:
        proc.stop()


@pytest.mark.parametrize("ends", ["exits", "hangs"])
async def test_a_server_of_another_model_on_the_port_is_not_the_engine_ready(
    tmp_path: Path, stranger: int, ends: str
) -> None:
    """Another process answers on the engine's port (ready path 200) while the engine
    loads: its 200 is not the engine ready, since it does not list the engine's model. The
    engine then fails to bind and exits, or never answers: either way the start fails and
    says who holds the port."""
    sleep = "time.sleep(2); raise SystemExit(1)" if ends == "exits" else "time.sleep(60)"
    spec = LaunchSpec(
        argv=[sys.executable, "-c", f"import time; {sleep}"],
        served_model="mock-model",
        memory_bytes=0,
        ready_path="/health",
        start_timeout=4.0,
    )
    sup = Supervisor({"a": (spec, stranger)}, tmp_path, FAST)
    why = "exited with 1 while starting" if ends == "exits" else "not ready after 4 s"
    with pytest.raises(EngineError, match=rf"{why} \(port {stranger} is answered by a server "):
        await sup.start()
    assert not sup.healthy("a")
    sup.stop()


async def test_one_failed_variant_does_not_stop_the_others(tmp_path: Path) -> None:
    bad = LaunchSpec(
        argv=[sys.executable, "-c", "raise SystemExit(1)"], served_model="x", memory_bytes=0
    )
    sup = Supervisor({"good": mock_engine(free_port()), "bad": (bad, free_port())}, tmp_path, FAST)
    try:
        started = await sup.start()
        assert set(started) == {"good"}
        assert sup.healthy("good") and not sup.healthy("bad")
        assert sup.state("bad") is State.RESTARTING
    finally:
        sup.stop()


def test_stop_kills_the_children_a_dead_leader_left(tmp_path: Path) -> None:
    from gateway.engines.process import EngineProcess

    pid_file = tmp_path / "child.pid"
    code = (
        "import subprocess, sys; p = subprocess.Popen([sys.executable, '-c', "
        "'import time; time.sleep(120)']); "
        f"open({str(pid_file)!r}, 'w').write(str(p.pid))"
    )
    spec = LaunchSpec(argv=[sys.executable, "-c", code], served_model="x", memory_bytes=0)
    engine = EngineProcess("leader", spec, free_port(), tmp_path / "leader.log")
    engine.start()
    assert engine.proc is not None
    engine.proc.wait(30)  # the leader exits, its child lives on in the group
    child = int(pid_file.read_text())
    assert alive(child)
    engine.stop()
    # not alive: a zombie (killed, its reaping left to init, its parent being dead) has exited
    wait_until(lambda: alive(child), lambda up: not up, seconds=10, what="the child killed")


def busy_engine(port: int) -> tuple[LaunchSpec, int]:
    script = Path(__file__).with_name("busy_engine.py")
    argv = [sys.executable, str(script), str(port)]
    return LaunchSpec(argv=argv, served_model="x", memory_bytes=0, ready_path="/health"), port


async def wait_for(sup: Supervisor, state: State, seconds: float = 15) -> None:
    with anyio.fail_after(seconds):
        while sup.state("a") is not state:  # noqa: ASYNC110
            await anyio.sleep(0.1)


async def test_a_busy_engine_that_misses_probes_stays_healthy(tmp_path: Path) -> None:
    """llama-cpp-python answers no probe while it generates: busy (and working) is not
    unhealthy; the same engine idle and silent is."""
    settings = SupervisorSettings(check_interval=0.1, probe_timeout=0.3, probe_failures=2)
    sup = Supervisor({"a": busy_engine(free_port())}, tmp_path, settings)
    busy = True
    sup.busy = lambda name: busy
    try:
        await sup.start()
        pid = sup.status()["a"]["pid"]
        assert isinstance(pid, int)
        async with anyio.create_task_group() as tg:
            tg.start_soon(sup.watch)
            os.kill(pid, signal.SIGUSR1)  # answers no probe, burns CPU
            await anyio.sleep(2.0)  # several probe timeouts
            assert sup.state("a") is State.HEALTHY
            busy = False
            await wait_for(sup, State.UNHEALTHY)
            os.kill(pid, signal.SIGUSR2)
            await wait_for(sup, State.HEALTHY)
            tg.cancel_scope.cancel()
        assert sup.status()["a"]["restarts"] == 0
    finally:
        sup.stop()


@pytest.mark.parametrize("how", ["SIGSTOP", "deadlock"])
async def test_a_hung_engine_with_requests_waiting_is_restarted(tmp_path: Path, how: str) -> None:
    """Stopped, or silent with no CPU while requests wait: hung, not busy. It is marked
    unhealthy (the router skips it) and, after `restart_unhealthy`, killed and restarted."""
    settings = SupervisorSettings(
        check_interval=0.1,
        probe_timeout=0.3,
        probe_failures=2,
        restart_unhealthy=1.0,
        backoff_initial=0.2,
    )
    sup = Supervisor({"a": busy_engine(free_port())}, tmp_path, settings)
    sup.busy = lambda name: True  # requests keep waiting on it
    try:
        await sup.start()
        pid = sup.status()["a"]["pid"]
        assert isinstance(pid, int)
        async with anyio.create_task_group() as tg:
            tg.start_soon(sup.watch)
            os.kill(pid, signal.SIGSTOP if how == "SIGSTOP" else signal.SIGHUP)
            await wait_for(sup, State.UNHEALTHY)
            assert not sup.healthy("a")
            with anyio.fail_after(30):
                while sup.status()["a"]["pid"] == pid or sup.state("a") is not State.HEALTHY:  # noqa: ASYNC110
                    await anyio.sleep(0.1)
            tg.cancel_scope.cancel()
        assert sup.status()["a"]["restarts"] == 1
        assert gone(pid)
    finally:
        sup.stop()


async def _kill_and_wait(sup: Supervisor) -> dict[str, object]:
    """SIGKILL the engine; return its status once it is healthy again on a new PID."""
    pid = sup.status()["a"]["pid"]
    assert isinstance(pid, int)
    os.kill(pid, signal.SIGKILL)
    with anyio.fail_after(60):  # a hang guard
        while not (sup.state("a") is State.HEALTHY and sup.status()["a"]["pid"] != pid):  # noqa: ASYNC110
            await anyio.sleep(0.05)
    return sup.status()["a"]


@pytest.mark.parametrize(("stable_after", "expected"), [(60.0, [0.2, 0.4, 0.8]), (0.5, [0.2, 0.2])])
async def test_the_backoff_starts_over_only_after_a_stable_period(
    tmp_path: Path, stable_after: float, expected: list[float]
) -> None:
    """An engine that dies again soon after each restart waits twice as long each time; one
    that stayed healthy for `backoff_reset` starts over at the initial backoff."""
    settings = SupervisorSettings(
        check_interval=0.1, probe_timeout=1.0, backoff_initial=0.2, backoff_reset=stable_after
    )
    sup = Supervisor({"a": mock_engine(free_port())}, tmp_path, settings)
    try:
        await sup.start()
        backoffs = []
        async with anyio.create_task_group() as tg:
            tg.start_soon(sup.watch)
            for _ in expected:
                backoffs.append((await _kill_and_wait(sup))["backoff"])
                await anyio.sleep(0.5)  # healthy for a few probes (0.1 s apart) before the next
                if stable_after < 1:  # stay up past the stable period before the next kill
                    with anyio.fail_after(30):
                        while sup.status()["a"]["backoff"]:  # noqa: ASYNC110
                            await anyio.sleep(0.05)
            tg.cancel_scope.cancel()
        assert backoffs == expected
    finally:
        sup.stop()


def test_a_killed_supervisor_leaves_no_engine_behind(tmp_path: Path) -> None:
    """The process that supervises the engines dies by SIGKILL: its engine ignores SIGTERM
    (as a vLLM server does while it starts) and has a child of its own (vLLM's engine core);
    the reaper takes both down."""
    pids, port = tmp_path / "pids", free_port()
    engine = tmp_path / "stubborn_engine.py"
    engine.write_text(
        "import http.server, os, signal, subprocess, sys\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)'])\n"
        f"open({str(pids)!r}, 'w').write(f'{{os.getpid()}} {{child.pid}}')\n"
        "class Health(http.server.BaseHTTPRequestHandler):\n"
        "    def do_GET(self):\n"
        "        self.send_response(200)\n"
        "        self.end_headers()\n"
        '        self.wfile.write(b\'{"data": [{"id": "x"}]}\')\n'
        f"http.server.HTTPServer(('127.0.0.1', {port}), Health).serve_forever()\n"
    )
    gateway = (
        "import sys, time, anyio, pathlib\n"
        "from gateway.engines.base import LaunchSpec\n"
        "from gateway.engines.supervisor import Supervisor\n"
        f"spec = LaunchSpec(argv=[sys.executable, {str(engine)!r}], served_model='x', "
        "memory_bytes=0, ready_path='/health')\n"
        f"sup = Supervisor({{'a': (spec, {port})}}, pathlib.Path({str(tmp_path)!r}))\n"
        "anyio.run(sup.start)\n"
        "print('ready', sup.reaper.pid, flush=True)\n"
        "time.sleep(300)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", gateway], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        ready = proc.stdout.readline().split()
        assert ready[:1] == ["ready"], ready
        reaper = int(ready[1])
        leader, child = (int(p) for p in pids.read_text().split())
        assert alive(leader) and alive(child) and alive(reaper)
        proc.kill()
        proc.wait(10)
        time.sleep(1)
        assert alive(leader)  # the death signal (SIGTERM) was ignored: only the reaper helps
        # the reaper exits after its SIGKILL: a moment after the engine's group is gone
        wait_until(
            lambda: {"leader": alive(leader), "child": alive(child), "reaper": alive(reaper)},
            lambda up: not any(up.values()),
            seconds=30,
            what="the engine's leader and child killed, and the reaper gone",
        )
    finally:
        proc.kill()
        for pid in [int(p) for p in pids.read_text().split()] if pids.exists() else []:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)


def test_a_supervisor_that_stops_its_engines_leaves_no_reaper(tmp_path: Path) -> None:
    sup = Supervisor({"a": mock_engine(free_port())}, tmp_path, FAST)
    try:
        anyio.run(sup.start)
        reaper = sup.reaper.pid
        assert reaper is not None and alive(reaper)
    finally:
        sup.stop()
    assert sup.reaper.pid is None and not alive(reaper)
