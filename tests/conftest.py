"""Every test runs with no API keys unless it makes its own (a keys file in the developer's
~/.config would otherwise lock the tests' gateways)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

os.environ["QUANTGATE_KEYS_FILE"] = str(Path(tempfile.gettempdir()) / "quantgate-tests-no-keys")
