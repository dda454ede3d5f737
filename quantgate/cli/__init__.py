"""Command-line entry points (one module per command group)."""

from __future__ import annotations

from typing import Any

import typer


def commands(**options: Any) -> typer.Typer:
    """A command group whose help is printed as written: with Rich markup on, `[env X]` and
    `URL[#MODEL]` in a help text were taken for style tags and dropped."""
    return typer.Typer(no_args_is_help=True, rich_markup_mode=None, **options)
