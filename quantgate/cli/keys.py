"""`quantgate keys`: make, list and revoke the gateway's API keys."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from quantgate.cli import commands

app = commands(help="API keys for the gateway (stored hashed; a running gateway picks changes up).")
FILE = typer.Option(
    None,
    "--file",
    help="keys file [env QUANTGATE_KEYS_FILE; default ~/.config/quantgate/keys.json]",
)


@app.command("add")
def add_command(
    name: str = typer.Argument(..., help="who or what the key is for"),
    admin: bool = typer.Option(False, help="may read engine details (/ready, /sd/engines)"),
    rpm: int = typer.Option(0, min=0, help="requests per minute (0: no limit)"),
    tpm: int = typer.Option(0, min=0, help="prompt + completion tokens per minute (0: no limit)"),
    variants: str = typer.Option("", help="comma-separated variants it may use (default: all)"),
    profile: Path | None = typer.Option(
        None, "--profile", "-p", help="refuse --variants that this profile does not serve"
    ),
    file: Path | None = FILE,
) -> None:
    """Make a key and print it: it is shown this once (only its hash is stored)."""
    from quantgate import keys
    from quantgate.errors import ConfigError
    from quantgate.profile import load_profile

    path = file or keys.default_path()
    allowed = tuple(v.strip() for v in variants.split(",") if v.strip())
    if profile is not None and allowed:
        served = [v.name for v in load_profile(profile).variants]
        unknown = [v for v in allowed if v not in served]
        if unknown:
            raise ConfigError(
                f"--variants {', '.join(unknown)}: not a variant of {profile} (it serves "
                f"{', '.join(served)})"
            )
    secret = keys.add(path, name, admin=admin, rpm=rpm, tpm=tpm, variants=allowed)
    typer.echo(secret)
    typer.echo(f"key {name!r} added to {path}; send it as `Authorization: Bearer <key>`", err=True)


@app.command("list")
def list_command(file: Path | None = FILE) -> None:
    """The keys by name (never the secrets)."""
    from quantgate import keys

    path = file or keys.default_path()
    found = sorted(keys.load(path).values(), key=lambda k: k.name)
    if not found:
        typer.echo(f"no keys in {path}: the gateway asks for none")
        return
    for k in found:
        made = time.strftime("%Y-%m-%d", time.gmtime(k.created))
        requests = f"{k.rpm} req/min" if k.rpm else "any req/min"
        tokens = f"{k.tpm} tok/min" if k.tpm else "any tok/min"
        role = "admin" if k.admin else "user"
        scope = ",".join(k.variants) or "all variants"
        typer.echo(f"{k.name:<24} {role:<6} {requests:<14} {tokens:<16} {scope:<20} made {made}")


@app.command("revoke")
def revoke_command(name: str = typer.Argument(...), file: Path | None = FILE) -> None:
    """Remove a key; a running gateway refuses it from its next request."""
    from quantgate import keys

    path = file or keys.default_path()
    keys.revoke(path, name)
    typer.echo(f"key {name!r} revoked")
