"""The artifact cache: built files keyed by their recipe chain, with a checksummed manifest.

An artifact's key hashes its recipe and its source's key, so changing any step upstream
rebuilds everything downstream. Builders write to a `.partial` path that is renamed into
place only when the build succeeded: nothing half-written is ever taken for an artifact.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from quantgate.locations import default_root, size_of


@dataclass
class Entry:
    name: str
    key: str
    path: str
    sha256: str
    bytes: int
    recipe: dict[str, Any]
    built_at: float
    build_seconds: float
    info: dict[str, Any] = field(default_factory=dict)  # what the artifact holds (GGUF)


class ArtifactCache:
    def __init__(self, root: Path | None = None) -> None:
        self.root = (root or default_root()) / "artifacts"
        self.manifest_path = self.root / "manifest.json"

    @staticmethod
    def key(recipe: BaseModel, source_key: str | None, version: str = "1") -> str:
        recipe_text = json.dumps(recipe.model_dump(mode="json"), sort_keys=True)
        text = f"{recipe_text}|{source_key or ''}|{version}"
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def target(self, name: str, key: str, suffix: str) -> Path:
        return self.root / f"{name}-{key}{suffix}"

    def lookup(self, key: str, *, verify: bool = True) -> Entry | None:
        """The entry for `key` if its file is there and (when verifying) unchanged."""
        raw = self._read().get(key)
        if raw is None:
            return None
        entry = Entry(**raw)
        path = Path(entry.path)
        if not path.exists():
            return None
        if verify and checksum(path) != entry.sha256:
            return None
        return entry

    def record(
        self,
        name: str,
        key: str,
        path: Path,
        recipe: BaseModel,
        seconds: float,
        info: dict[str, Any] | None = None,
    ) -> Entry:
        entry = Entry(
            name=name,
            key=key,
            path=str(path),
            sha256=checksum(path),
            bytes=size_of(path),
            recipe=recipe.model_dump(mode="json"),
            built_at=time.time(),
            build_seconds=round(seconds, 2),
            info=info or {},
        )
        manifest = self._read()
        manifest[key] = asdict(entry)
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.manifest_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True))
        os.replace(tmp, self.manifest_path)
        return entry

    @contextmanager
    def lock(self) -> Iterator[None]:
        """An exclusive lock on the cache, held while building."""
        self.root.mkdir(parents=True, exist_ok=True)
        with (self.root / ".lock").open("w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.manifest_path.read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}


def checksum(path: Path) -> str:
    """sha256 of a file, or of a folder's files (names and contents, in sorted order)."""
    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for file in files:
        if path.is_dir():
            digest.update(str(file.relative_to(path)).encode())
        with file.open("rb") as f:
            while block := f.read(1 << 20):
                digest.update(block)
    return digest.hexdigest()
