"""The engines' board shared by the supervisor's process and the gateway's workers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import anyio
import pytest

from gateway.engines.board import EngineBoard, WorkerEngines
from gateway.engines.supervisor import State


def status(state: str, pid: int = 0, restarts: int = 0) -> dict[str, object]:
    return {"state": state, "pid": pid or None, "restarts": restarts, "log": ""}


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_workers_read_what_the_supervisor_publishes(tmp_path: Path) -> None:
    board = EngineBoard.create(tmp_path / "board", ["a", "b"], workers=2)
    board.publish({"a": status("healthy", 123, 0), "b": status("restarting", 0, 2)})
    seen = EngineBoard(tmp_path / "board", ["a", "b"], 2)  # another process opens the file
    assert seen.state("a") is State.HEALTHY and seen.pid("a") == 123
    assert seen.state("b") is State.RESTARTING and seen.restarts("b") == 2
    view = WorkerEngines(seen, {}, {}, {"a": "a.log"}, {})
    assert view.healthy("a") and not view.healthy("b")
    assert view.healthy("external")  # not managed: not the board's to judge
    assert view.status()["a"] == {"state": "healthy", "pid": 123, "restarts": 0, "log": "a.log"}
    board.publish({"b": status("healthy", 456, 2)})
    assert view.healthy("b")


def test_busy_is_any_live_workers_flag(tmp_path: Path) -> None:
    board = EngineBoard.create(tmp_path / "board", ["a", "b"], workers=2)
    first = board.claim(os.getpid())
    assert not board.busy("a")
    board.set_busy(first, "a", True)
    assert board.busy("a") and not board.busy("b")
    board.set_busy(first, "a", False)
    assert not board.busy("a")
    board.set_busy(first, "b", True)
    board.release(first)  # a worker that left says nothing any more
    assert not board.busy("b")


def test_a_dead_workers_row_is_reclaimed_and_its_flags_ignored(tmp_path: Path) -> None:
    board = EngineBoard.create(tmp_path / "board", ["a"], workers=2)
    ghost = dead_pid()
    row = board.claim(ghost)
    board.set_busy(row, "a", True)
    assert not board.busy("a")  # its worker is gone: nothing is in flight there
    assert board.claim(os.getpid()) == row  # its replacement takes the row, cleared
    board.set_busy(row, "a", True)
    assert board.busy("a")
    assert board.claim(os.getppid()) == 1 - row
    with pytest.raises(RuntimeError, match="taken"):
        EngineBoard(tmp_path / "board", ["a"], 2).claim(1)  # both rows have live workers


def test_a_board_of_other_variants_is_refused(tmp_path: Path) -> None:
    EngineBoard.create(tmp_path / "board", ["a"], workers=1)
    with pytest.raises(ValueError, match="not a board of 2 variants, 1 rows"):
        EngineBoard(tmp_path / "board", ["a", "b"], 1)


@pytest.mark.anyio
async def test_a_worker_publishes_its_busy_variants_and_hears_of_restarts(tmp_path: Path) -> None:
    board = EngineBoard.create(tmp_path / "board", ["a"], workers=1)
    board.publish({"a": status("healthy", 1, 0)})
    view = WorkerEngines(board, {}, {}, {}, {}, interval=0.01)
    in_flight = {"a": True}
    recovered: list[str] = []
    view.busy = lambda name: in_flight[name]
    view.recovered = recovered.append
    await view.start()
    async with anyio.create_task_group() as tg:
        tg.start_soon(view.watch)
        await anyio.sleep(0.05)
        assert board.busy("a")
        in_flight["a"] = False
        board.publish({"a": status("restarting", 0, 1)})
        await anyio.sleep(0.05)
        assert not board.busy("a") and recovered == []  # restarting: not back yet
        board.publish({"a": status("healthy", 2, 1)})
        with anyio.fail_after(5):
            while not recovered:  # noqa: ASYNC110
                await anyio.sleep(0.01)
        tg.cancel_scope.cancel()
    assert recovered == ["a"]
    view.stop()
    assert board.cells[board._row(0)] == 0
