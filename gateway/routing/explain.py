"""A routing decision as plain data: for `POST /v1/route` and `quantgate route`."""

from __future__ import annotations

from typing import Any

from gateway.routing.router import Routed


def explain(routed: Routed) -> dict[str, Any]:
    d = routed.decision
    found = routed.classification
    return {
        "task": d.task,
        "task_source": routed.task_source,
        "classifier": None
        if found is None
        else {
            "task": found.task,
            "confidence": round(found.confidence, 3),
            "features": found.reasons,
            "runner_up": found.runner_up,
            "unsure": found.unsure,
        },
        "band": d.band,
        "tolerance": d.tolerance,
        "max_tokens": d.max_tokens,
        "chosen": d.chosen,
        "order": list(d.order),
        "route": d.summary,
        "candidates": [
            {
                "variant": c.variant,
                "quality": c.quality.value,
                "quality_source": c.quality.source,
                "evidence": c.quality.ref,
                "prompt_tokens": c.prompt_tokens,
                "prompt_tokens_exact": routed.exact.get(c.variant),
                "predicted_latency_ms": round(c.predicted_s * 1000, 1),
                "cost_source": c.cost_source,
                "status": c.status,
                "reason": c.reason,
            }
            for c in d.candidates
        ],
        "timings_us": {k: round(v, 1) for k, v in routed.timings_us.items()},
    }
