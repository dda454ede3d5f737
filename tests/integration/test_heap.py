"""Start-up's freed memory goes back to the system (gateway/heap.py), on the demo's real
tokenizer: parsing its 513k merges leaves pages that glibc keeps unless asked."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.integration.demos import REPO

pytestmark = pytest.mark.integration

LOAD = """
import json
from pathlib import Path
from gateway.engines.base import Artifact
from gateway.heap import settle
from gateway.routing.tokens import prompt_counter
from quantgate.profile import load_profile
from quantize.build import build_profile
from quantize.cache import ArtifactCache

def resident():
    return int(Path("/proc/self/statm").read_text().split()[1]) * 4096

profile_file = Path("profiles/demo-llamacpp.yaml")
profile = load_profile(profile_file)
roots = sorted({profile.build_order(n)[0] for n in profile.artifacts})
built = build_profile(profile, ArtifactCache(), names=roots)
artifacts = {n: Artifact(Path(b.entry.path), b.entry.info) for n, b in built.items()}
counter = prompt_counter(profile, artifacts, profile_file.parent)
before = resident()
kinds = counter.load()
loaded = resident()
returned = settle()
print(json.dumps({"kinds": kinds, "before": before, "loaded": loaded,
                  "settled": resident(), "returned": returned}))
"""


def test_what_loading_the_tokenizers_freed_goes_back_to_the_system() -> None:
    out = subprocess.run(
        [sys.executable, "-c", LOAD], cwd=REPO, capture_output=True, text=True, check=True
    )
    m = json.loads(out.stdout.strip().splitlines()[-1])
    assert list(m["kinds"].values()) == ["tokenizers"], m  # the Rust tokenizer, from the GGUF
    grew = m["loaded"] - m["before"]
    assert grew > 100 * 2**20, m  # it parsed a large vocabulary
    assert m["returned"] is True
    assert m["loaded"] - m["settled"] > grew / 2, m  # most of it was freed pages, now returned
