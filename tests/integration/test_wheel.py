"""The wheel carries its data: an installed quantgate finds the default profile and the priors
without a checkout or environment variables."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("pyproject.toml", "setup.py", "README.md", "profiles", "training")
SOURCES += ("quantgate", "gateway", "evalsuite", "loadtest", "quantize")


@pytest.mark.timeout(600)
def test_an_installed_wheel_finds_its_profiles_and_priors(tmp_path: Path) -> None:
    src, dist = tmp_path / "src", tmp_path / "dist"  # a copy: the build leaves build/ behind
    src.mkdir()
    for name in SOURCES:
        copy = shutil.copytree if (ROOT / name).is_dir() else shutil.copy
        copy(ROOT / name, src / name)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(dist), str(src)],
        check=True,
    )
    (wheel,) = dist.glob("quantgate-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for shipped in ("demo-llamacpp.yaml", "priors/qllm-eval.yaml", "templates/gemma-turns.jinja"):
        assert f"quantgate/profiles_data/{shipped}" in names
    assert not any(n.startswith("training/") for n in names)  # offline code stays out

    site = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "-t", str(site), str(wheel)],
        check=True,
    )
    probe = (
        "import quantgate, gateway.routing.priors as p, quantgate.cli.serve as s;"
        "from quantgate.profile import load_profile;"
        "print(quantgate.__file__); print(s.DEFAULT_PROFILE); print(p.PRIORS_DIR);"
        "print(load_profile(s.DEFAULT_PROFILE).model, len(p.load_priors('qllm-eval').rows))"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUANTGATE_")}
    env["PYTHONPATH"] = str(site)  # ahead of the editable install of the checkout
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, env=env, check=True, capture_output=True
    ).stdout.decode()
    module, profile, priors, loaded = out.splitlines()
    assert module.startswith(str(site)), module
    assert profile == str(site / "quantgate" / "profiles_data" / "demo-llamacpp.yaml")
    assert priors == str(site / "quantgate" / "profiles_data" / "priors")
    model, rows = loaded.split()
    assert model == "gemma3-270m" and int(rows) > 10
