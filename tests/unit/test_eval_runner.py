"""The eval runner against a fake endpoint (httpx MockTransport): rows, cache, report, errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from evalsuite.client import Endpoint, parse_reply
from evalsuite.derive import read_run
from evalsuite.report import error_digest, write_run
from evalsuite.runner import Target, run_eval
from evalsuite.summary import summarize
from evalsuite.tasks import TASKS, select
from evalsuite.types import Context, Request, Row
from quantgate.data import data_dir
from quantgate.errors import ConfigError
from quantgate.vocabulary import TASKS as TASKS_VOCAB


class Fake:
    """Answers ' A' (with option logprobs) as `good`, ' D' as `bad`; `broken` fails with 500.
    Echo requests (an option's log-likelihood) get -0.1 for its letter, -3 for the others."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def handler(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.calls.append(body)
        if body["model"] == "broken":
            return httpx.Response(500, json={"error": {"message": "boom"}})
        letter = " A" if body["model"] == "good" else " D"
        if body.get("echo"):
            base, option = body["prompt"][:-2], body["prompt"][-2:]
            choice = {
                "text": body["prompt"] + "\n",
                "finish_reason": "length",
                "logprobs": {
                    "tokens": [base, option, "\n"],
                    "token_logprobs": [None, -0.1 if option == letter else -3.0, -0.5],
                    "top_logprobs": [None, {option: -0.1}, {"\n": -0.5}],
                    "text_offset": [0, len(base), len(body["prompt"])],
                },
            }
            return httpx.Response(200, json={"choices": [choice]})
        top = {letter: -0.1, " B": -3.0}
        choice = {
            "text": letter,
            "finish_reason": "length",
            "logprobs": {
                "tokens": [letter],
                "token_logprobs": [-0.1],
                "top_logprobs": [top],
                "text_offset": [0],
            },
        }
        return httpx.Response(
            200, json={"choices": [choice], "usage": {"prompt_tokens": 5, "completion_tokens": 1}}
        )


def targets(fake: Fake, *names: str) -> list[Target]:
    transport = httpx.MockTransport(fake.handler)
    return [Target(n, Endpoint("http://fake/v1", n, transport=transport)) for n in names]


def run(
    fake: Fake,
    run_dir: Path,
    *names: str,
    tasks: str = "arc_easy,mmlu",
    context: Context = Context(loglikelihood=True),
) -> list[dict[str, Any]]:
    return anyio.run(
        lambda: run_eval(
            select(tasks),
            targets(fake, *names),
            data_dir=data_dir(),
            limit=6,
            seed=0,
            run_dir=run_dir,
            context=context,
        )
    )


def test_rows_scores_and_a_resumed_run_asks_nothing_new(tmp_path: Path) -> None:
    fake = Fake()
    rows = run(fake, tmp_path, "good", "bad")
    options = sum(len(r.extra["probs"]) for r in rows)
    assert len(rows) == 2 * 2 * 6 and len(fake.calls) == 24 + options  # answer + each option
    assert {x.extra["scored_by"] for x in rows} == {"log-likelihood"}
    assert all(r.parsed == "A" for r in rows if r.variant == "good")
    assert all(r.parsed == "D" for r in rows if r.variant == "bad")
    again = run(fake, tmp_path, "good", "bad")
    assert len(fake.calls) == 24 + options  # every reply came from the cache
    assert [r.score for r in again] == [r.score for r in rows]


def test_errors_are_rows_without_a_score_and_are_retried(tmp_path: Path) -> None:
    fake = Fake()
    rows = run(fake, tmp_path, "broken", tasks="arc_easy")
    assert all(r.score is None and "HTTP 500" in (r.error or "") for r in rows)
    run(fake, tmp_path, "broken", tasks="arc_easy")
    assert len(fake.calls) == 12  # failures are not cached
    summary = summarize(rows, "broken")
    assert summary["tasks"]["arc_easy"]["variants"]["broken"]["errors"] == 6
    more = run(fake, tmp_path / "more", "broken", "good", tasks="arc_easy,mmlu")
    assert error_digest(more) == [
        '12 x HTTP 500: {"error":{"message":"boom"}} (broken/arc_easy, broken/mmlu)'
    ]
    assert error_digest([r for r in more if r.variant == "good"]) == []


def test_summary_normalizes_to_the_reference_and_the_report_is_written(tmp_path: Path) -> None:
    fake = Fake()
    rows = run(fake, tmp_path, "good", "bad")
    summary = summarize(rows, "good")
    arc = summary["tasks"]["arc_easy"]["variants"]
    assert arc["good"]["normalized"] == 1.0
    good, bad = arc["good"]["score"], arc["bad"]["score"]
    if good:
        assert arc["bad"]["normalized"] == pytest.approx(bad / good)
    assert "ece" in arc["good"] and 0 <= arc["good"]["ece"] <= 1
    plots = write_run(tmp_path / "run", {"run_id": "t", "limit": 6}, rows, summary)
    for name in ("samples.jsonl", "summary.json", "report.md", "report.html"):
        assert (tmp_path / "run" / name).stat().st_size > 0
    assert plots and all(p.exists() for p in plots)
    assert "arc_easy" in (tmp_path / "run" / "report.md").read_text()
    assert len((tmp_path / "run" / "samples.jsonl").read_text().splitlines()) == len(rows)


def test_echo_replies_split_prompt_and_completion_logprobs() -> None:
    prompt = "The capital is Paris"
    data = {
        "choices": [
            {
                "text": prompt + ".",
                "logprobs": {
                    "tokens": ["The", " capital", " is", " Paris", "."],
                    "token_logprobs": [None, -2.0, -1.0, -0.5, -0.1],
                    "top_logprobs": [None, {}, {}, {}, {".": -0.1}],
                    "text_offset": [0, 3, 11, 14, 20],
                },
            }
        ],
        "usage": {"prompt_tokens": 5, "completion_tokens": 1},  # the BOS is counted, not echoed
    }
    reply = parse_reply(data, 0.1, Request(prompt=prompt, echo=True, logprobs=1))
    assert reply.prompt_logprobs == [None, -2.0, -1.0, -0.5]
    assert reply.text == "." and reply.top_logprobs == [{".": -0.1}]


@pytest.mark.parametrize("name", list(TASKS))
def test_every_task_loads_seeded_samples(name: str) -> None:
    task = TASKS[name]
    first = task.load(data_dir(), 4, 0)
    assert first and [s.id for s in first] == [s.id for s in task.load(data_dir(), 4, 0)]
    assert len({s.id for s in first}) == len(first)


def test_unknown_task_names_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown task"):
        select("mmlu,poetry")


def test_a_task_must_name_a_routing_class() -> None:
    from evalsuite.types import Task

    def nothing(*_: object) -> list[object]:
        return []

    with pytest.raises(ValueError, match="route_task 'maths'"):
        Task(
            name="t", ability="reasoning", route_task="maths", metric="m", load=nothing, run=nothing
        )  # type: ignore[arg-type]
    assert all(t.route_task in TASKS_VOCAB for t in TASKS.values())


def test_lambada_perplexity_scores_the_target_as_written() -> None:
    from evalsuite.tasks.lambada import LAMBADA
    from evalsuite.types import Reply

    samples = LAMBADA.load(data_dir(), 0, 0)
    capital = next(s for s in samples if s.meta["word"][0].isupper())
    asked: list[Request] = []

    async def ask(req: Request) -> Reply:
        asked.append(req)
        return Reply(text=" " + capital.meta["word"], prompt_logprobs=[None, -1.0, -2.0])

    outcome = anyio.run(LAMBADA.run, capital, ask, Context(perplexity=True))
    assert outcome.score == 1.0  # accuracy: case-insensitive
    assert asked[1].echo and asked[1].prompt is not None
    assert asked[1].prompt.endswith(" " + capital.meta["word"])  # perplexity: capital kept
    assert capital.target == capital.meta["word"].lower()


def test_top_logprobs_scoring_needs_no_echo(tmp_path: Path) -> None:
    fake = Fake()
    rows = anyio.run(
        lambda: run_eval(
            select("arc_easy"),
            targets(fake, "good"),
            data_dir=data_dir(),
            limit=4,
            seed=0,
            run_dir=tmp_path,
            context=Context(logprobs=True),
        )
    )
    assert len(fake.calls) == 4 and not any(c.get("echo") for c in fake.calls)
    assert all(r.extra["scored_by"] == "top logprobs" and r.parsed == "A" for r in rows)


def test_a_variant_without_logprobs_is_asked_for_none(tmp_path: Path) -> None:
    """llama.cpp without logits_all (the demo's -8k variants) refuses logprobs: the runner
    asks it plainly (multiple choice by the answer's text) instead of failing every sample."""
    fake = Fake()
    transport = httpx.MockTransport(fake.handler)
    plain = Target("good", Endpoint("http://fake/v1", "good", transport=transport), logprobs=False)
    rows = anyio.run(
        lambda: run_eval(
            select("arc_easy,lambada"),
            [plain],
            data_dir=data_dir(),
            limit=3,
            seed=0,
            run_dir=tmp_path,
            context=Context(loglikelihood=True, perplexity=True, top_logprobs=5),
        )
    )
    assert len(rows) == 6 and all(r.error is None for r in rows)
    assert fake.calls and not any("logprobs" in b or b.get("echo") for b in fake.calls)


def test_a_resumed_run_asks_the_judge_only_what_it_did_not_rate(tmp_path: Path) -> None:
    """MT-Bench's judge is a paid model as often as not: its ratings are cached in the run
    directory like the variants' replies, so a resumed run rates only what it has not."""
    judged: list[dict[str, Any]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        if request.url.host == "judge":
            judged.append(body)
        text = "Rating: [[7]]" if request.url.host == "judge" else "An answer."
        choice = {"message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
        return httpx.Response(200, json={"choices": [choice]})

    transport = httpx.MockTransport(answer)

    def run_mt_bench(limit: int) -> list[Row]:
        variant = Target("good", Endpoint("http://fake/v1", "good", transport=transport))
        judge = Endpoint("http://judge/v1", "gpt-judge", transport=transport)
        return anyio.run(
            lambda: run_eval(
                select("mt_bench"),
                [variant],
                data_dir=data_dir(),
                limit=limit,
                seed=0,
                run_dir=tmp_path,
                context=Context(form="chat"),
                judge=judge,
            )
        )

    rows = run_mt_bench(2)
    assert [r.score for r in rows] == [0.7, 0.7] and len(judged) == 4  # two turns each
    assert [r.score for r in run_mt_bench(2)] == [0.7, 0.7] and len(judged) == 4
    assert len(run_mt_bench(3)) == 3 and len(judged) == 6  # the new sample only


def test_max_tokens_cuts_every_longer_reply_and_derive_refuses_the_run(tmp_path: Path) -> None:
    """`quantgate eval --max-tokens`: a quick check. Requests asking more are cut (GSM8K asks
    192), those asking less keep their limit, the report says so, and derive refuses it."""
    fake = Fake()
    rows = run(fake, tmp_path, "good", tasks="arc_easy,gsm8k", context=Context(max_tokens=4))
    asked = {c["max_tokens"] for c in fake.calls}
    assert asked == {2, 4} and len(rows) == 12
    config = {"run_id": "t", "limit": 6, "max_tokens": 4}
    write_run(tmp_path / "run", config, rows, summarize(rows, "good"))
    assert "cut at 4 tokens" in (tmp_path / "run" / "report.md").read_text()
    assert "cut at 4 tokens" in (tmp_path / "run" / "report.html").read_text()
    with pytest.raises(ConfigError, match=r"cut at 4 tokens .*--max-tokens"):
        read_run(tmp_path / "run")
    write_run(tmp_path / "full", {**config, "max_tokens": None}, rows, summarize(rows, "good"))
    assert "cut at" not in (tmp_path / "full" / "report.md").read_text()
    assert len(read_run(tmp_path / "full")[1]) == 12


def test_the_error_digest_names_the_commonest_and_counts_the_rest() -> None:
    def failed(variant: str, task: str, error: str, **extra: Any) -> Row:
        return Row(
            task=task, route_task="general", variant=variant, sample="s", error=error, extra=extra
        )

    rows = [failed(f"v{i}", "lambada", "timeout") for i in range(6)]
    rows += [failed("v0", "mmlu", "HTTP 503"), failed("v0", "gsm8k", "HTTP 503")]
    rows += [failed("v0", "arc_easy", e) for e in ("a", "b", "c")]
    rows += [failed("v0", "longeval_lines", "too long", skipped=True)]  # skipped: not an error
    assert error_digest(rows) == [
        "6 x timeout (v0/lambada, v1/lambada, v2/lambada, v3/lambada and 2 more)",
        "2 x HTTP 503 (v0/gsm8k, v0/mmlu)",
        "1 x a (v0/arc_easy)",
        "... and 2 other errors: samples.jsonl has each one",
    ]
