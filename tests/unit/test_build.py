"""Artifact builds: order, idempotence, invalidation, nothing half-written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from quantgate.errors import BuildError, ProfileError
from quantgate.profile import parse_profile
from quantize import build as build_mod
from quantize.build import build_profile, needed_artifacts
from quantize.cache import ArtifactCache
from tests.unit import fake_builder

PROFILE = """
model: m
default_variant: low
artifacts:
  base: {kind: gguf-package, package: some-model}
  q8:   {kind: llamacpp-quantize, source: base, ftype: Q8_0}
  q2:   {kind: llamacpp-quantize, source: base, ftype: Q2_K}
  unused: {kind: llamacpp-quantize, source: base, ftype: Q4_0}
variants:
  - {name: high, engine: {kind: llamacpp, artifact: q8}}
  - {name: low, engine: {kind: llamacpp, artifact: q2}}
  - {name: shipped, engine: {kind: llamacpp, artifact: base}}
"""


@pytest.fixture(autouse=True)
def fake_builders(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_builder.calls.clear()
    fake_builder.fail_on.clear()
    for kind in ("gguf-package", "llamacpp-quantize"):
        monkeypatch.setitem(build_mod.BUILDERS, kind, ("tests.unit.fake_builder", ".bin", "1"))


def test_needed_artifacts_are_sources_first_without_repeats() -> None:
    assert needed_artifacts(parse_profile(PROFILE)) == ["base", "q8", "q2"]


def test_builds_once_then_reuses_the_cache(tmp_path: Path) -> None:
    profile, cache = parse_profile(PROFILE), ArtifactCache(tmp_path)
    first = build_profile(profile, cache)
    assert list(first) == ["base", "q8", "q2"]
    assert not any(b.cached for b in first.values())
    assert len(fake_builder.calls) == 3
    assert Path(first["q8"].entry.path).read_text().count("|") == 2  # built from base
    second = build_profile(profile, cache)
    assert all(b.cached for b in second.values())
    assert len(fake_builder.calls) == 3
    manifest = json.loads((tmp_path / "artifacts" / "manifest.json").read_text())
    assert {e["name"] for e in manifest.values()} == {"base", "q8", "q2"}
    assert all(len(e["sha256"]) == 64 for e in manifest.values())


def test_changing_a_source_rebuilds_what_depends_on_it(tmp_path: Path) -> None:
    cache = ArtifactCache(tmp_path)
    build_profile(parse_profile(PROFILE), cache)
    changed = parse_profile(PROFILE.replace("package: some-model", "package: other-model"))
    rebuilt = build_profile(changed, cache)
    assert not any(b.cached for b in rebuilt.values())


def test_a_new_builder_version_rebuilds_its_artifacts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = ArtifactCache(tmp_path)
    build_profile(parse_profile(PROFILE), cache)
    monkeypatch.setitem(
        build_mod.BUILDERS, "llamacpp-quantize", ("tests.unit.fake_builder", ".bin", "2")
    )
    again = build_profile(parse_profile(PROFILE), cache)
    assert again["base"].cached and not again["q8"].cached and not again["q2"].cached


def test_a_tampered_artifact_is_rebuilt(tmp_path: Path) -> None:
    profile, cache = parse_profile(PROFILE), ArtifactCache(tmp_path)
    path = Path(build_profile(profile, cache)["q2"].entry.path)
    path.write_text("corrupted")
    again = build_profile(profile, cache)
    assert again["q2"].cached is False and again["base"].cached is True
    assert path.read_text() != "corrupted"


def test_a_failed_build_leaves_nothing_behind(tmp_path: Path) -> None:
    profile, cache = parse_profile(PROFILE), ArtifactCache(tmp_path)
    fake_builder.fail_on.add(profile.artifacts["q2"].model_dump_json())
    with pytest.raises(BuildError, match=r"artifact 'q2' \(llamacpp-quantize\) failed.*log:"):
        build_profile(profile, cache)
    leftovers = sorted(p.name for p in (tmp_path / "artifacts").iterdir())
    assert not any(name.endswith(".partial") for name in leftovers)
    assert not any(name.startswith("q2-") and name.endswith(".bin") for name in leftovers)
    assert any(name.startswith("q2-") and name.endswith(".log") for name in leftovers)
    assert ArtifactCache(tmp_path).lookup(ArtifactCache.key(profile.artifacts["base"], None, "1"))


def test_only_the_named_artifacts_are_built(tmp_path: Path) -> None:
    built = build_profile(parse_profile(PROFILE), ArtifactCache(tmp_path), names=["unused"])
    assert list(built) == ["base", "unused"]


@pytest.mark.parametrize(
    ("artifacts", "message"),
    [
        (
            "a: {kind: llamacpp-quantize, source: nope, ftype: Q8_0}",
            "artifacts.a.source 'nope' is not an artifact",
        ),
        (
            "a: {kind: llamacpp-quantize, source: b, ftype: Q8_0}\n"
            "  b: {kind: llamacpp-quantize, source: a, ftype: Q8_0}",
            "cycle",
        ),
    ],
)
def test_bad_artifact_graphs_are_profile_errors(artifacts: str, message: str) -> None:
    text = (
        f"model: m\ndefault_variant: v\nartifacts:\n  {artifacts}\n"
        "variants:\n  - {name: v, engine: {kind: llamacpp, artifact: a}}\n"
    )
    with pytest.raises(ProfileError, match=message):
        parse_profile(text)
