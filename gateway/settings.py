"""Gateway settings: command-line flags override `QUANTGATE_*` environment variables."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from quantgate.errors import ConfigError

PREFIX = "QUANTGATE_"


class GatewaySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=PREFIX, frozen=True)

    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    connect_timeout: float = Field(5.0, gt=0, description="s to open a connection upstream")
    first_byte_timeout: float = Field(
        300.0, gt=0, description="s from sending a request to the upstream's first event or body"
    )
    idle_timeout: float = Field(60.0, gt=0, description="s allowed between two streamed events")
    max_failovers: int = Field(
        2, ge=0, description="variants tried after the first fails (the retry budget)"
    )
    deadline: float | None = Field(
        None,
        gt=0,
        description="s a request may take to its first byte, failovers included "
        "(X-Quantgate-Deadline overrides it per request); none: each try has its own timeout",
    )
    max_body_bytes: int = Field(8 * 1024 * 1024, gt=0, description="larger requests get 413")
    max_connections: int = Field(
        256, gt=0, description="cap on any variant's max_concurrency (and its HTTP pool size)"
    )
    max_queue: int = Field(
        1024, ge=0, description="requests that may wait for a variant at its limit; then 429"
    )
    queue_timeout: float = Field(
        300.0, gt=0, description="s a request may wait in that queue (as long as for a first byte)"
    )
    drain_timeout: int = Field(
        30, gt=0, description="s after SIGTERM for requests in flight to finish; then cut"
    )
    load_interval: float = Field(
        1.0, gt=0, description="s between two reads of the vLLM engines' load (/metrics)"
    )
    ready_timeout: float = Field(2.0, gt=0, description="s per variant probe in GET /ready")
    admin_metrics: bool = Field(
        False, description="GET /metrics needs an admin key too (like /sd/engines)"
    )
    keys_file: Path | None = Field(
        None, description="API keys (quantgate keys); default ~/.config/quantgate/keys.json"
    )
    redis_url: str | None = Field(
        None, description="API keys' limits shared in this Redis (redis://host:6379/0)"
    )
    redis_failure: Literal["open", "closed"] = Field(
        "open", description="Redis unreachable: admit (open) or answer 503 (closed)"
    )
    workers: int | None = Field(
        None, ge=1, description="gateway processes (serve --workers); none: one per free core"
    )
    log_level: Literal["critical", "error", "warning", "info", "debug"] = "info"
    log_format: Literal["json", "text"] = "json"

    @field_validator("log_level", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value


def load_settings(**flags: Any) -> GatewaySettings:
    """The settings from `flags` (command-line options; None: not given) over `QUANTGATE_*`
    variables; a bad value is a ConfigError naming the flag or variable and the value."""
    given = {k: v for k, v in flags.items() if v is not None}
    try:
        return GatewaySettings(**given)
    except ValidationError as exc:
        problems = []
        for e in exc.errors():
            field = str(e["loc"][0]) if e["loc"] else "settings"
            where = f"--{field.replace('_', '-')}" if field in given else PREFIX + field.upper()
            problems.append(f"{where}={e['input']!r}: {e['msg']}")
        raise ConfigError("bad settings:\n  " + "\n  ".join(problems)) from None
