"""`quantgate eval`: quality per variant, through the gateway or against given endpoints."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import typer

from quantgate.cli.serve import DEFAULT_PROFILE
from quantgate.errors import ConfigError

KEYS_FILE = "gateway-keys.json"  # the key of the gateway an eval starts, while it runs


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
    api_key: str | None = typer.Option(
        None,
        envvar="QUANTGATE_API_KEY",
        help="sent to --gateway and --endpoint (a gateway the eval starts gets a key of its own)",
    ),
    variants: str | None = typer.Option(None, help="comma-separated subset of the variants"),
    reference: str | None = typer.Option(None, help="variant scores are normalized to"),
    tasks: str | None = typer.Option(
        None, help="comma-separated tasks (default: all; `none` with --lm-eval runs only those)"
    ),
    lm_eval: str | None = typer.Option(
        None,
        "--lm-eval",
        help="comma-separated lm-evaluation-harness tasks from evalsuite/lm_eval_tasks/, run "
        "through the same endpoints into the same run (quantgate_lambada, quantgate_arc_easy)",
    ),
    limit: int = typer.Option(50, min=0, help="samples per task (0: all)"),
    task_limit: list[str] | None = typer.Option(
        None, help="TASK=N: another sample count for one task (repeatable)"
    ),
    max_tokens: int | None = typer.Option(
        None,
        min=1,
        help="cut every reply at N tokens: a quick end-to-end check, whose scores `quantgate "
        "derive` refuses (lm-eval tasks keep their own limits)",
    ),
    seed: int = typer.Option(0, help="sample selection and few-shot exemplars"),
    form: str = typer.Option("completion", help="completion (base models) or chat"),
    logprobs: bool = typer.Option(
        False, help="score multiple choice by the answer token's top-20 logprobs (calibration)"
    ),
    loglikelihood: bool = typer.Option(
        False,
        help="score multiple choice by each option's log-likelihood, as lm-eval does (echo: "
        "seconds a request on llama-cpp-python)",
    ),
    perplexity: bool = typer.Option(
        False, help="LAMBADA perplexity from echoed prompt logprobs (slow on llama-cpp-python)"
    ),
    top_logprobs: int = typer.Option(
        5,
        min=0,
        help="top-k logprobs asked on the answers of short-prompt tasks, for the KL divergence "
        "from the reference (0: none)",
    ),
    judge: str | None = typer.Option(None, help="URL#MODEL of a judge for MT-Bench ratings"),
    judge_key: str | None = typer.Option(
        None, envvar="QUANTGATE_JUDGE_KEY", help="the API key sent to --judge"
    ),
    concurrency: int = typer.Option(1, min=1, help="requests in flight per variant"),
    data_dir: Path | None = typer.Option(
        None, help="folder like ../shared/datasets [env QUANTGATE_DATA_DIR]"
    ),
    out: Path = typer.Option(Path("runs/eval"), help="parent of the run directory"),
    resume: Path | None = typer.Option(
        None,
        help="a run directory to continue: only replies not in its cache are asked (none for a "
        "finished run, rewritten without reaching its targets)",
    ),
) -> None:
    """Run the tasks against every variant and write a run directory with a report.

    Every reply is cached in the run directory: `--resume RUN_DIR` asks only what is missing.
    Tasks: lambada, arc_easy, arc_challenge, mmlu, mmlu_5shot, strategyqa, gsm8k, ifeval,
    ethics, mt_bench, longeval_lines, longeval_topics (docs/eval.md).
    """
    from quantgate.cli.progress import eval_progress

    plan = _plan(
        profile_path=profile_path,
        gateway=gateway,
        endpoint=endpoint or [],
        variants=variants,
        reference=reference,
        tasks=tasks,
        lm_eval=lm_eval,
        task_limit=task_limit or [],
        form=form,
        judge=judge,
        judge_key=judge_key,
        data_dir=data_dir,
        run_dir=resume or out / time.strftime("%Y%m%d-%H%M%S"),
    )
    settings = {"limit": limit, "perplexity": perplexity, "seed": seed, "form": form}
    settings |= {"logprobs": logprobs, "judge": judge, "top_logprobs": top_logprobs}
    settings |= {"loglikelihood": loglikelihood, "max_tokens": max_tokens}
    options: dict[str, Any] = {"limit": limit, "seed": seed, "logprobs": logprobs}
    options |= {"loglikelihood": loglikelihood, "perplexity": perplexity}
    options |= {"top_logprobs": top_logprobs or None, "max_tokens": max_tokens}
    options |= {"concurrency": concurrency}
    if resume is not None and (replayed := _replay(plan, options)) is not None:
        _write(plan, replayed[0], settings, replayed[1])
        return
    signal.signal(signal.SIGTERM, _interrupt)  # so the `finally` below stops the gateway
    server = _start_gateway(plan.profile_path, plan.run_dir) if plan.needs_gateway else None
    try:
        if server is not None:
            gateway, api_key = server[1], server[2]
        targets = plan.targets(gateway, api_key)
        _check(plan, targets, api_key)
        with eval_progress() as progress:
            rows = _run(plan, targets, plan.judge, progress=progress, api_key=api_key, **options)
    finally:
        if server is not None:
            _stop(server[0], plan.run_dir)
    _write(plan, _described(targets), settings, rows)


@dataclass(frozen=True)
class Plan:
    """What `quantgate eval` will run, checked before anything starts."""

    tasks: list[Any]  # evalsuite Task objects
    lm_eval: list[Any]  # evalsuite.lm_eval.LmEvalTask objects
    limits: dict[str, int]
    run_dir: Path
    data_dir: Path
    reference: str
    form: str
    judge: Any  # an evalsuite Endpoint, or None
    judge_key: str | None = None
    endpoints: list[tuple[str, str, str]] = field(default_factory=list)  # name, url, model
    profile_path: Path | None = None
    # pinned targets: (variant, model, its context, whether it returns logprobs)
    variants: list[tuple[str, str, int | None, bool]] = field(default_factory=list)
    needs_gateway: bool = False

    def targets(
        self, gateway: str | None, api_key: str | None = None, transport: Any = None
    ) -> list[Any]:
        from evalsuite.client import Endpoint
        from evalsuite.runner import Target

        if self.endpoints:
            return [
                Target(n, Endpoint(url, model, api_key=api_key, transport=transport))
                for n, url, model in self.endpoints
            ]
        assert gateway is not None
        return [
            Target(n, Endpoint(gateway, pinned, api_key=api_key, transport=transport), ctx, lp)
            for n, pinned, ctx, lp in self.variants
        ]


def _check(plan: Plan, targets: list[Any], api_key: str | None) -> None:
    """One 1-token request to each target (and the judge) before the run: a wrong URL, model
    or key stops the command here, with the server's message (quantgate/cli/preflight.py)."""
    from quantgate.cli.preflight import check_endpoint

    for target in targets:
        url, model = str(target.endpoint.http.base_url), target.endpoint.model
        check_endpoint(url, model, chat=plan.form == "chat", api_key=api_key)
    if plan.judge is not None:
        url, model = str(plan.judge.http.base_url), plan.judge.model
        check_endpoint(url, model, chat=True, api_key=plan.judge_key, key_option="--judge-key")


