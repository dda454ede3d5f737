"""`quantgate derive EVAL_RUN [LOADTEST_RUN] -o PROFILE`: routing rules from measurements."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from quantgate.errors import ConfigError


def derive(
    eval_run: Path = typer.Argument(..., help="an eval run directory (quantgate eval)"),
    loadtest_run: Path | None = typer.Argument(
        None, help="a load-test run directory (quantgate loadtest) for routing.costs"
    ),
    output: Path = typer.Option(..., "-o", "--output", help="the profile to write"),
    profile_path: Path | None = typer.Option(
        None, "--profile", "-p", help="the profile evaluated (default: the one the run names)"
    ),
    min_n: int = typer.Option(20, help="paired samples a rule needs; fewer keep the prior"),
    merge: bool = typer.Option(
        False, help="keep measured rules for cells this run does not measure (another run's)"
    ),
) -> None:
    """Write OUTPUT: the profile with measured quality rules (and costs) from the runs.

    A variant's rule for a task class and band is the lower bound of a 95% paired-bootstrap
    interval: of its accuracy relative to the reference where the reference is above chance,
    else of its agreement with the reference's answers; the lowest over the class's tasks
    (docs/eval.md). Cells without a rule keep the priors; with --merge, cells another run
    measured keep its rule (e.g. the long band, measured on long-context variants against a
    long-context reference: `quantgate eval --reference`).
    """
    from rich.console import Console
    from rich.table import Table

    from evalsuite.derive import derive_rules, output_ratios, read_run, write_profile
    from quantgate.profile import load_profile

    summary, rows = read_run(eval_run)
    source = profile_path or (
        Path(summary["config"]["profile"]) if summary["config"].get("profile") else None
    )
    if source is None:
        raise ConfigError("the run names no profile (it used --endpoint): pass --profile")
    profile = load_profile(source)
    reference = summary["reference"]
    rules, skipped = derive_rules(profile, rows, reference, min_n)
    ratios = output_ratios(rows, reference, min_n)
    run_id = summary["config"].get("run_id", eval_run.name)
    write_profile(source, output, rules, run_id, ratios, merge=merge)
    table = Table(title=f"rules from {eval_run} (reference {reference})")
    columns = ("task", "band", "variant", "rule (CI low)", "metric", "point", "95% CI", "n")
    for column in (*columns, "from"):
        table.add_column(column)
    for r in rules:
        table.add_row(
            r.task,
            r.band,
            r.variant,
            f"{r.quality:.3f}",
            r.metric,
            f"{r.point:.3f}",
            f"[{r.ci95[0]:.3f}, {r.ci95[1]:.3f}]",
            str(r.n),
            ", ".join(r.tasks),
        )
    console = Console(width=140)
    console.print(table)
    for note in skipped:
        console.print(note)
    for variant, o in ratios.items():
        console.print(
            f"output ratio {variant}: {o.ratio:.3f} [{o.ci95[0]:.3f}, {o.ci95[1]:.3f}] (n {o.n})"
        )
    if loadtest_run is not None:
        from loadtest.costs import derive_costs, write_costs
        from loadtest.types import RequestResult

        try:
            lines = (loadtest_run / "results.jsonl").read_text().splitlines()
            results = [RequestResult(**json.loads(x)) for x in lines if x]
        except (OSError, ValueError, TypeError) as exc:
            raise ConfigError(f"{loadtest_run}: not a load-test run directory ({exc})") from exc
        costs, missing = derive_costs(results)
        if costs:
            for line in write_costs(output, costs, loadtest_run.name).values():
                console.print(f"{line} (from {loadtest_run})")
        for variant, why in missing.items():
            console.print(f"no cost for {variant}: {why}")
    console.print(f"wrote {output}: {len(rules)} measured rules")
