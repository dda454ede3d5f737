"""`quantgate profile check FILE`: validate a profile and show what it declares."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from quantgate.profile import load_profile

app = typer.Typer(help="Inspect and validate profiles.", no_args_is_help=True)


@app.command("check")
def check(file: Path = typer.Argument(..., help="profile YAML")) -> None:
    """Validate FILE; exit 2 with every problem (file, field, expectation) if it is wrong."""
    profile = load_profile(file)
    table = Table(title=f"{file}: model `{profile.model}`, default `{profile.default_variant}`")
    for column in ("variant", "engine", "quant", "method", "max context"):
        table.add_column(column)
    for v in profile.variants:
        table.add_row(v.name, v.engine.kind, v.quant.label, v.quant.method, str(v.max_context))
    console = Console()
    console.print(table)
    console.print(
        f"ok: {len(profile.variants)} variants, {len(profile.routing.rules)} routing rules"
    )