def _plan(
    *,
    profile_path: Path,
    gateway: str | None,
    endpoint: list[str],
    variants: str | None,
    reference: str | None,
    tasks: str | None,
    lm_eval: str | None,
    task_limit: list[str],
    form: str,
    judge: str | None,
    judge_key: str | None,
    data_dir: Path | None,
    run_dir: Path,
) -> Plan:
    """Parse and check the options: tasks, limits, targets, the reference, the judge."""
    from evalsuite.client import Endpoint
    from evalsuite.lm_eval import select as select_lm_eval
    from evalsuite.tasks import select
    from quantgate.data import data_dir as find_data

    if form not in ("completion", "chat"):
        raise ConfigError(f"--form must be completion or chat, not {form!r}")
    try:
        chosen = [] if tasks == "none" else select(tasks)
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    harness = select_lm_eval(lm_eval) if lm_eval else []
    if not chosen and not harness:
        raise ConfigError("nothing to run: --tasks none needs --lm-eval TASKS")
    limits = {}
    for spec in task_limit:
        name, _, count = spec.partition("=")
        if name not in {t.name for t in chosen} or not count.isdigit():
            raise ConfigError(f"--task-limit {spec!r}: expected TASK=N for a selected task")
        limits[name] = int(count)
    judge_endpoint = None
    if judge:
        url, _, model = judge.partition("#")
        judge_endpoint = Endpoint(url, model or "judge", api_key=judge_key)
    elif judge_key:
        raise ConfigError("--judge-key needs --judge URL#MODEL")
    common: dict[str, Any] = {"tasks": chosen, "lm_eval": harness, "limits": limits}
    common["run_dir"] = run_dir
    common |= {"form": form, "data_dir": find_data(data_dir)}
    common |= {"judge": judge_endpoint, "judge_key": judge_key}
    if endpoint:
        parsed = []
        for spec in endpoint:
            name, _, rest = spec.partition("=")
            url, _, model = rest.partition("#")
            if not name or not url:
                raise ConfigError(f"--endpoint {spec!r}: expected NAME=URL[#MODEL]")
            parsed.append((name, url, model or name))
        return Plan(**common, reference=reference or parsed[0][0], endpoints=parsed)
    from gateway.routing.quality import reference as default_reference
    from quantgate.profile import load_profile

    profile = load_profile(profile_path)
    names = [v.name for v in profile.variants]
    wanted = [n.strip() for n in variants.split(",")] if variants else names
    unknown = [n for n in wanted if n not in names]
    if unknown:
        raise ConfigError(f"unknown variant(s) {', '.join(unknown)}; known: {', '.join(names)}")
    return Plan(
        **common,
        reference=reference or default_reference(profile),
        profile_path=profile_path,
        variants=[
            (n, f"{profile.model}@{n}", profile.variant(n).max_context, profile.variant(n).logprobs)
            for n in wanted
        ],
        needs_gateway=gateway is None,
    )


