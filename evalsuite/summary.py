"""Per task and variant: score, 95% CI, score normalized to the reference, task metrics, and
the paired measures against the reference (agreement, prefix match, KL, output-length ratio:
evalsuite.agreement). Per task: its chance score and whether the reference is above it."""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

from evalsuite.agreement import above_chance, measures, pairs
from evalsuite.scoring import bootstrap_ci, ece, ratio_ci
from evalsuite.types import Row


def summarize(rows: list[Row], reference: str | None) -> dict[str, Any]:
    by: dict[tuple[str, str], list[Row]] = defaultdict(list)
    info: dict[str, dict[str, str]] = {}
    for r in rows:
        by[(r.task, r.variant)].append(r)
        info[r.task] = {"ability": r.ability, "route_task": r.route_task}
    variants = list(dict.fromkeys(r.variant for r in rows))
    tasks: dict[str, Any] = {}
    for task, meta in info.items():
        ref_group = by.get((task, reference or ""), [])
        ref_rows = {r.sample: r for r in ref_group}
        per: dict[str, Any] = {}
        for variant in variants:
            group = by.get((task, variant), [])
            per[variant] = _variant(group, ref_rows if variant != reference else None)
            if variant != reference and ref_rows:
                per[variant].update(measures(list(pairs(group + ref_group, reference or ""))))
        chance = next((r.chance for r in ref_group if r.chance is not None), None)
        ref_scores = [r.score for r in ref_group if r.score is not None]
        tasks[task] = {
            **meta,
            "chance": chance,
            "reference_above_chance": above_chance(ref_scores, chance) if ref_group else None,
            "variants": per,
        }
    return {"reference": reference, "variants": variants, "tasks": tasks}


def _variant(group: list[Row], ref_rows: dict[str, Row] | None) -> Any:
    scored = [r for r in group if r.score is not None]
    skipped = [r for r in group if r.extra.get("skipped")]
    errors = [r for r in group if r.score is None and not r.extra.get("skipped")]
    scores = [r.score for r in scored if r.score is not None]
    out: dict[str, Any] = {
        "n": len(scored),
        "errors": len(errors),
        "skipped": len(skipped),
        "score": sum(scores) / len(scores) if scores else None,
        "ci95": bootstrap_ci(scores),
        "normalized": 1.0 if ref_rows is None and scores else None,
        "normalized_ci95": None,
        "latency_s": sum(r.latency_s for r in scored) / len(scored) if scored else None,
    }
    if ref_rows is not None:
        pairs = [
            (r.score, base)
            for r in scored
            if r.score is not None
            and r.sample in ref_rows
            and (base := ref_rows[r.sample].score) is not None
        ]
        ref_total = sum(p[1] for p in pairs)
        if pairs and ref_total > 0:
            out["normalized"] = sum(p[0] for p in pairs) / ref_total
            out["normalized_ci95"] = ratio_ci(pairs)
        out["paired"] = len(pairs)
    out.update(_metrics(scored))
    return out


def _metrics(scored: list[Row]) -> dict[str, Any]:
    """The task-specific figures, from each sample's `extra`."""
    extras = [r.extra for r in scored]
    out: dict[str, Any] = {}
    if any("unparsed" in e for e in extras):
        out["unparsed_rate"] = sum(bool(e.get("unparsed")) for e in extras) / len(extras)
    confident = [
        (e["confidence"], r.score == 1.0)
        for r, e in zip(scored, extras, strict=True)
        if "confidence" in e
    ]
    if confident:
        out["ece"] = ece([c for c, _ in confident], [ok for _, ok in confident])
    if any("refusal" in e for e in extras):
        out["refusal_rate"] = sum(bool(e.get("refusal")) for e in extras) / len(extras)
    nll = [e for e in extras if e.get("nll") is not None]
    if nll:
        out["perplexity"] = math.exp(sum(e["nll"] for e in nll) / sum(e["tokens"] for e in nll))
    elif any("nll" in e for e in extras):
        out["perplexity"] = None  # asked, but the endpoint returned no prompt logprobs
    for key in ("sentence_repetition", "token_repetition"):
        if any(key in e for e in extras):
            out[key] = sum(e.get(key, 0.0) for e in extras) / len(extras)
    if any("instructions" in e for e in extras):
        followed = [v for e in extras for v in e["instructions"].values()]
        out["instruction_accuracy"] = sum(followed) / len(followed)
    if any("loose" in e for e in extras):
        out["loose_accuracy"] = sum(bool(e.get("loose")) for e in extras) / len(extras)
    lengths = defaultdict(list)
    for r, e in zip(scored, extras, strict=True):
        if "length" in e:
            lengths[e["length"]].append(r.score or 0.0)  # scored rows only
    if lengths:
        out["by_length"] = {str(k): sum(v) / len(v) for k, v in sorted(lengths.items())}
    return out
