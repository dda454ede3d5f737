"""Every command's help shows its options' help as written (Rich markup once dropped
`[env QUANTGATE_HOST]` and `URL[#MODEL]`, taking them for style tags)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import typer
from typer.testing import CliRunner

from quantgate.cli.main import app


def commands(group: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every command under `group` (typer's click objects), with its path."""
    yield path, group
    for name, command in getattr(group, "commands", {}).items():
        yield from commands(command, (*path, name))


def test_every_option_help_with_brackets_is_shown_whole() -> None:
    checked = 0
    for path, command in commands(typer.main.get_command(app)):
        bracketed = [p.help for p in command.params if "[" in (getattr(p, "help", None) or "")]
        if not bracketed:
            continue
        shown = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
        assert shown.exit_code == 0, shown.output
        text = " ".join(shown.output.split())
        for help_text in bracketed:
            assert " ".join(help_text.split()) in text, (path, help_text)
            checked += 1
    assert checked >= 8  # serve's --host, --port, --workers, eval's --endpoint, ...
