"""`quantgate loadtest`: prefill/TTFT and decode/ITL latency per variant."""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from quantgate.errors import ConfigError


def loadtest(
    target: str = typer.Option(..., help="base URL with /v1 (the gateway or any server)"),
    model: str = typer.Option(..., help="model name; with --variants, `<model>@<variant>`"),
    variants: str = typer.Option("", help="comma-separated variants, each run in turn"),
    reference: str | None = typer.Option(None, help="variant speedups are relative to"),
    workload: str = typer.Option("decode-heavy", help="prefill-heavy | decode-heavy | mixed"),
    input_tokens: int | None = typer.Option(None, help="override the preset's input size"),
    output_tokens: int | None = typer.Option(None, help="override the preset's output size"),
    chat: bool = typer.Option(False, help="chat completions instead of completions"),
    tokenizer: str = typer.Option("words", help="`words`, or `gguf:PATH` for exact prompts"),
    dataset: str | None = typer.Option(
        None, help="prompts from mt_bench, gsm8k or sharegpt:PATH instead of random words"
    ),
    data_dir: Path | None = typer.Option(None, help="folder like ../shared/datasets"),
    strategy: str = typer.Option(
        "concurrent", help="concurrent | ramp-up | constant | poisson | sweep"
    ),
    concurrency: int = typer.Option(1, help="streams (`concurrent`, `ramp-up`; sweep's max)"),
    ramp: float = typer.Option(10.0, help="seconds over which `ramp-up` starts its streams"),
    rate: float = typer.Option(1.0, help="requests/s for `constant` and `poisson`"),
    requests: int | None = typer.Option(None, help="stop after this many per variant"),
    duration: float | None = typer.Option(None, help="stop issuing after this many seconds"),
    max_error_rate: float | None = typer.Option(None, help="stop when this share fails"),
    stream: bool = typer.Option(True, help="stream (TTFT/ITL) or not (E2E only)"),
    slo_ttft: float | None = typer.Option(None, help="goodput SLO on TTFT, seconds"),
    slo_tpot: float | None = typer.Option(None, help="goodput SLO on TPOT, seconds"),
    seed: int = typer.Option(0, help="prompts and Poisson arrivals"),
    warmup: int = typer.Option(
        1, min=0, help="requests per variant sent first and not counted (first-touch costs)"
    ),
    out: Path = typer.Option(Path("runs/loadtest"), help="run directory parent"),
    write_costs: Path | None = typer.Option(
        None, help="write measured prefill/decode tokens/s into this profile's routing.costs"
    ),
) -> None:
    """Send one workload at one load shape to each variant; print and save the latencies."""
    import anyio

    from loadtest import report, strategies
    from loadtest.runner import SWEEP_RATES, Target, run_variants, sweep
    from loadtest.workloads import Workload, gguf_counter, word_counter

    if requests is None and duration is None:
        raise ConfigError("give --requests or --duration (or both)")
    try:
        wl = Workload.preset(workload, kind="chat" if chat else "completion", seed=seed)
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    prompts: tuple[str, ...] = ()
    if dataset:
        from loadtest.datasets import load_prompts

        try:
            prompts = tuple(load_prompts(dataset, data_dir))
        except ValueError as exc:
            raise ConfigError(str(exc)) from exc
    wl = Workload(
        input_tokens or wl.input_tokens, output_tokens or wl.output_tokens, wl.kind, seed, prompts
    )
    shapes: dict[str, strategies.Strategy] = {
        "concurrent": strategies.Concurrent(streams=concurrency),
        "ramp-up": strategies.RampUp(streams=concurrency, ramp=ramp),
        "constant": strategies.ConstantRate(rate=rate),
        "poisson": strategies.PoissonRate(rate=rate, seed=seed),
    }
    if strategy not in (*shapes, "sweep"):
        raise ConfigError(f"unknown strategy {strategy!r}; one of {', '.join(shapes)}, sweep")
    count = gguf_counter(tokenizer[5:]) if tokenizer.startswith("gguf:") else word_counter
    names = [v for v in variants.split(",") if v]
    tgt = Target(target, model, names)
    stop = strategies.Stop(requests=requests, duration=duration, max_error_rate=max_error_rate)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("errors {task.fields[errors]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns) as progress:
        runs_per_variant = 2 + SWEEP_RATES if strategy == "sweep" else 1
        total = requests * runs_per_variant if requests else None
        tasks = {label: progress.add_task(label, total=total, errors=0) for label in tgt.models()}

        def on_result(label: str, result: object) -> None:
            failed = getattr(result, "status", "ok") != "ok"
            task = progress.tasks[tasks[label]]
            progress.update(tasks[label], advance=1, errors=task.fields["errors"] + int(failed))

        if strategy == "sweep":
            runs = anyio.run(
                lambda: sweep(
                    tgt,
                    wl,
                    stop,
                    count,
                    max_concurrency=concurrency,
                    stream=stream,
                    on_result=on_result,
                    warmup=warmup,
                    slo_ttft=slo_ttft,
                    slo_tpot=slo_tpot,
                )
            )
        else:
            results, summaries = anyio.run(
                lambda: run_variants(
                    tgt,
                    wl,
                    shapes[strategy],
                    stop,
                    count,
                    stream=stream,
                    slo_ttft=slo_ttft,
                    slo_tpot=slo_tpot,
                    on_result=on_result,
                    warmup=warmup,
                )
            )
            runs = [(strategy, results, summaries)]
    stamp = out / time.strftime("%Y%m%d-%H%M%S")
    plots = importlib.util.find_spec("matplotlib") is not None
    if not plots:
        typer.echo("plots skipped: pip install 'quantgate[plots]' for latency plots")
    for name, results, summaries in runs:
        run_dir = stamp / name if len(runs) > 1 else stamp
        config = {
            "target": target,
            "model": model,
            "variants": names,
            "workload": wl.__dict__,
            "strategy": name,
            "concurrency": concurrency,
            "rate": rate,
            "requests": requests,
            "duration": duration,
            "stream": stream,
            "warmup": warmup,
        }
        report.write_run(run_dir, config, results, summaries)
        if plots:
            report.plot_cdfs(run_dir, results)
        if len(runs) > 1:
            typer.echo(name)
        report.print_table(summaries, reference or (names[0] if names else None))
    if len(runs) > 1 and plots:
        report.plot_sweep(stamp, [(name, summaries) for name, _, summaries in runs])
    typer.echo(f"run saved in {stamp}")
    if write_costs is not None:
        from loadtest.costs import derive_costs
        from loadtest.costs import write_costs as write

        all_results = [r for _, results, _ in runs for r in results]
        costs, missing = derive_costs(all_results)
        for variant, why in missing.items():
            typer.echo(f"no cost for {variant}: {why}")
        if costs:
            write(write_costs, costs, str(stamp))
            typer.echo(f"routing.costs of {', '.join(costs)} written to {write_costs}")
