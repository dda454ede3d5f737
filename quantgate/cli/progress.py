"""Progress display for long steps (artifact builds), on stderr."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

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


@contextmanager
def eval_progress() -> Iterator[Callable[[str, str, int, int], None]]:
    """A callback for `run_eval`: one bar per (variant, task) with done/total and elapsed."""
    bars: dict[tuple[str, str], TaskID] = {}
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=False) as progress:

        def on_step(variant: str, task: str, done: int, total: int) -> None:
            key = (variant, task)
            if key not in bars:
                bars[key] = progress.add_task(f"{variant:<12} {task:<16}", total=total)
            progress.update(bars[key], completed=done)

        yield on_step
