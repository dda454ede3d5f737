"""`quantgate datasets fetch`: download the benchmark data the eval suite reads."""

from __future__ import annotations

from pathlib import Path

import typer

from quantgate.cli import commands

app = commands(help="Benchmark data for the eval suite.")


@app.command("fetch")
def fetch_command(
    data_dir: Path = typer.Option(
        Path.home() / ".cache" / "quantgate" / "datasets",
        help="where to put the files (then pass it as --data-dir or QUANTGATE_DATA_DIR)",
    ),
) -> None:
    """Fetch every file from its canonical source at a fixed commit and check its sha256.

    Offline, this fails with a clear message: copy a folder like ../shared/datasets instead.
    """
    from rich.progress import Progress

    from evalsuite.fetch import fetch, sources

    with Progress() as progress:
        bar = progress.add_task("datasets", total=len(sources()))

        def step(path: str, what: str) -> None:
            progress.update(bar, advance=1, description=f"{what} {path}")

        done = fetch(data_dir, progress=step)
    fetched = sum(v == "fetched" for v in done.values())
    typer.echo(f"{data_dir}: {fetched} fetched, {len(done) - fetched} already there and verified")
