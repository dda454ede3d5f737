"""Routing rules from measurements: an eval run (quality) and optionally a load-test run (cost).

Each (task, context band, variant) cell pairs the variant's samples with the reference's, and
takes its evidence from the metric that carries signal there:
- where the reference scores significantly above the task's chance level (the lower bound of
  its 95% bootstrap interval is above chance), the ACCURACY RATIO: the variant's summed score
  over the reference's, with a paired-bootstrap 95% interval;
- where it does not (a task at chance on this model, or a score that is no correctness),
  AGREEMENT with the reference: the share of samples with the reference's answer
  (evalsuite.agreement). An at-chance ratio never becomes a rule, and neither does agreement
  with a reference that gives one answer to nearly every sample (CONSTANT_SHARE): any variant
  that always says "yes" agrees with an always-"yes" reference.
The value is the interval's LOWER bound (capped at 1): the router admits a variant only when
quality >= 1 - tolerance, so it passes only when its loss is within tolerance with 95%
confidence. A routing class's rule for a band and variant is the lowest of its tasks' values,
and names the task and metric it came from.
A variant's errors count as failures (score 0, disagreement): a variant that times out on the
hard samples does not get a better ratio. Samples the reference failed on have no pair and are
reported. Cells with fewer than `min_n` pairs, or an accuracy ratio whose reference scored less
than MIN_REFERENCE in total, give no rule (the priors stay).
A sample's band comes from its prompt tokens (the answer's usage, or what the task records);
samples without a count are in the first band.
"""

from __future__ import annotations

import io
import json
import os
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evalsuite.agreement import above_chance, dropped, pairs, same_answer, token_pairs
from evalsuite.scoring import bootstrap_ci, ratio_ci
from evalsuite.types import Row
from quantgate.errors import ConfigError
from quantgate.profile import Profile, parse_profile
from quantgate.profile.paths import rebase_paths
from quantgate.vocabulary import band_of

MIN_REFERENCE = 5.0  # the reference's summed score a ratio needs (1/30 right is no base)
CONSTANT_SHARE = 0.9  # a reference giving one answer this often makes agreement uninformative


@dataclass(frozen=True)
class Rule:
    task: str  # the routing task class
    band: str
    variant: str
    quality: float  # the lower 95% bound of the metric, capped at 1
    point: float
    ci95: tuple[float, float]
    n: int
    tasks: tuple[str, ...]  # the eval task the value came from
    metric: str = "accuracy_ratio"  # or "agreement"


def read_run(run_dir: Path) -> tuple[dict[str, Any], list[Row]]:
    """An eval run's summary and rows; refused when its replies were cut (`--max-tokens`)."""
    try:
        summary = json.loads((run_dir / "summary.json").read_text())
        lines = (run_dir / "samples.jsonl").read_text().splitlines()
        rows = [Row.from_json(json.loads(x)) for x in lines if x]
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{run_dir}: not an eval run directory ({exc})") from exc
    cut = summary.get("config", {}).get("max_tokens")
    if cut:
        raise ConfigError(
            f"{run_dir}: its replies were cut at {cut} tokens (quantgate eval --max-tokens), a "
            "quick check whose scores are not the tasks' own; derive rules from a run without "
            "--max-tokens"
        )
    return summary, rows


def row_band(profile: Profile, row: Row) -> str:
    """The context band of an eval sample (its prompt tokens; the first band if unknown)."""
    tokens = row.prompt_tokens or row.extra.get("prompt_tokens") or row.extra.get("length") or 0
    return band_of([(b.name, b.max_tokens) for b in profile.routing.bands], tokens)


def cell_rule(
    paired: list[tuple[Row, Row]], min_n: int
) -> tuple[str, float, float, tuple[float, float]] | str:
    """(metric, lower bound, point, CI) for one (task, band, variant) cell, or why none."""
    if len(paired) < min_n:
        return f"{len(paired)} paired samples"
    ref_scores = [r.score for _, r in paired if r.score is not None]
    if above_chance(ref_scores, paired[0][1].chance):
        scores = [(v.score or 0.0, r.score) for v, r in paired if r.score is not None]
        ref_total = sum(b for _, b in scores)
        ci = ratio_ci(scores)
        if ci is None or ref_total < MIN_REFERENCE:
            return f"the reference scored {ref_total:g} (< {MIN_REFERENCE}): no ratio to trust"
        return "accuracy_ratio", ci[0], sum(v for v, _ in scores) / ref_total, ci
    answers = Counter(repr(r.parsed) for _, r in paired if r.parsed is not None)
    common = answers.most_common(1)[0] if answers else None
    if common is not None and common[1] >= CONSTANT_SHARE * len(paired):
        return (
            f"the reference answers {common[0]} to {common[1]} of {len(paired)}: agreeing "
            "with a constant answer says nothing"
        )
    agree = [float(same_answer(v, r)) for v, r in paired]
    ci = bootstrap_ci(agree)
    assert ci is not None  # paired is not empty
    return "agreement", ci[0], sum(agree) / len(agree), ci


