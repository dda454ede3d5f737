"""The images: compose uses only what deploy/images/build.py builds, from the Dockerfile."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "deploy" / "images"))

import build  # noqa: E402  (deploy/images/build.py: a script, not a package)


def test_the_script_builds_every_dockerfile_target() -> None:
    stages = re.findall(r"^FROM \S+ AS (\S+)$", (REPO / "Dockerfile").read_text(), re.M)
    assert set(build.TARGETS) == set(stages) - {"build"}  # the build stage is not an image


def test_compose_references_only_images_the_script_builds() -> None:
    compose = yaml.safe_load((REPO / "deploy" / "docker-compose.yml").read_text())
    built = {f"localhost/quantgate:{t}" for t in build.TARGETS}
    for name, service in compose["services"].items():
        assert service["image"] in built, name
        assert service["build"]["target"] == service["image"].rsplit(":", 1)[1], name


def test_a_build_without_room_stops_before_it_starts(monkeypatch, tmp_path) -> None:
    assert set(build.ROOM_GB) == set(build.TARGETS)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setitem(build.ROOM_GB, "vllm-cpu", 10**6)  # more than any disk here
    try:
        build.room("vllm-cpu")
    except build.Failed as e:
        assert "the build needs about 1000000 GB" in str(e)
    else:
        raise AssertionError("room() let a build start that cannot fit")
    monkeypatch.setitem(build.ROOM_GB, "gateway", 0)
    build.room("gateway")  # no error where there is room
