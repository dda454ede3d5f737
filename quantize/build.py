"""Build what a profile declares, sources first, skipping what the cache already holds."""

from __future__ import annotations

import importlib
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from quantgate.errors import BuildError
from quantgate.gguf_contents import describe
from quantgate.profile import Profile
from quantgate.profile.schema import LlamaCppEngine, VllmEngine
from quantize.cache import ArtifactCache, Entry

# recipe kind -> (builder module, suffix of what it writes, builder version). The version is
# part of every artifact's cache key: bump it when a builder's output changes.
BUILDERS: dict[str, tuple[str, str, str]] = {
    "gguf-package": ("quantize.builders.gguf_package", ".gguf", "1"),
    "gguf-file": ("quantize.builders.gguf_file", ".gguf", "1"),
    "hf-folder": ("quantize.builders.hf_folder", "", "1"),
    "llamacpp-quantize": ("quantize.builders.llamacpp_quantize", ".gguf", "1"),
    # 3: the tokenizer is built from the GGUF's token types (2 took a rank-1000 piece for a
    # user-defined one, and "highly" became "high" + "ly")
    "hf-dequantize": ("quantize.builders.hf_dequantize", "", "3"),
    "llmcompressor": ("quantize.builders.llmcompressor", "", "1"),
    "autoawq": ("quantize.builders.autoawq", "", "1"),
}


# kinds whose artifact is a file or folder of the user's, linked into the cache, not built:
# its content can change under the same recipe (a new checkpoint in the same place)
LINKED = frozenset({"gguf-file", "hf-folder"})


@dataclass(frozen=True)
class Built:
    name: str
    entry: Entry
    cached: bool  # True when nothing had to be built


Progress = Callable[[str, str], None]  # (artifact name, event: "start" | "cached" | "built")


def needed_artifacts(profile: Profile, variants: list[str] | None = None) -> list[str]:
    """Artifact names the (selected) variants' engines need, in build order, no repeats."""
    order: list[str] = []
    for variant in profile.variants:
        if variants is not None and variant.name not in variants:
            continue
        engine = variant.engine
        if isinstance(engine, LlamaCppEngine | VllmEngine) and engine.artifact in profile.artifacts:
            for name in profile.build_order(engine.artifact):
                if name not in order:
                    order.append(name)
    return order


def build_profile(
    profile: Profile,
    cache: ArtifactCache,
    *,
    names: list[str] | None = None,
    progress: Progress | None = None,
) -> dict[str, Built]:
    """Build `names` (default: everything the variants need); return every artifact's entry.

    One build at a time per cache: when something is missing, a second `quantgate build` or
    `serve` waits for the first to finish (and then finds its work done).
    """
    steps: list[str] = []
    for name in names if names is not None else needed_artifacts(profile):
        steps += [step for step in profile.build_order(name) if step not in steps]
    try:
        results = _build_steps(profile, cache, steps, None, build=False)
    except _Missing:
        with cache.lock():
            return _build_steps(profile, cache, steps, progress, build=True)
    if progress:
        for name in results:
            progress(name, "cached")
    return results


class _Missing(Exception):
    pass


def _build_steps(
    profile: Profile,
    cache: ArtifactCache,
    steps: list[str],
    progress: Progress | None,
    *,
    build: bool,
) -> dict[str, Built]:
    results: dict[str, Built] = {}
    for step in steps:
        results[step] = _build_one(profile, cache, step, results, progress, build=build)
    return results


def _build_one(
    profile: Profile,
    cache: ArtifactCache,
    name: str,
    done: dict[str, Built],
    progress: Progress | None,
    *,
    build: bool = True,
) -> Built:
    recipe = profile.artifacts[name]
    source_name = getattr(recipe, "source", None)
    source = done[source_name].entry if source_name else None
    module_name, suffix, version = BUILDERS[recipe.kind]
    source_key = source.key if source else None
    if source and source_name and profile.artifacts[source_name].kind in LINKED:
        source_key = f"{source.key}:{source.sha256}"  # what is built from it follows its content
    key = cache.key(recipe, source_key, version)
    entry = cache.lookup(key)
    if entry is not None:
        if progress:
            progress(name, "cached")
        return Built(name, entry, cached=True)
    if not build:
        raise _Missing(name)
    if progress:
        progress(name, "start")
    out = cache.target(name, key, suffix)
    partial = out.with_name(out.name + ".partial")
    log_path = out.with_name(out.name + ".log")
    _remove(partial)
    cache.root.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with log_path.open("w") as log:
        try:
            builder = importlib.import_module(module_name)
            builder.build(recipe, Path(source.path) if source else None, partial, log)
        except BuildError as exc:
            _remove(partial)
            raise BuildError(f"artifact {name!r} ({recipe.kind}): {exc}; log: {log_path}") from exc
        except Exception as exc:
            _remove(partial)
            raise BuildError(
                f"artifact {name!r} ({recipe.kind}) failed: {type(exc).__name__}: {exc}; "
                f"log: {log_path}"
            ) from exc
    if not partial.exists():
        raise BuildError(f"artifact {name!r} ({recipe.kind}) wrote nothing; log: {log_path}")
    seconds = time.monotonic() - started
    info = describe(partial)
    _remove(out)
    partial.rename(out)
    entry = cache.record(name, key, out, recipe, seconds, info)
    if progress:
        progress(name, "built")
    return Built(name, entry, cached=False)


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()
