"""The artifact cache: built files keyed by their recipe chain, with a checksummed manifest.

An artifact's key hashes its recipe and its source's key, so changing any step upstream
rebuilds everything downstream. Builders write to a `.partial` path that is renamed into
place only when the build succeeded: nothing half-written is ever taken for an artifact.

Every lookup checks that the artifact is what was built: by its sha256, or, once that was
checked, by a stamp of its files (name, size, mtime, inode), as make and git do; hashing an
8B model's variants on every `serve` read tens of GB. A stamp is only taken of files last
written more than RACY_S before it (a change within the same clock tick could not show).
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
    stamp: str = ""  # its files' names, sizes, mtimes and inodes when sha256 last held ("": none)


RACY_S = 1.0  # seconds a file must have been left alone before a stamp may stand for its hash


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
        if not verify or (entry.stamp and stamp(path) == entry.stamp):
            return entry
        if checksum(path) != entry.sha256:
            return None
        if fresh := stamp(path, time.time() - RACY_S):
            self._restamp(key, entry.sha256, fresh)  # the next lookup reads no content
            entry.stamp = fresh
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
            stamp=stamp(path, time.time() - RACY_S),
        )
        manifest = self._read()
        manifest[key] = asdict(entry)
        self._write(manifest)
        return entry

    def _restamp(self, key: str, sha256: str, fresh: str) -> None:
        """Keep a stamp for an entry whose hash was just checked, unless a build holds the
        cache (its manifest is then the builder's to write; the stamp can wait)."""
        with self.lock(wait=False) as held:
            manifest = self._read() if held else {}
            if manifest.get(key, {}).get("sha256") == sha256:
                manifest[key]["stamp"] = fresh
                self._write(manifest)

    def _write(self, manifest: dict[str, Any]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.manifest_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True))
        os.replace(tmp, self.manifest_path)

    @contextmanager
    def lock(self, wait: bool = True) -> Iterator[bool]:
        """An exclusive lock on the cache, held while building; with `wait=False`, yields
        False at once when another holds it."""
        self.root.mkdir(parents=True, exist_ok=True)
        with (self.root / ".lock").open("w") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.manifest_path.read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}


def stamp(path: Path, before: float | None = None) -> str:
    """What `path` holds on disk, without reading it: each file's name (in a folder), size,
    mtime and inode; "" when `before` is given and a file was written at or after it."""
    files = _files(path)
    lines = []
    for file in files:
        st = file.stat()
        if before is not None and st.st_mtime >= before:
            return ""
        name = str(file.relative_to(path)) if file != path else ""
        lines.append(f"{name}|{st.st_size}|{st.st_mtime_ns}|{st.st_ino}")
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def _files(path: Path) -> list[Path]:
    return sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]


def checksum(path: Path) -> str:
    """sha256 of a file, or of a folder's files (names and contents, in sorted order)."""
    digest = hashlib.sha256()
    for file in _files(path):
        if path.is_dir():
            digest.update(str(file.relative_to(path)).encode())
        with file.open("rb") as f:
            while block := f.read(1 << 20):
                digest.update(block)
    return digest.hexdigest()
