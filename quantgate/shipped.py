"""The data files quantgate ships: the demo profiles, the Qllm-Eval priors, chat templates.

They live in `profiles/` of a checkout. A wheel carries the same folder as the package
`quantgate.profiles_data` (setup.py maps it), so an installed gateway finds its default
profile and priors without environment variables.
"""

from __future__ import annotations

from importlib.util import find_spec
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[1] / "profiles"


def profiles_dir() -> Path:
    """The installed package's copy if there is one, else the checkout's `profiles/`."""
    spec = find_spec("quantgate.profiles_data")
    if spec is not None and spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    return CHECKOUT


def shipped(relative: str) -> Path:
    """A shipped file, e.g. `demo-llamacpp.yaml` or `priors/qllm-eval.yaml`."""
    return profiles_dir() / relative
