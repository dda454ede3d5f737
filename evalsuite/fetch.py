"""`quantgate datasets fetch`: the benchmark files from their canonical sources, checksummed.

evalsuite/sources.json lists every file the tasks read: its path in the data directory, the
raw URL at a fixed commit of the repository it comes from (../shared/datasets/SOURCES.md gives
the provenance and licences), and its sha256. A file already there with the right checksum is
kept; a download is written to `<file>.partial`, checked, then renamed.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path

import httpx

from quantgate.errors import ConfigError

SOURCES = Path(__file__).with_name("sources.json")


def sources() -> list[dict[str, str]]:
    rows: list[dict[str, str]] = json.loads(SOURCES.read_text())
    return rows


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch(
    root: Path,
    *,
    client: httpx.Client | None = None,
    progress: Callable[[str, str], None] | None = None,
) -> dict[str, str]:
    """Fetch what is missing or wrong into `root`; return {path: "kept" | "fetched"}."""
    http = client or httpx.Client(timeout=60, follow_redirects=True)
    done = {}
    try:
        for row in sources():
            target = root / row["path"]
            if target.exists() and sha256(target) == row["sha256"]:
                done[row["path"]] = "kept"
                if progress:
                    progress(row["path"], "kept")
                continue
            try:
                response = http.get(row["url"])
            except httpx.HTTPError as exc:
                raise ConfigError(
                    f"cannot download {row['url']} ({type(exc).__name__}): this machine seems "
                    "to be offline; copy a data directory like ../shared/datasets instead and "
                    "point --data-dir or QUANTGATE_DATA_DIR at it"
                ) from exc
            if response.status_code != 200:
                raise ConfigError(f"{row['url']}: HTTP {response.status_code}")
            digest = hashlib.sha256(response.content).hexdigest()
            if digest != row["sha256"]:
                raise ConfigError(
                    f"{row['url']}: sha256 {digest} is not the expected {row['sha256']}"
                )
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(target.name + ".partial")
            partial.write_bytes(response.content)
            os.replace(partial, target)
            done[row["path"]] = "fetched"
            if progress:
                progress(row["path"], "fetched")
    finally:
        if client is None:
            http.close()
    return done
