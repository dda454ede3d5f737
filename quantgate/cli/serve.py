"""`quantgate serve`: run the gateway over a profile's variants."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from quantgate.errors import ConfigError
from quantgate.profile import ExternalEngine, load_profile


def serve(
    profile_path: Path = typer.Option(..., "--profile", "-p", help="profile YAML"),
    host: str | None = typer.Option(None, help="address to bind [env QUANTGATE_HOST]"),
    port: int | None = typer.Option(None, help="port to bind [env QUANTGATE_PORT]"),
) -> None:
    """Serve the OpenAI API at http://HOST:PORT/v1 over the profile's variants."""
    import uvicorn

    from gateway.app import create_app
    from gateway.settings import GatewaySettings

    profile = load_profile(profile_path)
    overrides = {k: v for k, v in {"host": host, "port": port}.items() if v is not None}
    settings = GatewaySettings(**overrides)  # type: ignore[arg-type]
    managed = [v.name for v in profile.variants if not isinstance(v.engine, ExternalEngine)]
    if len(managed) == len(profile.variants):
        raise ConfigError(
            f"{profile_path}: every variant needs an engine started by quantgate "
            f"({', '.join(managed)}); engine supervision is not part of this build yet"
        )
    console = Console(stderr=True)
    console.print(
        f"quantgate: serving `{profile.model}` at http://{settings.host}:{settings.port}/v1"
    )
    for v in profile.variants:
        where = str(v.engine.url) if isinstance(v.engine, ExternalEngine) else "not started"
        mark = " (default)" if v.name == profile.default_variant else ""
        console.print(f"  {profile.model}@{v.name}{mark}: {v.quant.label} {where}")
    app = create_app(profile, settings)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level=settings.log_level)
