"""What every engine driver produces: how to launch one variant and what it will cost."""

from __future__ import annotations

from dataclasses import dataclass, field

from quantgate.artifact import Artifact

__all__ = ["Artifact", "LaunchSpec"]


@dataclass(frozen=True)
class LaunchSpec:
    argv: list[str]
    served_model: str  # the name the server expects in requests
    memory_bytes: int  # estimated peak resident memory
    env: dict[str, str] = field(default_factory=dict)
    ready_path: str = "/v1/models"
    start_timeout: float = 120.0
    memory_detail: str = ""  # how the estimate was made
    make_dirs: tuple[str, ...] = ()  # folders the process needs, made when it starts
