"""`quantgate eval`: quality per variant, through the gateway or against given endpoints."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import typer

from quantgate.cli.serve import DEFAULT_PROFILE
from quantgate.errors import ConfigError


def eval_command(
    profile_path: Path = typer.Option(
        DEFAULT_PROFILE, "--profile", "-p", help="profile whose variants to evaluate"
    ),
    gateway: str | None = typer.Option(
        None, help="a running gateway's base URL (…/v1); default: start `quantgate serve`"
    ),
    endpoint: list[str] | None = typer.Option(
        None, help="NAME=URL[#MODEL]: evaluate this endpoint directly (repeatable; no profile)"
    ),
    variants: str | None = typer.Option(None, help="comma-separated subset of the variants"),
    reference: str | None = typer.Option(None, help="variant scores are normalized to"),
    tasks: str | None = typer.Option(None, help="comma-separated tasks (default: all)"),
    limit: int = typer.Option(50, help="samples per task (0: all)"),
    task_limit: list[str] | None = typer.Option(
        None, help="TASK=N: another sample count for one task (repeatable)"
    ),
    seed: int = typer.Option(0, help="sample selection and few-shot exemplars"),
    form: str = typer.Option("completion", help="completion (base models) or chat"),
    logprobs: bool = typer.Option(
        False, help="score multiple choice by option logprobs, measure calibration and perplexity"
    ),
    perplexity: bool = typer.Option(
        False, help="LAMBADA perplexity from echoed prompt logprobs (slow on llama-cpp-python)"
    ),
    judge: str | None = typer.Option(None, help="URL#MODEL of a judge for MT-Bench ratings"),
    concurrency: int = typer.Option(1, help="requests in flight per variant"),
    data_dir: Path | None = typer.Option(
        None, help="folder like ../shared/datasets [env QUANTGATE_DATA_DIR]"
    ),
    out: Path = typer.Option(Path("runs/eval"), help="parent of the run directory"),
    resume: Path | None = typer.Option(None, help="a run directory to continue (cached replies)"),
) -> None:
    """Run the tasks against every variant and write a run directory with a report.

    Every reply is cached in the run directory: `--resume RUN_DIR` asks only what is missing.
    Tasks: lambada, arc_easy, arc_challenge, mmlu, mmlu_5shot, strategyqa, gsm8k, ifeval,
    ethics, mt_bench, longeval_lines, longeval_topics (docs/eval.md).
    """
    import anyio

    from evalsuite.client import Endpoint
    from evalsuite.runner import Target, run_eval
    from evalsuite.tasks import select
    from evalsuite.types import Context
    from quantgate.cli.progress import eval_progress
    from quantgate.data import data_dir as find_data
    from quantgate.profile import load_profile

    if form not in ("completion", "chat"):
        raise ConfigError(f"--form must be completion or chat, not {form!r}")
    try:
        chosen_tasks = select(tasks)
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    limits = {}
    for spec in task_limit or []:
        name, _, count = spec.partition("=")
        if name not in {t.name for t in chosen_tasks} or not count.isdigit():
            raise ConfigError(f"--task-limit {spec!r}: expected TASK=N for a selected task")
        limits[name] = int(count)
    run_dir = resume or out / time.strftime("%Y%m%d-%H%M%S")
    root = find_data(data_dir)
    server = None
    targets: list[Target] = []
    if endpoint:
        for spec in endpoint:
            name, _, rest = spec.partition("=")
            url, _, model = rest.partition("#")
            if not name or not url:
                raise ConfigError(f"--endpoint {spec!r}: expected NAME=URL[#MODEL]")
            targets.append(Target(name, Endpoint(url, model or name)))
        ref = reference or targets[0].variant
        profile_name = None
    else:
        profile = load_profile(profile_path)
        names = [v.name for v in profile.variants]
        wanted = [n.strip() for n in variants.split(",")] if variants else names
        unknown = [n for n in wanted if n not in names]
        if unknown:
            raise ConfigError(f"unknown variant(s) {', '.join(unknown)}; known: {', '.join(names)}")
        if gateway is None:
            server, gateway = _start_gateway(profile_path, run_dir)
        targets = [
            Target(n, Endpoint(gateway, f"{profile.model}@{n}"), profile.variant(n).max_context)
            for n in wanted
        ]
        from gateway.routing.quality import reference as default_reference

        ref = reference or default_reference(profile)
        profile_name = str(profile_path)
    judge_endpoint = None
    if judge:
        url, _, model = judge.partition("#")
        judge_endpoint = Endpoint(url, model or "judge")
    endpoints = [t.endpoint for t in targets] + ([judge_endpoint] if judge_endpoint else [])
    config = {
        "run_id": run_dir.name,
        "profile": profile_name,
        "targets": {
            t.variant: f"{t.endpoint.http.base_url} model={t.endpoint.model}" for t in targets
        },
        "tasks": [t.name for t in chosen_tasks],
        "limit": limit,
        "task_limits": limits,
        "perplexity": perplexity,
        "seed": seed,
        "form": form,
        "logprobs": logprobs,
        "judge": judge,
        "data_dir": str(root),
        "reference": ref,
    }

    async def run(progress: Any) -> Any:
        try:
            return await run_eval(
                chosen_tasks,
                targets,
                data_dir=root,
                limit=limit,
                seed=seed,
                run_dir=run_dir,
                context=Context(
                    form=form,  # type: ignore[arg-type]
                    logprobs=logprobs,
                    perplexity=perplexity,
                    judge=judge_endpoint.ask if judge_endpoint else None,
                ),
                concurrency=concurrency,
                progress=progress,
                limits=limits,
            )
        finally:  # the endpoints' pooled clients, closed on every way out
            for endpoint in endpoints:
                await endpoint.aclose()

    try:
        with eval_progress() as progress:
            rows = anyio.run(run, progress)
    finally:
        if server is not None:
            _stop(server)
    from evalsuite.report import write_run
    from evalsuite.summary import summarize

    summary = summarize(rows, ref)
    write_run(run_dir, config, rows, summary)
    _print(summary)
    typer.echo(f"report: {run_dir / 'report.md'} (and report.html, summary.json, samples.jsonl)")


def _print(summary: dict[str, object]) -> None:
    from rich.console import Console
    from rich.table import Table

    from evalsuite.report import HEADER, table_rows

    table = Table()
    for h in HEADER[:-1]:
        table.add_column(h)
    for r in table_rows(summary):
        table.add_row(*r[:-1])
    Console(width=160).print(table)


def _start_gateway(profile: Path, run_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    """`quantgate serve --profile` on a free port, until /ready answers (logs in the run dir)."""
    import httpx

    from gateway.engines.plan import free_port

    port = free_port()
    run_dir.mkdir(parents=True, exist_ok=True)
    log = (run_dir / "gateway.log").open("ab")
    argv = [
        sys.executable,
        "-m",
        "quantgate",
        "serve",
        "--profile",
        str(profile),
        "--port",
        str(port),
    ]
    typer.echo(
        f"starting the gateway for {profile} on port {port} (log: {run_dir / 'gateway.log'})"
    )
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 3600
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ConfigError(
                f"the gateway exited with {proc.returncode}; see {run_dir / 'gateway.log'}"
            )
        try:
            if httpx.get(f"http://127.0.0.1:{port}/ready", timeout=2).status_code == 200:
                return proc, f"http://127.0.0.1:{port}/v1"
        except httpx.HTTPError:
            pass
        time.sleep(1)
    _stop(proc)
    raise ConfigError("the gateway did not become ready within an hour")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(proc.pid, signal.SIGKILL)
