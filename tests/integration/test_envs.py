"""Managed environments are recreated when their pins change (a real venv and pip)."""

from __future__ import annotations

from pathlib import Path

import pytest

from quantgate import envs
from quantgate.errors import BuildError

pytestmark = pytest.mark.integration


def test_changed_pins_recreate_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QUANTGATE_CACHE", str(tmp_path))
    monkeypatch.setitem(envs.ENVS, "fake", envs.EnvSpec(requirements=["./no-such-package-dir"]))
    root = envs.env_dir("fake")
    (root / "bin").mkdir(parents=True)
    (root / "bin" / "python").write_text("")
    (root / ".quantgate-env").write_text("an-old-digest")
    # the recreation really runs (venv, pip); the install fails on purpose, offline and fast
    with pytest.raises(BuildError, match="could not set up the fake environment") as info:
        envs.ensure_env("fake")
    assert "log:" in str(info.value)
    assert not (root / ".quantgate-env").exists()
