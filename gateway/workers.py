"""`quantgate serve --workers N`: N gateway processes on one listening socket, engines in one.

The parent process starts and supervises the engines (as with one worker), then runs uvicorn's
process manager: N workers accept on the socket it binds, a worker that dies is replaced,
SIGTERM drains them all. Each worker builds its own app from a spec the parent writes (the
profile, settings, built artifacts and engine endpoints), so every worker routes with the same
rules and tokenizers.

What the workers share, and what each keeps (docs/serve.md, "Workers"):
- engine state has one owner, the supervisor, published on the board
  (gateway/engines/board.py); every worker reads health from it, and tells it on which
  variants it has requests in flight;
- metrics are summed across workers by prometheus-client's multiprocess mode;
- per-request state stays per worker: admission limits and queues, outlier ejection, API key
  buckets, the routing policy's view of saturated variants. With N workers a variant's
  `max_concurrency` holds per worker, as do a key's rpm and tpm (shared limits: Redis).
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from pathlib import Path
from typing import Any

import anyio
from fastapi import FastAPI

from gateway.engines.base import Artifact
from gateway.engines.board import EngineBoard, WorkerEngines
from gateway.engines.process import die_with_parent
from gateway.engines.supervisor import Supervisor
from gateway.settings import GatewaySettings

SPEC_ENV = "QUANTGATE_WORKER_SPEC"
METRICS_ENV = "PROMETHEUS_MULTIPROC_DIR"  # prometheus-client's multiprocess mode
PREFIX = "quantgate-workers-"  # the folder of a gateway's workers, under the temporary folder


def default_workers(managed_engines: int) -> int:
    """One per core, up to the cores the engines leave: llama.cpp and vLLM use every core,
    so a profile with managed engines gets one worker; one of external engines, one a core."""
    return 1 if managed_engines else len(os.sched_getaffinity(0))


def serve_workers(
    profile_path: Path,
    settings: GatewaySettings,
    workers: int,
    supervisor: Supervisor | None,
    artifacts: dict[str, Artifact],
) -> None:
    """Run `workers` gateway processes until SIGINT/SIGTERM (the engines are already up)."""
    import uvicorn

    _remove_left_behind(Path(tempfile.gettempdir()))
    with tempfile.TemporaryDirectory(prefix=PREFIX) as tmp:
        root = Path(tmp)
        metrics = root / "metrics"
        metrics.mkdir()
        spec: dict[str, Any] = {
            "profile": str(profile_path.resolve()),
            "settings": settings.model_dump(mode="json"),
            "artifacts": {n: {"path": str(a.path), "info": a.info} for n, a in artifacts.items()},
            "engines": None,
            "parent": os.getpid(),
        }
        if supervisor is not None:
            names = list(supervisor.endpoints)
            board = EngineBoard.create(root / "board", names, workers)
            board.publish(supervisor.status())
            supervisor.busy = board.busy
            spec["engines"] = {
                "board": str(board.path),
                "variants": names,
                "workers": workers,
                "endpoints": supervisor.endpoints,
                "served_models": supervisor.served_models,
                "ports": supervisor.ports,
                "logs": {n: str(s["log"]) for n, s in supervisor.status().items()},
                "unsupported": supervisor.unsupported,
            }
            threading.Thread(
                target=anyio.run, args=(_supervise, supervisor, board), daemon=True
            ).start()
        (root / "spec.json").write_text(json.dumps(spec))
        os.environ[SPEC_ENV] = str(root / "spec.json")
        os.environ[METRICS_ENV] = str(metrics)
        options = uvicorn_options(settings)
        uvicorn.run("gateway.workers:create_worker_app", factory=True, workers=workers, **options)


def uvicorn_options(settings: GatewaySettings) -> dict[str, Any]:
    """How uvicorn serves the gateway, with one worker or several."""
    return {
        "host": settings.host,
        "port": settings.port,
        "log_level": settings.log_level,
        "log_config": None,  # gateway/logs.py configures logging
        "access_log": False,  # quantgate.access replaces it
        # SIGTERM: stop accepting, let requests in flight finish, cut them after this
        "timeout_graceful_shutdown": settings.drain_timeout,
    }


async def _supervise(supervisor: Supervisor, board: EngineBoard) -> None:
    """The supervisor's watch, and its engines' state published for the workers."""
    async with anyio.create_task_group() as tg:
        tg.start_soon(supervisor.watch)
        while True:
            board.publish(supervisor.status())
            await anyio.sleep(0.2)


def create_worker_app() -> FastAPI:
    """One worker's app, from the spec its parent wrote (uvicorn calls this in each worker)."""
    from gateway import logs
    from gateway.app import create_app
    from gateway.routing.router import Router
    from gateway.routing.tokens import prompt_counter
    from quantgate.profile import load_profile

    spec = json.loads(Path(os.environ[SPEC_ENV]).read_text())
    _die_with(spec["parent"])
    settings = GatewaySettings(**spec["settings"])
    logs.configure(settings.log_level, settings.log_format)
    _forget_dead_workers(Path(os.environ[METRICS_ENV]))
    profile_path = Path(spec["profile"])
    profile = load_profile(profile_path)
    artifacts = {n: Artifact(Path(a["path"]), a["info"]) for n, a in spec["artifacts"].items()}
    counter = prompt_counter(profile, artifacts, profile_path.parent)
    counter.load()
    engines = None
    if spec["engines"] is not None:
        e = spec["engines"]
        board = EngineBoard(Path(e["board"]), e["variants"], e["workers"])
        engines = WorkerEngines(
            board,
            e["endpoints"],
            e["served_models"],
            e["logs"],
            e["ports"],
            unsupported=e["unsupported"],
        )
    return create_app(profile, settings, supervisor=engines, router=Router(profile, counter))


def _remove_left_behind(tmp: Path) -> None:
    """The folders of gateways that were killed (they could not remove theirs): those whose
    spec names a parent process that no longer runs."""
    import shutil

    for spec in tmp.glob(f"{PREFIX}*/spec.json"):
        try:
            parent = json.loads(spec.read_text()).get("parent")
            if isinstance(parent, int) and not _runs(parent):
                shutil.rmtree(spec.parent)
        except (OSError, ValueError):  # another user's, or being written: not ours to judge
            continue


def _die_with(parent: int) -> None:
    """A worker leaves when its parent dies (SIGTERM: uvicorn drains it), however the parent
    dies: killed, it cannot stop its workers, and they would hold the port, serving requests
    with no supervisor behind them, and a new gateway could not bind it. Also when the parent
    died before this worker could ask to be told."""
    die_with_parent()
    if os.getppid() != parent:
        raise SystemExit(f"gateway worker: the parent process {parent} is gone")


def _forget_dead_workers(metrics: Path) -> None:
    """A replaced worker's in-flight gauge must not count: prometheus-client keeps live-sum
    gauges per PID until told that the process died."""
    from prometheus_client import multiprocess

    for path in metrics.glob("gauge_live*_*.db"):
        pid = int(path.stem.rsplit("_", 1)[1])
        if not _runs(pid):
            multiprocess.mark_process_dead(pid, str(metrics))  # type: ignore[no-untyped-call]


def _runs(pid: int) -> bool:
    """Whether a process has this PID (a zombie still does, until it is reaped)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's
        pass
    return True
