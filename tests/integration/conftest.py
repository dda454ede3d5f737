from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.integration.demos import DEMOS, REPO, Demo
from tests.integration.processes import Process, free_port, quantgate


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def processes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Process]]:
    """Start processes that are all stopped (by PID) when the module's tests end."""
    log_dir = tmp_path_factory.mktemp("logs")
    started: list[Process] = []

    def start(name: str, args: list[str], env: dict[str, str] | None = None) -> Process:
        proc = Process(name, args, log_dir, env)
        started.append(proc)
        return proc

    yield start
    for proc in reversed(started):
        proc.stop()


@pytest.fixture(scope="session", params=DEMOS, ids=lambda d: d.profile.removesuffix(".yaml"))
def demo(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Demo, str]]:
    """A demo profile's gateway and engines: (the demo, the gateway's base URL)."""
    spec: Demo = request.param
    port = free_port()
    proc = Process(
        f"gateway-{spec.profile}",
        quantgate("serve", "--profile", str(REPO / "profiles" / spec.profile), "--port", str(port)),
        tmp_path_factory.mktemp("logs"),
        # as `make serve PORT=...` exports it, and a common variable: llama-cpp-python's server
        # would obey both (every engine on the gateway's port; every request needing a key)
        env={"PORT": str(port), "API_KEY": "not-for-the-engines"},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        proc.wait_http(base + "/health", timeout=spec.start_timeout)
        yield spec, base
    finally:
        proc.stop(timeout=60)


def start_mock(start: Callable[..., Process], name: str, **knobs: object) -> tuple[str, Process]:
    """A mock OpenAI server serving model `up-<name>`; returns its base URL and process."""
    port = free_port()
    args = ["mock-server", "--port", str(port), "--model", f"up-{name}"]
    for knob, value in knobs.items():
        args += [f"--{knob.replace('_', '-')}", str(value)]
    proc = start(f"mock-{name}", quantgate(*args))
    proc.wait_http(f"http://127.0.0.1:{port}/health")
    return f"http://127.0.0.1:{port}/v1", proc


def external_profile(path: Path, *upstreams: str, served_model: str = "") -> Path:
    """A profile of model `m` over running OpenAI servers, one variant each (a, b, ...; a is
    the default), written to `path`."""
    served = f", served_model: {served_model}" if served_model else ""
    lines = ["model: m", "default_variant: a", "variants:"]
    for name, url in zip("abcdefgh", upstreams, strict=False):
        lines.append(f"  - name: {name}\n    engine: {{kind: external, url: '{url}'{served}}}")
    path.write_text("\n".join(lines) + "\n")
    return path


def start_gateway(start: Callable[..., Process], profile: Path) -> str:
    port = free_port()
    proc = start("gateway", quantgate("serve", "--profile", str(profile), "--port", str(port)))
    proc.wait_http(f"http://127.0.0.1:{port}/health")
    return f"http://127.0.0.1:{port}/v1"
