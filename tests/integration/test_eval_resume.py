"""`quantgate eval --resume` of a finished run: every reply is in the run's cache, so the
report is written again without asking (or even reaching) a target; a run that still lacks
replies asks for them, and a target that is gone then stops it as before."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.integration.conftest import start_mock
from tests.integration.processes import Process, quantgate

pytestmark = pytest.mark.integration


def test_a_finished_run_resumes_without_its_targets(
    processes: Callable[..., Process], tmp_path: Path
) -> None:
    url, mock = start_mock(processes, "m")
    out = tmp_path / "runs"

    def evaluate(*args: str) -> subprocess.CompletedProcess[str]:
        argv = quantgate(
            "eval", "--endpoint", f"a={url}#up-m", "--tasks", "arc_easy,lambada", *args
        )  # fmt: skip
        return subprocess.run(argv, capture_output=True, text=True, timeout=300)

    first = evaluate("--limit", "2", "--out", str(out))
    assert first.returncode == 0, first.stderr[-2000:]
    (run,) = list(out.iterdir())
    before = json.loads((run / "summary.json").read_text())
    (run / "report.md").unlink()
    mock.stop()  # the target is gone

    again = evaluate("--limit", "2", "--resume", str(run))
    assert again.returncode == 0, again.stderr[-2000:]
    assert "nothing was asked" in again.stdout
    after = json.loads((run / "summary.json").read_text())
    assert after["config"]["targets"] == before["config"]["targets"]  # where replies came from
    assert after["tasks"] == before["tasks"]
    assert (run / "report.md").exists()

    more = evaluate("--limit", "3", "--resume", str(run))  # one sample a task not asked yet
    assert more.returncode == 2, more.stdout + more.stderr
    assert "cannot reach" in more.stderr and "nothing was asked" not in more.stdout
