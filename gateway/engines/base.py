"""What every engine driver produces: how to launch one variant and what it will cost."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from quantgate.artifact import Artifact

__all__ = ["Artifact", "Engines", "LaunchSpec"]


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


class Engines(Protocol):
    """The managed engines as the app sees them: a Supervisor (one process runs engines and
    API), or a worker's view of the supervisor's board (gateway/engines/board.py)."""

    busy: Callable[[str], bool]  # set by the app: requests in flight on a variant?
    recovered: Callable[[str], None]  # set by the app: a restarted engine is healthy again
    unsupported: dict[str, str]  # managed variants this machine cannot run: name -> why

    @property
    def endpoints(self) -> dict[str, str]: ...

    @property
    def served_models(self) -> dict[str, str]: ...

    @property
    def ports(self) -> dict[str, int]: ...

    def healthy(self, name: str) -> bool: ...

    def status(self) -> dict[str, dict[str, object]]: ...

    async def start(self) -> dict[str, float]: ...

    async def watch(self) -> None: ...

    def stop(self) -> None: ...