def _replay(plan: Plan, options: dict[str, Any]) -> tuple[dict[str, str], list[Any]] | None:
    """A resumed run whose every reply (and rating) is in its cache: its targets as the run
    recorded them and its rows, made without starting or asking anyone; None when one is
    missing (or the run has lm-eval tasks, which keep no such cache)."""
    from evalsuite.client import Endpoint, Offline
    from evalsuite.report import read_config

    if plan.lm_eval or not (plan.run_dir / "cache").is_dir():
        return None
    offline = Offline()
    targets = plan.targets(Offline.URL, transport=offline)
    judge = Endpoint(Offline.URL, plan.judge.model, transport=offline) if plan.judge else None
    rows = _run(plan, targets, judge, progress=None, api_key=None, **options)
    if any(r.error for r in rows):
        return None
    typer.echo(f"every reply is in the cache of {plan.run_dir}: nothing was asked")
    recorded = read_config(plan.run_dir).get("targets") or {}
    cached = {t.variant: f"(the run's cache) model={t.endpoint.model}" for t in targets}
    return {v: recorded.get(v, about) for v, about in cached.items()}, rows


def _described(targets: list[Any]) -> dict[str, str]:
    """Each target as the run's config records it: its URL and model."""
    return {t.variant: f"{t.endpoint.http.base_url} model={t.endpoint.model}" for t in targets}


def _run(plan: Plan, targets: list[Any], judge: Any, *, progress: Any, **options: Any) -> list[Any]:
    """Every (variant, task) pair, concurrently per variant; endpoints closed on every way out."""
    import anyio

    from evalsuite.runner import run_eval
    from evalsuite.types import Context

    endpoints = [t.endpoint for t in targets] + ([judge] if judge else [])
    api_key = options.pop("api_key")
    context = Context(
        form=plan.form,  # type: ignore[arg-type]
        logprobs=options.pop("logprobs"),
        loglikelihood=options.pop("loglikelihood"),
        perplexity=options.pop("perplexity"),
        top_logprobs=options.pop("top_logprobs"),
        max_tokens=options.pop("max_tokens"),
    )

    async def run() -> list[Any]:
        try:
            return await run_eval(
                plan.tasks,
                targets,
                data_dir=plan.data_dir,
                run_dir=plan.run_dir,
                context=context,
                progress=progress,
                limits=plan.limits,
                judge=judge,
                **options,
            )
        finally:
            for endpoint in endpoints:
                await endpoint.aclose()

    rows: list[Any] = anyio.run(run)
    if plan.lm_eval:
        rows += _run_lm_eval(plan, targets, options["limit"], api_key)
    return rows


