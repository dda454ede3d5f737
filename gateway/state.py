"""What the running app holds: the profile, its settings and the upstream pool."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from gateway.relay.pool import UpstreamPool
from gateway.settings import GatewaySettings
from quantgate.profile import Profile


@dataclass
class GatewayState:
    profile: Profile
    settings: GatewaySettings
    pool: UpstreamPool
    started: int = field(default_factory=lambda: int(time.time()))
