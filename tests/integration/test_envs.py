"""Managed environments are recreated when their pins or their interpreter change (a real venv
and pip)."""

from __future__ import annotations

from pathlib import Path

import pytest

from quantgate import envs
from quantgate.errors import BuildError

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("made_from", ["other pins", "another interpreter"])
def test_changed_pins_or_interpreter_recreate_the_environment(
    made_from: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QUANTGATE_CACHE", str(tmp_path))
    spec = envs.EnvSpec(requirements=["./no-such-package-dir"])
    monkeypatch.setitem(envs.ENVS, "fake", spec)
    root = envs.env_dir("fake")
    (root / "bin").mkdir(parents=True)
    (root / "bin" / "python").write_text("")
    current = envs.stamp_of(spec)
    assert current.startswith(spec.digest() + " ")
    old = {
        "other pins": current.replace(spec.digest(), "an-old-digest"),
        "another interpreter": f"{spec.digest()} /other/python3.11",
    }[made_from]
    (root / ".quantgate-env").write_text(old)
    # the recreation really runs (venv, pip); the install fails on purpose, offline and fast
    with pytest.raises(BuildError, match="could not set up the fake environment") as info:
        envs.ensure_env("fake")
    assert "log:" in str(info.value)
    assert not (root / ".quantgate-env").exists()
