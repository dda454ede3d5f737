"""The folder a gateway's workers share is removed by the next gateway when its owner died."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from gateway.workers import PREFIX, _remove_left_behind


def test_only_the_folders_of_dead_gateways_are_removed(tmp_path: Path) -> None:
    finished = subprocess.Popen([sys.executable, "-c", "pass"])
    finished.wait()  # reaped: its PID runs nothing now
    specs = {"dead": {"parent": finished.pid}, "live": {"parent": os.getpid()}, "older": {}}
    for name, spec in specs.items():
        (tmp_path / f"{PREFIX}{name}").mkdir()
        (tmp_path / f"{PREFIX}{name}" / "spec.json").write_text(json.dumps(spec))
    (tmp_path / f"{PREFIX}torn").mkdir()
    (tmp_path / f"{PREFIX}torn" / "spec.json").write_text("{")  # being written
    _remove_left_behind(tmp_path)
    left = sorted(p.name.removeprefix(PREFIX) for p in tmp_path.iterdir())
    assert left == ["live", "older", "torn"]
