"""The routing cost table from a load-test run: prefill and decode tokens per second.

prefill_tps = prompt tokens / TTFT and decode_tps = 1 / TPOT, each the median over a
variant's successful requests; both need `usage` from the server. They are written into a
profile's `routing.costs` with their evidence (run, n), keeping the file's comments and
layout (ruamel.yaml round-trip), and the result is validated before it replaces the file.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path
from statistics import median

from loadtest.metrics import tpot, ttft
from loadtest.types import RequestResult
from quantgate.errors import ConfigError
from quantgate.profile import parse_profile


@dataclass(frozen=True)
class Cost:
    prefill_tps: float
    decode_tps: float
    n: int


def derive_costs(results: list[RequestResult]) -> tuple[dict[str, Cost], dict[str, str]]:
    """Costs per variant, and for the variants without one, why not."""
    costs: dict[str, Cost] = {}
    missing: dict[str, str] = {}
    for variant in sorted({r.variant for r in results}):
        ok = [r for r in results if r.variant == variant and r.status == "ok"]
        prefill = [
            r.prompt_tokens / t
            for r in ok
            if r.prompt_tokens and (t := ttft(r)) is not None and t > 0
        ]
        decode = [1 / t for r in ok if (t := tpot(r)) is not None and t > 0]
        if not prefill or not decode:
            missing[variant] = (
                "no usage in the streamed answers (prompt and completion token counts are needed)"
                if ok
                else "no successful request"
            )
            continue
        costs[variant] = Cost(
            round(median(prefill), 1), round(median(decode), 2), min(len(prefill), len(decode))
        )
    return costs, missing


def write_costs(profile_path: Path, costs: dict[str, Cost], run_ref: str) -> None:
    from ruamel.yaml import YAML

    yaml = YAML()
    yaml.preserve_quotes = True
    data = yaml.load(profile_path.read_text())
    names = {v["name"] for v in data.get("variants", [])}
    unknown = sorted(set(costs) - names)
    if unknown:
        raise ConfigError(f"{profile_path}: no variant named {', '.join(unknown)}")
    routing = data.setdefault("routing", {})
    table = routing.setdefault("costs", {})
    for variant, cost in costs.items():
        entry = table.setdefault(variant, {})  # an eval's output_ratio stays
        entry["prefill_tps"] = cost.prefill_tps
        entry["decode_tps"] = cost.decode_tps
        entry["evidence"] = {"source": "measured", "ref": run_ref, "n": cost.n}
    out = io.StringIO()
    yaml.dump(data, out)
    parse_profile(out.getvalue(), source=str(profile_path))  # still a valid profile
    tmp = profile_path.with_name(profile_path.name + ".tmp")
    tmp.write_text(out.getvalue())
    os.replace(tmp, profile_path)