def derive_rules(
    profile: Profile, rows: list[Row], reference: str, min_n: int = 20
) -> tuple[list[Rule], list[str]]:
    """The rules, and notes: why a cell got no rule, errors counted, samples dropped."""
    cells: dict[tuple[str, str, str], list[tuple[Row, Row]]] = defaultdict(list)
    for v, r in pairs(rows, reference):
        cells[(v.task, row_band(profile, r), v.variant)].append((v, r))
    best: dict[tuple[str, str, str], Rule] = {}
    notes = []
    for (task, band, variant), paired in sorted(cells.items()):
        errors = sum(1 for v, _ in paired if v.error is not None)
        if errors:
            notes.append(f"{task}/{band}/{variant}: {errors} errors counted as failures")
        found = cell_rule(paired, min_n)
        if isinstance(found, str):
            notes.append(f"{task}/{band}/{variant}: no rule ({found})")
            continue
        metric, low, point, ci = found
        key = (paired[0][0].route_task, band, variant)
        rule = Rule(
            key[0],
            band,
            variant,
            round(min(1.0, low), 4),
            round(point, 4),
            (round(ci[0], 4), round(ci[1], 4)),
            len(paired),
            (task,),
            metric,
        )
        if key not in best or rule.quality < best[key].quality:
            best[key] = rule
    lost = dropped(rows, reference)
    if lost:
        notes.append(f"{lost} variant samples dropped: the reference failed on them")
    return [best[k] for k in sorted(best)], notes


@dataclass(frozen=True)
class OutputRatio:
    ratio: float  # the variant's completion tokens over the reference's, same samples
    ci95: tuple[float, float]
    n: int


def output_ratios(rows: list[Row], reference: str, min_n: int = 20) -> dict[str, OutputRatio]:
    """Per variant, pooled over every paired sample with token counts on both sides."""
    by: dict[str, list[tuple[Row, Row]]] = defaultdict(list)
    for v, r in pairs(rows, reference):
        by[v.variant].append((v, r))
    out = {}
    for variant, paired in sorted(by.items()):
        lengths = token_pairs(paired)
        ci = ratio_ci(lengths)
        if len(lengths) >= min_n and ci is not None:
            ratio = sum(v for v, _ in lengths) / sum(r for _, r in lengths)
            out[variant] = OutputRatio(
                round(ratio, 3), (round(ci[0], 3), round(ci[1], 3)), len(lengths)
            )
    return out


def write_profile(
    source: Path,
    out: Path,
    rules: list[Rule],
    run_id: str,
    ratios: dict[str, OutputRatio] | None = None,
    *,
    merge: bool = False,
) -> None:
    """`source` with its measured rules replaced by `rules` and each variant's output ratio
    in `routing.costs`, comments kept, validated first. `merge`: measured rules of cells
    (task, band, variant) that `rules` does not cover stay (another run measured them)."""
    from ruamel.yaml import YAML

    yaml = YAML()
    yaml.preserve_quotes = True
    data = yaml.load(source.read_text())
    rebase_paths(data, source.resolve().parent, out.resolve().parent)  # when written elsewhere
    routing = data.setdefault("routing", {})
    new = {(r.task, r.band, r.variant) for r in rules}
    kept = [
        r
        for r in routing.get("rules") or []
        if r.get("evidence", {}).get("source") != "measured"
        or (merge and (r["task"], r["band"], r["variant"]) not in new)
    ]
    routing["rules"] = kept + [
        {
            "task": r.task,
            "band": r.band,
            "variant": r.variant,
            "quality": r.quality,
            "evidence": {
                "source": "measured",
                "metric": r.metric,
                "ref": f"eval {run_id} ({', '.join(r.tasks)}: {r.metric}; point {r.point})",
                "n": r.n,
                "ci95": list(r.ci95),
            },
        }
        for r in rules
    ]
    costs = routing.setdefault("costs", {})
    for variant, r in (ratios or {}).items():
        entry = costs.setdefault(variant, {})
        entry["output_ratio"] = r.ratio
        entry["output_evidence"] = {
            "source": "measured",
            "ref": f"eval {run_id} (completion tokens / the reference's)",
            "n": r.n,
            "ci95": list(r.ci95),
        }
    text = io.StringIO()
    yaml.dump(data, text)
    parse_profile(text.getvalue(), source=str(out))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(text.getvalue())
    os.replace(tmp, out)
