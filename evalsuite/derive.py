"""Routing rules from measurements: an eval run (quality) and optionally a load-test run (cost).

For each routing task class (a task's `route_task`) and context band, each variant's quality is
its pooled score over that class's samples divided by the reference's on the same samples, with
a paired-bootstrap 95% interval. The rule written is the interval's LOWER bound (capped at 1):
the router admits a variant only when quality >= 1 - tolerance, so a variant passes only when
its loss is within tolerance with 95% confidence, and a small sample cannot admit it by luck.
Classes or bands with fewer than `min_n` paired samples, or where the reference scored less
than MIN_REFERENCE in total (a ratio over 1 of 30 is noise), get no rule (the priors stay).
A sample's band comes from its prompt tokens where the task records them (long context),
otherwise it is the first band (the other tasks' prompts are short).
"""

from __future__ import annotations

import io
import json
import os
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evalsuite.scoring import ratio_ci
from evalsuite.types import Row
from quantgate.errors import ConfigError
from quantgate.profile import Profile, parse_profile
from quantgate.vocabulary import band_of

MIN_REFERENCE = 5.0  # the reference's summed score a ratio needs (1/30 right is no base)


@dataclass(frozen=True)
class Rule:
    task: str
    band: str
    variant: str
    quality: float  # the lower 95% bound of the normalized score, capped at 1
    point: float
    ci95: tuple[float, float]
    n: int
    tasks: tuple[str, ...]


def read_run(run_dir: Path) -> tuple[dict[str, Any], list[Row]]:
    try:
        summary = json.loads((run_dir / "summary.json").read_text())
        lines = (run_dir / "samples.jsonl").read_text().splitlines()
        rows = [Row.from_json(json.loads(x)) for x in lines if x]
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{run_dir}: not an eval run directory ({exc})") from exc
    return summary, rows


def row_band(profile: Profile, row: Row) -> str:
    """The context band of an eval sample (its prompt tokens; the first band if unknown)."""
    tokens = row.extra.get("prompt_tokens") or row.extra.get("length") or 0
    return band_of([(b.name, b.max_tokens) for b in profile.routing.bands], tokens)


def derive_rules(
    profile: Profile, rows: list[Row], reference: str, min_n: int = 20
) -> tuple[list[Rule], list[str]]:
    """The rules, and why each skipped (class, band, variant) got none."""
    ref = {(r.task, r.sample): r for r in rows if r.variant == reference}
    groups: dict[tuple[str, str, str], list[tuple[float, float]]] = defaultdict(list)
    tasks: dict[tuple[str, str], set[str]] = defaultdict(set)
    for r in rows:
        base = ref.get((r.task, r.sample))
        if r.variant == reference or r.score is None or base is None or base.score is None:
            continue
        key = (r.route_task, row_band(profile, base), r.variant)
        groups[key].append((float(r.score), float(base.score)))
        tasks[key[:2]].add(r.task)
    rules, skipped = [], []
    for (task, band, variant), pairs in sorted(groups.items()):
        ref_total = sum(b for _, b in pairs)
        ci = ratio_ci(pairs)
        if len(pairs) < min_n or ci is None or ref_total < MIN_REFERENCE:
            why = (
                f"{len(pairs)} paired samples"
                if len(pairs) < min_n
                else f"the reference scored {ref_total:g} (< {MIN_REFERENCE}): no ratio to trust"
            )
            skipped.append(f"{task}/{band}/{variant}: {why}")
            continue
        point = sum(v for v, _ in pairs) / ref_total
        rules.append(
            Rule(
                task,
                band,
                variant,
                round(min(1.0, ci[0]), 4),
                round(point, 4),
                (round(ci[0], 4), round(ci[1], 4)),
                len(pairs),
                tuple(sorted(tasks[(task, band)])),
            )
        )
    return rules, skipped


def write_profile(source: Path, out: Path, rules: list[Rule], run_id: str) -> None:
    """`source` with its measured rules replaced by `rules`, comments kept, validated first."""
    from ruamel.yaml import YAML

    yaml = YAML()
    yaml.preserve_quotes = True
    data = yaml.load(source.read_text())
    routing = data.setdefault("routing", {})
    kept = [
        r for r in routing.get("rules") or [] if r.get("evidence", {}).get("source") != "measured"
    ]
    routing["rules"] = kept + [
        {
            "task": r.task,
            "band": r.band,
            "variant": r.variant,
            "quality": r.quality,
            "evidence": {
                "source": "measured",
                "ref": f"eval {run_id} ({', '.join(r.tasks)}; point {r.point})",
                "n": r.n,
                "ci95": list(r.ci95),
            },
        }
        for r in rules
    ]
    text = io.StringIO()
    yaml.dump(data, text)
    parse_profile(text.getvalue(), source=str(out))
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(text.getvalue())
    os.replace(tmp, out)
