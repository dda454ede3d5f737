"""Progress display for long steps (artifact builds), on stderr."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn

from quantize.build import Progress as OnEvent

console = Console(stderr=True)


@contextmanager
def build_progress() -> Iterator[OnEvent]:
    """A callback for `build_profile` that shows one line per artifact with a timer."""
    tasks: dict[str, TaskID] = {}
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as progress:

        def on_event(name: str, event: str) -> None:
            if event == "start":
                tasks[name] = progress.add_task(f"building {name}", total=1)
            elif event == "built":
                progress.update(tasks[name], completed=1, description=f"built {name}")
            elif event == "cached":
                progress.add_task(f"cached {name}", total=1, completed=1)

        yield on_event
