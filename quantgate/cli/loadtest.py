"""`quantgate loadtest`: prefill/TTFT and decode/ITL latency per variant."""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path
from typing import Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from quantgate.errors import ConfigError


def loadtest(
    target: str = typer.Option(..., help="base URL with /v1 (the gateway or any server)"),
    model: str = typer.Option(..., help="model name; with --variants, `<model>@<variant>`"),
    api_key: str | None = typer.Option(
        None, envvar="QUANTGATE_API_KEY", help="sent as `Authorization: Bearer` (a gateway's key)"
    ),
    variants: str = typer.Option("", help="comma-separated variants, each run in turn"),
    reference: str | None = typer.Option(None, help="variant speedups are relative to"),
    workload: str = typer.Option("decode-heavy", help="prefill-heavy | decode-heavy | mixed"),
    input_tokens: int | None = typer.Option(None, min=1, help="override the preset's input size"),
    output_tokens: int | None = typer.Option(None, min=1, help="override the preset's output size"),
    chat: bool = typer.Option(False, help="chat completions instead of completions"),
    tokenizer: str = typer.Option("words", help="`words`, or `gguf:PATH` for exact prompts"),
    dataset: str | None = typer.Option(
        None, help="prompts from mt_bench, gsm8k or sharegpt:PATH instead of random words"
    ),
    data_dir: Path | None = typer.Option(None, help="folder like ../shared/datasets"),
    strategy: str = typer.Option(
        "concurrent", help="concurrent | ramp-up | constant | poisson | sweep"
    ),
    concurrency: int = typer.Option(
        1, min=1, help="streams (`concurrent`, `ramp-up`; sweep's max)"
    ),
    ramp: float = typer.Option(
        10.0, min=0.0, help="seconds over which `ramp-up` starts its streams"
    ),
    rate: float = typer.Option(1.0, help="requests/s for `constant` and `poisson`"),
    requests: int | None = typer.Option(None, min=1, help="stop after this many per variant"),
    duration: float | None = typer.Option(None, help="stop issuing after this many seconds"),
    max_error_rate: float | None = typer.Option(
        None, min=0.0, max=1.0, help="stop when this share fails"
    ),
    stream: bool = typer.Option(True, help="stream (TTFT/ITL) or not (E2E only)"),
    slo_ttft: float | None = typer.Option(None, help="goodput SLO on TTFT, seconds"),
    slo_tpot: float | None = typer.Option(None, help="goodput SLO on TPOT, seconds"),
    seed: int = typer.Option(0, help="prompts and Poisson arrivals"),
    warmup: int = typer.Option(
        1, min=0, help="requests per variant sent first and not counted (first-touch costs)"
    ),
    out: Path = typer.Option(Path("runs/loadtest"), help="run directory parent"),
    write_costs: Path | None = typer.Option(
        None,
        help="write measured tokens/s into this profile's routing.costs: prefill from prompts "
        ">= 256 tokens, decode from answers >= 64; a rate not measured keeps the profile's",
    ),
) -> None:
    """Send one workload at one load shape to each variant; print and save the latencies."""
    from loadtest import strategies
    from loadtest.runner import Target
    from loadtest.workloads import gguf_counter, word_counter

    if requests is None and duration is None:
        raise ConfigError("give --requests or --duration (or both)")
    given = {"--rate": rate, "--duration": duration, "--slo-ttft": slo_ttft, "--slo-tpot": slo_tpot}
    if bad := [
        f"{flag} {value:g}" for flag, value in given.items() if value is not None and value <= 0
    ]:
        raise ConfigError(f"{', '.join(bad)}: must be more than 0")
    wl = _workload(workload, chat, seed, input_tokens, output_tokens, dataset, data_dir)
    shape = _shape(strategy, concurrency=concurrency, ramp=ramp, rate=rate, seed=seed)
    count = gguf_counter(tokenizer[5:]) if tokenizer.startswith("gguf:") else word_counter
    names = [v for v in variants.split(",") if v]
    tgt = Target(target, model, names, api_key=api_key)
    _check(tgt, chat=wl.kind == "chat")
    runs = _run(
        tgt,
        wl,
        shape,
        strategies.Stop(requests=requests, duration=duration, max_error_rate=max_error_rate),
        count,
        stream=stream,
        slo_ttft=slo_ttft,
        slo_tpot=slo_tpot,
        warmup=warmup,
        label=strategy,
        max_concurrency=concurrency,
    )
    config = {"target": target, "model": model, "variants": names, "workload": wl.__dict__}
    config |= {"concurrency": concurrency, "rate": rate, "requests": requests}
    config |= {"duration": duration, "stream": stream, "warmup": warmup}
    stamp = _write(
        out / time.strftime("%Y%m%d-%H%M%S"), config, runs, reference or next(iter(names), None)
    )
    if write_costs is not None:
        _write_costs(write_costs, runs, stamp)


