"""API keys: stored hashed in a JSON file, shown once when made.

The file (`QUANTGATE_KEYS_FILE`, default `~/.config/quantgate/keys.json`, mode 0600) holds,
per key, its name, the SHA-256 of the secret, whether it is an admin key, and its limits per
minute (requests, tokens). Keys are 32 random bytes (url-safe base64 after a `qg-` prefix), so
a plain hash is enough: nothing short enough to guess is ever stored. The gateway re-reads the file
when it changes, so `quantgate keys revoke` takes effect without a restart. With no file, or
an empty one, the gateway asks for no key.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from quantgate.errors import ConfigError

PREFIX = "qg-"


def default_path() -> Path:
    env = os.environ.get("QUANTGATE_KEYS_FILE")
    return Path(env) if env else Path.home() / ".config" / "quantgate" / "keys.json"


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class Key:
    name: str
    sha256: str
    admin: bool = False
    rpm: int = 0  # requests per minute; 0: no limit
    created: int = 0
    tpm: int = 0  # prompt + completion tokens per minute; 0: no limit
    variants: tuple[str, ...] = ()  # the variants it may use; empty: all


def load(path: Path) -> dict[str, Key]:
    """Keys by hash; {} when the file does not exist. A broken file is a ConfigError."""
    try:
        raw = json.loads(path.read_text())
        return {
            k["sha256"]: Key(**{**k, "variants": tuple(k.get("variants", ()))}) for k in raw["keys"]
        }
    except FileNotFoundError:
        return {}
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{path}: not a quantgate keys file ({exc})") from exc


def save(path: Path, keys: dict[str, Key]) -> None:
    """Write the file whole (a temporary file renamed over it), readable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps({"keys": [asdict(k) for k in keys.values()]}, indent=2))
    tmp.chmod(0o600)
    tmp.rename(path)


def add(
    path: Path,
    name: str,
    *,
    admin: bool = False,
    rpm: int = 0,
    tpm: int = 0,
    variants: tuple[str, ...] = (),
) -> str:
    """Make a key, store its hash, return the secret (the only time it is seen)."""
    keys = load(path)
    if any(k.name == name for k in keys.values()):
        raise ConfigError(f"a key named {name!r} exists: revoke it first, or pick another name")
    if rpm < 0 or tpm < 0:
        raise ConfigError("--rpm and --tpm must be 0 (no limit) or more")
    secret = PREFIX + secrets.token_urlsafe(32)
    key = Key(name, digest(secret), admin, rpm, int(time.time()), tpm, tuple(variants))
    save(path, {**keys, key.sha256: key})
    return secret


def revoke(path: Path, name: str) -> None:
    keys = load(path)
    kept = {h: k for h, k in keys.items() if k.name != name}
    if len(kept) == len(keys):
        raise ConfigError(f"no key named {name!r} in {path}")
    save(path, kept)