def _run_lm_eval(plan: Plan, targets: list[Any], limit: int, api_key: str | None) -> list[Any]:
    """lm-evaluation-harness in its managed environment, one variant after another."""
    from evalsuite import lm_eval
    from quantgate.envs import ensure_env
    from quantgate.locations import default_root

    python = ensure_env("lm-eval", typer.echo)
    rows: list[Any] = []
    for target in targets:
        names = ", ".join(t.name for t in plan.lm_eval)
        typer.echo(f"lm-eval {names} on {target.variant} (log: {plan.run_dir}/lm-eval/)")
        rows += lm_eval.run(
            python,
            plan.lm_eval,
            variant=target.variant,
            base_url=str(target.endpoint.http.base_url),
            model=target.endpoint.model,
            run_dir=plan.run_dir,
            data_dir=plan.data_dir,
            limit=limit,
            chat=plan.form == "chat",
            cache=default_root() / "lm-eval-hf",
            api_key=api_key,
        )
    return rows


def _write(plan: Plan, targets: dict[str, str], settings: dict[str, Any], rows: list[Any]) -> None:
    """The run directory (config, samples, summary, report) and the table on the terminal;
    `targets`: each variant's URL and model (`_described`)."""
    from evalsuite.report import cut_note, error_digest, write_run
    from evalsuite.summary import summarize

    config = {
        "run_id": plan.run_dir.name,
        "profile": str(plan.profile_path) if plan.profile_path else None,
        "targets": targets,
        "tasks": [t.name for t in plan.tasks],
        "lm_eval": [t.name for t in plan.lm_eval],
        "task_limits": plan.limits,
        "data_dir": str(plan.data_dir),
        "reference": plan.reference,
        **settings,
    }
    summary = summarize(rows, plan.reference)
    write_run(plan.run_dir, config, rows, summary)
    _print(summary)
    if errors := error_digest(rows):
        typer.secho("errors (asked again on --resume):", fg="yellow")
        for line in errors:
            typer.echo(f"  {line}")
    if note := cut_note(config):
        typer.echo(note)
    typer.echo(
        f"report: {plan.run_dir / 'report.md'} (and report.html, summary.json, samples.jsonl)"
    )


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


def _start_gateway(profile: Path | None, run_dir: Path) -> tuple[subprocess.Popen[bytes], str, str]:
    """`quantgate serve --profile` on a free port, until /ready answers (logs in the run dir).
    It takes one key, made for this run (`gateway-keys.json` in the run dir, gone when it
    stops): no one else on the machine can use it meanwhile, and keys the user made for their
    own gateway are neither needed nor touched."""
    import httpx

    from gateway.engines.plan import free_port
    from quantgate import keys

    port = free_port()
    run_dir.mkdir(parents=True, exist_ok=True)
    keys_file = run_dir / KEYS_FILE
    keys_file.unlink(missing_ok=True)  # a resumed run's, left by a crash
    secret = keys.add(keys_file, "eval", admin=True)
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
    env = {**os.environ, "QUANTGATE_KEYS_FILE": str(keys_file)}
    proc = subprocess.Popen(
        argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=env
    )
    deadline = time.monotonic() + 3600
    try:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise ConfigError(
                    f"the gateway exited with {proc.returncode}; see {run_dir / 'gateway.log'}"
                )
            try:
                if httpx.get(f"http://127.0.0.1:{port}/ready", timeout=2).status_code == 200:
                    return proc, f"http://127.0.0.1:{port}/v1", secret
            except httpx.HTTPError:
                pass
            time.sleep(1)
        raise ConfigError("the gateway did not become ready within an hour")
    except BaseException:  # not ready, or interrupted while it started: it goes too
        _stop(proc, run_dir)
        raise


def _interrupt(signum: int, frame: object) -> None:
    """SIGTERM ends the command as Ctrl-C does: Python's default ends the process at once,
    `finally` blocks unrun, and the gateway it started (its own session) ran on."""
    raise KeyboardInterrupt


def _stop(proc: subprocess.Popen[bytes], run_dir: Path) -> None:
    """Stop the gateway `_start_gateway` started, and remove its key."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(proc.pid, signal.SIGKILL)
    (run_dir / KEYS_FILE).unlink(missing_ok=True)
