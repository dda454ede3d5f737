"""Artifact builds: order, idempotence, invalidation, nothing half-written."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from quantgate.errors import BuildError, ProfileError
from quantgate.profile import load_profile, parse_profile
from quantize import build as build_mod
from quantize import cache as cache_mod
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


def test_an_artifact_checked_once_is_not_read_again_until_it_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`serve` looks every artifact up on start: hashing an 8B model's variants read tens of
    GB each time. Once its sha256 held, a stamp of its files stands for it (name, size,
    mtime, inode); a file changed since, even to the same size, is hashed and rebuilt."""
    profile, cache = parse_profile(PROFILE), ArtifactCache(tmp_path)
    paths = {n: Path(b.entry.path) for n, b in build_profile(profile, cache).items()}
    for path in paths.values():  # left alone for a while (just written: too recent to stamp)
        os.utime(path, (path.stat().st_atime - 60, path.stat().st_mtime - 60))
    assert all(b.cached for b in build_profile(profile, cache).values())  # hashed, stamped
    hashed: list[Path] = []
    real = cache_mod.checksum
    monkeypatch.setattr(cache_mod, "checksum", lambda p: hashed.append(p) or real(p))
    assert all(b.cached for b in build_profile(profile, cache).values())
    assert hashed == []  # nothing read
    text = paths["q2"].read_text()
    paths["q2"].write_text(text[::-1])  # the same size, another content
    again = build_profile(profile, cache)
    assert not again["q2"].cached and again["q8"].cached
    assert set(hashed) == {paths["q2"]} and paths["q2"].read_text() == text  # q2 only


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


def tiny_gguf(path: Path, value: float) -> Path:
    """A valid GGUF of one tensor, all `value`."""
    import numpy
    from gguf import GGUFWriter

    path.parent.mkdir(parents=True, exist_ok=True)
    writer = GGUFWriter(str(path), "llama")
    writer.add_tensor("blk.0.w", numpy.full((4, 4), value, dtype=numpy.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


MINE = """
model: m
default_variant: q8
artifacts:
  mine: {kind: gguf-file, path: models/m.gguf}
  q8: {kind: llamacpp-quantize, source: mine, ftype: Q8_0}
  hf: {kind: hf-folder, path: models/hf}
  w8: {kind: llmcompressor, source: hf, scheme: W8A8, method: gptq,
       calibration: {dataset: file, path: cal.txt}}
variants:
  - {name: q8, engine: {kind: llamacpp, artifact: q8}}
"""


def test_your_own_gguf_is_read_from_the_profiles_folder_and_keyed_by_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two teams' profiles both say `path: models/m.gguf`, each in its own folder, built from
    a third: each gets its own model and its own Q8_0 (the path was read from the working
    directory and keyed as written, so the second profile served the first one's model)."""
    cache = ArtifactCache(tmp_path / "cache")
    built = {}
    for team, value in (("a", 1.0), ("b", 2.0)):
        tiny_gguf(tmp_path / team / "models" / "m.gguf", value)
        (tmp_path / team / "p.yaml").write_text(MINE)
        monkeypatch.chdir(tmp_path)  # neither profile's folder
        profile = load_profile(tmp_path / team / "p.yaml")
        assert profile.artifacts["hf"].path == str(tmp_path / team / "models" / "hf")
        assert profile.artifacts["w8"].calibration.path == str(tmp_path / team / "cal.txt")
        built[team] = build_profile(profile, cache)
        assert Path(built[team]["mine"].entry.path).resolve() == tmp_path / team / "models/m.gguf"
        assert built[team]["mine"].entry.info["holds"]["block_types"] == {"F32": 1.0}
    assert not built["b"]["mine"].cached and not built["b"]["q8"].cached
    assert built["a"]["q8"].entry.path != built["b"]["q8"].entry.path


def test_what_is_built_from_your_model_follows_its_content(tmp_path: Path) -> None:
    """A new checkpoint written over the same file rebuilds what is made from it."""
    model = tiny_gguf(tmp_path / "models" / "m.gguf", 1.0)
    (tmp_path / "p.yaml").write_text(MINE)
    cache = ArtifactCache(tmp_path / "cache")
    first = build_profile(load_profile(tmp_path / "p.yaml"), cache)
    assert all(b.cached for b in build_profile(load_profile(tmp_path / "p.yaml"), cache).values())
    tiny_gguf(model, 3.0)
    again = build_profile(load_profile(tmp_path / "p.yaml"), cache)
    assert not again["mine"].cached and not again["q8"].cached
    assert again["q8"].entry.path != first["q8"].entry.path


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "is not a file"),
        (b"PK\x03\x04 a zip", "is not a GGUF file"),
        (b"GGUF", "one of 3 split files"),
    ],
)
def test_a_gguf_file_that_is_not_one_is_refused(
    tmp_path: Path, content: bytes | None, message: str
) -> None:
    name = "m-00001-of-00003.gguf" if content == b"GGUF" else "m.gguf"
    if content is not None:
        (tmp_path / "models").mkdir()
        (tmp_path / "models" / name).write_bytes(content)
    (tmp_path / "p.yaml").write_text(MINE.replace("m.gguf", name))
    with pytest.raises(BuildError, match=rf"artifact 'mine' \(gguf-file\): .*{message}"):
        build_profile(load_profile(tmp_path / "p.yaml"), ArtifactCache(tmp_path / "cache"))
    left = sorted(p.name for p in (tmp_path / "cache" / "artifacts").glob("mine-*"))
    assert [name.rsplit(".", 2)[1:] for name in left] == [["gguf", "log"]]  # its log only
