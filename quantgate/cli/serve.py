"""`quantgate serve`: build what is missing, start the engines, run the gateway."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from quantgate.errors import ConfigError
from quantgate.profile import ExternalEngine, Profile, load_profile
from quantgate.shipped import shipped

DEFAULT_PROFILE = shipped("demo-llamacpp.yaml")


def serve(
    profile_path: Path = typer.Option(
        DEFAULT_PROFILE, "--profile", "-p", help="profile YAML (default: the llama.cpp demo)"
    ),
    host: str | None = typer.Option(None, help="address to bind [env QUANTGATE_HOST]"),
    port: int | None = typer.Option(None, help="port to bind [env QUANTGATE_PORT]"),
    memory_check: bool = typer.Option(
        True, help="refuse to start engines whose estimated memory exceeds what is available"
    ),
    workers: int | None = typer.Option(
        None,
        min=1,
        help="gateway processes sharing the port [env QUANTGATE_WORKERS; default: one per "
        "core the engines leave: 1 with managed engines, one per core without]",
    ),
) -> None:
    """Serve the OpenAI API at http://HOST:PORT/v1 over the profile's variants.

    Artifacts the profile declares are built first if missing (cached after), every managed
    engine (llama.cpp, vLLM) is started on a free port and supervised; Ctrl-C stops them all.
    """
    import anyio
    import uvicorn

    from gateway import logs
    from gateway.app import create_app
    from gateway.engines.base import Artifact
    from gateway.engines.plan import check_memory, plan_engines, resolve_artifacts
    from gateway.engines.supervisor import Supervisor
    from gateway.routing.router import Router
    from gateway.routing.tokens import prompt_counter
    from gateway.settings import load_settings
    from gateway.workers import default_workers, serve_workers, uvicorn_options
    from quantgate.cli.progress import build_progress
    from quantgate.locations import default_root
    from quantize.build import build_profile
    from quantize.cache import ArtifactCache

    profile = load_profile(profile_path)
    _raise_open_files_limit()  # two sockets per relayed stream: 1000 streams pass 1024
    _exit_on_sigterm()  # until uvicorn takes the signal over: engines are stopped on the way out
    settings = load_settings(host=host, port=port, workers=workers)
    logs.configure(settings.log_level, settings.log_format)
    console = Console(stderr=True)
    _check_port(settings.host, settings.port)  # before minutes of building and engine starts

    supervisor = None
    built_artifacts: dict[str, Artifact] = {}
    if any(not isinstance(v.engine, ExternalEngine) for v in profile.variants):
        with build_progress() as on_event:
            built = build_profile(profile, ArtifactCache(), progress=on_event)
        artifacts = {name: Artifact(Path(b.entry.path), b.entry.info) for name, b in built.items()}
        built_artifacts = artifacts
        base_dir = profile_path.resolve().parent
        unsupported: dict[str, str] = {}
        paths = resolve_artifacts(profile, artifacts, base_dir)
        plan = plan_engines(profile, paths, base_dir, unsupported)
        for name, why in unsupported.items():
            console.print(f"[yellow]{name}: not started, and never routed to: {why}[/yellow]")
        if memory_check:
            need = check_memory(plan)
            console.print(f"memory: the engines need about {need / 2**30:.1f} GiB at peak")
        log_dir = default_root() / "logs" / profile.model
        supervisor = Supervisor(plan, log_dir, unsupported=unsupported)

    managed = sum(not isinstance(v.engine, ExternalEngine) for v in profile.variants)
    n_workers = settings.workers or default_workers(managed)
    _print_plan(console, profile, settings.host, settings.port)
    _print_keys(console, settings)
    try:
        if supervisor is not None:
            console.print("starting the engines ...")
            ready = anyio.run(supervisor.start)
            for name, process in supervisor.processes().items():
                took = f"ready in {ready[name]:.1f} s" if name in ready else "FAILED (retrying)"
                console.print(
                    f"  {name}: pid {process.pid}, port {process.port}, {took}, "
                    f"{process.memory_bytes() / 2**20:.0f} MiB (PSS)"
                )
        counter = prompt_counter(profile, built_artifacts, profile_path.resolve().parent)
        for key, kind in counter.load().items():
            console.print(f"prompt tokens: {key.removeprefix('gguf:')} counted with {kind}")
        if n_workers > 1:
            console.print(f"workers: {n_workers} processes on port {settings.port}")
            serve_workers(profile_path, settings, n_workers, supervisor, built_artifacts)
            return
        app = create_app(profile, settings, supervisor=supervisor, router=Router(profile, counter))
        uvicorn.run(app, **uvicorn_options(settings))
    finally:
        if supervisor is not None:
            supervisor.stop()


def _check_port(host: str, port: int) -> None:
    """The address uvicorn will bind is free (as uvicorn binds it: SO_REUSEADDR), else a
    ConfigError: the gateway binds only after the engines are up, which can take minutes."""
    import errno
    import socket

    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
    except OSError as exc:
        why = "in use (another gateway?)" if exc.errno == errno.EADDRINUSE else exc.strerror
        raise ConfigError(
            f"cannot serve on {host}:{port}: {why}; choose another with --port or "
            "QUANTGATE_PORT (--host, QUANTGATE_HOST)"
        ) from exc


def _exit_on_sigterm() -> None:
    """SIGTERM exits through `finally`, which stops the engines. By default it kills the
    process at once, and an engine still starting (vLLM's API server ignores SIGTERM then)
    outlives the gateway, holding its memory and port."""
    import signal
    import sys

    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))


def _raise_open_files_limit() -> None:
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def _print_keys(console: Console, settings: Any) -> None:
    from quantgate import keys

    path = settings.keys_file or keys.default_path()
    found = keys.load(path)
    if found:
        admins = sum(k.admin for k in found.values())
        console.print(f"API keys: {len(found)} ({admins} admin) from {path}")
    else:
        console.print(
            f"API keys: none in {path}: the API is open to whoever reaches "
            f"{settings.host}:{settings.port} (quantgate keys add NAME)"
        )


def _print_plan(console: Console, profile: Profile, host: str, port: int) -> None:
    console.print(
        f"quantgate: `{profile.model}` at http://{host}:{port}/v1 "
        f"(default variant: {profile.default_variant})"
    )
    for v in profile.variants:
        where = str(v.engine.url) if isinstance(v.engine, ExternalEngine) else v.engine.kind
        console.print(f"  {profile.model}@{v.name}: {v.quant.label} {v.quant.method} [{where}]")
