"""`quantgate profile check FILE`: validate a profile and show what it declares."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from quantgate.cli import commands
from quantgate.profile import Profile, load_profile

app = commands(help="Inspect and validate profiles.")


@app.command("check")
def check(file: Path = typer.Argument(..., help="profile YAML")) -> None:
    """Validate FILE; exit 2 with every problem (file, field, expectation) if it is wrong.

    Then show each task's quality per variant and band as the router sees it (dim: outside
    the profile's tolerance).
    """
    profile = load_profile(file)
    table = Table(title=f"{file}: model `{profile.model}`, default `{profile.default_variant}`")
    for column in ("variant", "engine", "quant", "method", "max context"):
        table.add_column(column)
    for v in profile.variants:
        table.add_row(v.name, v.engine.kind, v.quant.label, v.quant.method, str(v.max_context))
    console = Console()
    console.print(table)
    _print_quality(console, profile)
    console.print(
        f"ok: {len(profile.variants)} variants, {len(profile.routing.rules)} routing rules"
    )


def _print_quality(console: Console, profile: Profile) -> None:
    """Quality per task and variant in each band: measured rules (m), else priors (p)."""
    from gateway.routing.quality import quality_table
    from quantgate.vocabulary import TASKS

    table = quality_table(profile)
    for band in profile.routing.bands:
        legend = "m = measured, p = prior, c = prior capped by a shorter band's measurement"
        grid = Table(title=f"routing quality, band {band.name} ({legend})")
        grid.add_column("task")
        routed = [v for v in profile.variants if v.bands is None or band.name in v.bands]
        for v in routed:
            grid.add_column(v.name)
        for task in TASKS:
            cells = []
            for v in routed:
                q = table[(task, band.name, v.name)]
                mark = {"measured": "m", "prior": "p", "capped": "c"}.get(q.source, "")
                below = q.value < 1 - profile.routing.tolerance - 1e-9
                text = f"{q.value:.3f}{mark}"
                cells.append(f"[dim]{text}[/dim]" if below else text)
            grid.add_row(task, *cells)
        console.print(grid)