def _check(tgt: Any, *, chat: bool) -> None:
    """One 1-token request to each model before the run: a wrong URL, model or key stops the
    command here, with the server's message (quantgate/cli/preflight.py)."""
    from quantgate.cli.preflight import check_endpoint

    for sent in tgt.models().values():
        check_endpoint(tgt.url, sent, chat=chat, api_key=tgt.api_key)


def _workload(
    preset: str,
    chat: bool,
    seed: int,
    input_tokens: int | None,
    output_tokens: int | None,
    dataset: str | None,
    data_dir: Path | None,
) -> Any:
    """The preset, resized, with dataset prompts if asked."""
    from loadtest.workloads import Workload

    try:
        wl = Workload.preset(preset, kind="chat" if chat else "completion", seed=seed)
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    prompts: tuple[str, ...] = ()
    if dataset:
        from loadtest.datasets import load_prompts

        try:
            prompts = tuple(load_prompts(dataset, data_dir))
        except ValueError as exc:
            raise ConfigError(str(exc)) from exc
    return Workload(
        input_tokens or wl.input_tokens, output_tokens or wl.output_tokens, wl.kind, seed, prompts
    )


def _shape(name: str, *, concurrency: int, ramp: float, rate: float, seed: int) -> Any:
    """A load shape by name; `sweep` is None (the runner plans its own shapes)."""
    from loadtest import strategies

    shapes: dict[str, strategies.Strategy] = {
        "concurrent": strategies.Concurrent(streams=concurrency),
        "ramp-up": strategies.RampUp(streams=concurrency, ramp=ramp),
        "constant": strategies.ConstantRate(rate=rate),
        "poisson": strategies.PoissonRate(rate=rate, seed=seed),
    }
    if name == "sweep":
        return None
    if name not in shapes:
        raise ConfigError(f"unknown strategy {name!r}; one of {', '.join(shapes)}, sweep")
    return shapes[name]


Runs = list[tuple[str, Any, Any]]  # (strategy name, results, summaries by variant)


def _run(
    tgt: Any,
    wl: Any,
    shape: Any,
    stop: Any,
    count: Any,
    *,
    label: str,
    max_concurrency: int,
    **options: Any,
) -> Runs:
    """Every variant in turn, with a progress bar each (requests done, errors)."""
    import anyio

    from loadtest.runner import SWEEP_RATES, run_variants, sweep

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("errors {task.fields[errors]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns) as progress:
        runs_per_variant = 1 if shape is not None else 2 + SWEEP_RATES
        total = stop.requests * runs_per_variant if stop.requests else None
        bars = {label: progress.add_task(label, total=total, errors=0) for label in tgt.models()}

        def on_result(label: str, result: object) -> None:
            failed = getattr(result, "status", "ok") != "ok"
            bar = progress.tasks[bars[label]]
            progress.update(bars[label], advance=1, errors=bar.fields["errors"] + int(failed))

        if shape is None:
            return list(
                anyio.run(
                    lambda: sweep(
                        tgt,
                        wl,
                        stop,
                        count,
                        max_concurrency=max_concurrency,
                        on_result=on_result,
                        **options,
                    )
                )
            )
        results, summaries = anyio.run(
            lambda: run_variants(tgt, wl, shape, stop, count, on_result=on_result, **options)
        )
        return [(label, results, summaries)]


def _write(stamp: Path, config: dict[str, Any], runs: Runs, reference: str | None) -> Path:
    """One run directory per strategy (a sweep has several), tables and plots."""
    from loadtest import report

    plots = importlib.util.find_spec("matplotlib") is not None
    if not plots:
        typer.echo("plots skipped: pip install 'quantgate[plots]' for latency plots")
    for name, results, summaries in runs:
        run_dir = stamp / name if len(runs) > 1 else stamp
        report.write_run(run_dir, {**config, "strategy": name}, results, summaries)
        if plots:
            report.plot_cdfs(run_dir, results)
        if len(runs) > 1:
            typer.echo(name)
        report.print_table(summaries, reference)
    if len(runs) > 1 and plots:
        report.plot_sweep(stamp, [(name, summaries) for name, _, summaries in runs])
    typer.echo(f"run saved in {stamp}")
    return stamp


def _write_costs(profile: Path, runs: Runs, stamp: Path) -> None:
    from loadtest.costs import derive_costs, write_costs

    costs, missing = derive_costs([r for _, results, _ in runs for r in results])
    for variant, why in missing.items():
        typer.echo(f"no cost for {variant}: {why}")
    if costs:
        for line in write_costs(profile, costs, str(stamp)).values():
            typer.echo(line)
        typer.echo(f"written to {profile}")
