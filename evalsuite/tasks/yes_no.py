"""Shared by the yes/no tasks (StrategyQA, ETHICS): ask, parse the first word, score."""

from __future__ import annotations

from evalsuite.scoring import is_refusal, yes_no
from evalsuite.types import Ask, Outcome, Request


async def ask_yes_no(req: Request, target: bool, ask: Ask) -> Outcome:
    """Score 1 when the reply's first word is the target; note unparsed replies and refusals."""
    reply = await ask(req)
    if reply.error:
        return Outcome.failed(reply, req)
    said = yes_no(reply.text)
    extra = {"unparsed": said is None, "refusal": said is None and is_refusal(reply.text)}
    return Outcome(
        float(said is target), said, reply.text, req.shown(), reply.latency_s, extra=extra
    )
