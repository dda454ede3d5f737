"""The routing cost table from a load-test run: prefill and decode tokens per second.

prefill_tps = prompt tokens / TTFT and decode_tps = 1 / TPOT, each the median over a
variant's successful requests that can measure it: prompts of at least PREFILL_MIN_PROMPT
tokens (below, TTFT is mostly the engine's fixed cost per request, and a decode-heavy run's
64-token prompts made prefill look twice as slow), and answers of at least
DECODE_MIN_COMPLETION tokens (below, TPOT is a few noisy gaps). Both need `usage` from the
server. A run that measures one rate (`prefill-heavy`, `decode-heavy`) writes that one and keeps
the other; `mixed` measures both. They are written into a profile's `routing.costs` with their
evidence (run, n; both runs when the rates come from two), keeping the file's comments and
layout (ruamel.yaml round-trip), and the result is validated before it replaces the file.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path
from statistics import median
from typing import Any

from loadtest.metrics import tpot, ttft
from loadtest.types import RequestResult
from quantgate.errors import ConfigError
from quantgate.profile import parse_profile

PREFILL_MIN_PROMPT = 256  # prompt tokens
DECODE_MIN_COMPLETION = 64  # completion tokens
RATES = ("prefill", "decode")


@dataclass(frozen=True)
class Cost:
    """The rates a run measured (None: not measured by it), the requests behind them, and
    both rates from every request (`rough`), used only for a rate the profile lacks."""

    prefill_tps: float | None
    decode_tps: float | None
    n: int
    rough: tuple[float | None, float | None] = (None, None)


def derive_costs(results: list[RequestResult]) -> tuple[dict[str, Cost], dict[str, str]]:
    """Costs per variant, and for the variants without one, why not."""
    costs: dict[str, Cost] = {}
    missing: dict[str, str] = {}
    for variant in sorted({r.variant for r in results}):
        ok = [r for r in results if r.variant == variant and r.status == "ok"]
        prefill = _prefill_rates(ok, PREFILL_MIN_PROMPT)
        decode = _decode_rates(ok, DECODE_MIN_COMPLETION)
        if not ok:
            missing[variant] = "no successful request"
        elif not any(r.prompt_tokens and r.completion_tokens for r in ok):
            missing[variant] = (
                "no usage in the streamed answers (prompt and completion token counts are needed)"
            )
        elif not prefill and not decode:
            missing[variant] = (
                f"requests too short to measure a rate: prefill needs prompts of >= "
                f"{PREFILL_MIN_PROMPT} tokens, decode answers of >= {DECODE_MIN_COMPLETION} "
                f"(--workload prefill-heavy, decode-heavy or mixed)"
            )
        else:
            rough = _prefill_rates(ok, 1), _decode_rates(ok, 2)
            costs[variant] = Cost(
                round(median(prefill), 1) if prefill else None,
                round(median(decode), 2) if decode else None,
                min(len(x) for x in (prefill, decode) if x),
                (
                    round(median(rough[0]), 1) if rough[0] else None,
                    round(median(rough[1]), 2) if rough[1] else None,
                ),
            )
    return costs, missing


def _prefill_rates(ok: list[RequestResult], least: int) -> list[float]:
    return [
        prompt / t
        for r in ok
        if (prompt := r.prompt_tokens or 0) >= least and (t := ttft(r)) is not None and t > 0
    ]


def _decode_rates(ok: list[RequestResult], least: int) -> list[float]:
    return [
        1 / t
        for r in ok
        if (r.completion_tokens or 0) >= least and (t := tpot(r)) is not None and t > 0
    ]


def write_costs(profile_path: Path, costs: dict[str, Cost], run_ref: str) -> dict[str, str]:
    """Write the measured rates; a rate the run did not measure keeps the profile's (or, when
    the profile has none, takes this run's rough figure). Returns a line per variant: what was
    written, kept or estimated, or why nothing was."""
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
    said = {}
    for variant, cost in costs.items():
        old = table.get(variant) or {}
        new = {"prefill": cost.prefill_tps, "decode": cost.decode_tps}
        rates = {k: new[k] if new[k] is not None else old.get(f"{k}_tps") for k in RATES}
        refs = _refs(old.get("evidence"))
        how = {k: "measured" if new[k] is not None else "kept" for k in RATES}
        for k, estimate in zip(RATES, cost.rough, strict=True):
            if new[k] is not None:
                refs[k] = run_ref
            elif rates[k] is None and estimate is not None:
                # nothing to keep: this run's rough figure until a run measures it
                rates[k], refs[k], how[k] = estimate, f"{run_ref} (rough)", "rough"
        lacking = [k for k in RATES if rates[k] is None]
        if lacking:
            said[variant] = f"no cost for {variant}: no {lacking[0]} rate measured or to keep"
            continue
        both = all(new[k] is not None for k in RATES)
        n = cost.n if both else min(cost.n, int((old.get("evidence") or {}).get("n", cost.n)))
        same = refs["prefill"] == refs["decode"]
        ref = refs["prefill"] if same else "; ".join(f"{k}: {refs[k]}" for k in RATES)
        entry = table.setdefault(variant, {})  # an eval's output_ratio stays
        entry["prefill_tps"] = rates["prefill"]
        entry["decode_tps"] = rates["decode"]
        entry["evidence"] = {"source": "measured", "ref": ref, "n": n}
        figures = ", ".join(f"{k} {rates[k]:g} tok/s ({how[k]})" for k in RATES)
        said[variant] = f"routing.costs of {variant}: {figures}"
    out = io.StringIO()
    yaml.dump(data, out)
    parse_profile(out.getvalue(), source=str(profile_path))  # still a valid profile
    tmp = profile_path.with_name(profile_path.name + ".tmp")
    tmp.write_text(out.getvalue())
    os.replace(tmp, profile_path)
    return said


def _refs(evidence: Any) -> dict[str, str]:
    """Which run each rate came from, by an evidence `ref` this module wrote."""
    ref = str((evidence or {}).get("ref", ""))
    parts = dict(
        p.split(": ", 1) for p in ref.split("; ") if p.startswith(("prefill: ", "decode: "))
    )
    return parts if set(parts) == set(RATES) else {k: ref for k in RATES}
