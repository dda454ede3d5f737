"""`quantgate`: a thin command line over the packages' functions."""

from __future__ import annotations

import sys

import typer

from quantgate.cli import (
    build,
    commands,
    datasets,
    deploy,
    derive,
    evaluate,
    keys,
    loadtest,
    mock,
    profile,
    route,
    serve,
)
from quantgate.errors import BuildError, ConfigError, EngineError

app = commands(
    name="quantgate",
    help="Quantization-aware OpenAI-compatible LLM gateway.",
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("serve")(serve.serve)
app.command("build")(build.build)
app.command("loadtest")(loadtest.loadtest)
app.command("route")(route.route)
app.command("eval")(evaluate.eval_command)
app.command("derive")(derive.derive)
app.add_typer(profile.app, name="profile")
app.add_typer(datasets.app, name="datasets")
app.add_typer(keys.app, name="keys")
app.add_typer(deploy.app, name="deploy")
app.command("mock-server")(mock.mock_server)


def main() -> None:
    try:
        app()
    except ConfigError as exc:
        typer.secho(f"error: {exc}", fg="red", err=True)
        sys.exit(2)
    except (BuildError, EngineError) as exc:
        typer.secho(f"error: {exc}", fg="red", err=True)
        sys.exit(1)
