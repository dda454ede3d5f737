"""`quantgate route "PROMPT"`: where the gateway would send a request, and why."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from quantgate.cli.serve import DEFAULT_PROFILE
from quantgate.errors import GatewayError
from quantgate.profile import Profile, load_profile
from quantgate.vocabulary import TASK_HEADER, TOLERANCE_HEADER


def route(
    prompt: str | None = typer.Argument(None, help="the user message (or completion prompt)"),
    profile_path: Path = typer.Option(
        DEFAULT_PROFILE, "--profile", "-p", help="profile YAML (default: the llama.cpp demo)"
    ),
    body_file: Path | None = typer.Option(
        None, "--body", help="a whole chat or completion request body (JSON) instead of PROMPT"
    ),
    completion: bool = typer.Option(False, "--completion", help="send PROMPT as a completion"),
    task: str | None = typer.Option(None, help="the task hint (X-Quantgate-Task)"),
    max_quality_loss: str | None = typer.Option(
        None, help="per-request tolerance, 0.05 or 5% (X-Quantgate-Max-Quality-Loss)"
    ),
    max_tokens: int | None = typer.Option(None, help="the request's max_tokens"),
    tokenizer: str = typer.Option(
        "auto",
        help="auto: the variants' own tokenizers (builds the source model if missing); "
        "estimate: 4 characters per token",
    ),
    as_json: bool = typer.Option(False, "--json", help="print the decision as JSON"),
) -> None:
    """Print where the gateway would send PROMPT, and why.

    The task, the band, every variant's quality, predicted latency and status, and the order
    the gateway would try them in.

    The decision assumes every variant is up and idle (the gateway's POST /v1/route also
    knows health and load).
    """
    from gateway.routing.explain import explain
    from gateway.routing.router import Router, parse_hints
    from gateway.routing.tokens import prompt_counter

    profile = load_profile(profile_path)
    body = _body(prompt, body_file, completion, max_tokens)
    headers = {
        k: v
        for k, v in {
            TASK_HEADER: task,
            TOLERANCE_HEADER: max_quality_loss,
        }.items()
        if v is not None
    }
    artifacts = _source_models(profile) if tokenizer == "auto" else {}
    router = Router(profile, prompt_counter(profile, artifacts, profile_path.resolve().parent))
    console = Console()
    console = Console(width=max(console.width, 132))
    try:
        routed = router.route(body, parse_hints(headers, body), explain=True)
    except GatewayError as exc:
        console.print(f"[red]{exc.status} {exc.code}[/red]: {exc.message}")
        raise typer.Exit(1) from exc
    data = explain(routed)
    if as_json:
        print(json.dumps(data, indent=2))
        return
    _print(console, data)


def _body(
    prompt: str | None, body_file: Path | None, completion: bool, max_tokens: int | None
) -> dict[str, Any]:
    if (prompt is None) == (body_file is None):
        raise typer.BadParameter("give a PROMPT or --body FILE (one of them)")
    if body_file is not None:
        try:
            body: dict[str, Any] = json.loads(body_file.read_text())
        except (OSError, ValueError) as exc:
            raise typer.BadParameter(f"{body_file}: not a readable JSON body ({exc})") from exc
    elif completion:
        body = {"prompt": prompt}
    else:
        body = {"messages": [{"role": "user", "content": prompt}]}
    if max_tokens is not None:
        body["max_tokens"] = max_tokens
    return body


def _source_models(profile: Profile) -> dict[str, Any]:
    """The built source artifacts (where the tokenizers are), building them if missing."""
    from gateway.engines.base import Artifact
    from quantize.build import build_profile
    from quantize.cache import ArtifactCache

    roots = sorted({profile.build_order(name)[0] for name in profile.artifacts})
    built = build_profile(profile, ArtifactCache(), names=roots)
    return {name: Artifact(Path(b.entry.path), b.entry.info) for name, b in built.items()}


def _print(console: Console, d: dict[str, Any]) -> None:
    found = d["classifier"]
    how = (
        f"classifier {found['confidence']:.0%} ({', '.join(found['features'])})"
        + (f"; unsure, also {found['runner_up']}" if found["unsure"] else "")
        if found
        else f"from the {d['task_source']}"
    )
    console.print(f"task: [bold]{d['task']}[/bold] ({escape(how)})")
    console.print(
        f"band: {d['band']}, tolerance {d['tolerance']:.1%}, max_tokens {d['max_tokens']}"
    )
    table = Table()
    for column in ("variant", "quality", "source", "tokens", "predicted ms", "cost", "status"):
        table.add_column(column)
    for c in d["candidates"]:
        style = "bold green" if c["status"] == "chosen" else ""
        status = (
            c["status"]
            if c["status"] in ("chosen", "fallback")
            else f"{c['status']}: {c['reason']}"
        )
        table.add_row(
            c["variant"],
            f"{c['quality']:.3f}",
            f"{c['quality_source']}: {c['evidence']}",
            str(c["prompt_tokens"]) + ("" if c.get("prompt_tokens_exact") else " (est.)"),
            f"{c['predicted_latency_ms']:.0f}",
            c["cost_source"],
            status,
            style=style,
        )
    console.print(table)
    console.print(f"order: {' -> '.join(d['order'])}")
    console.print(f"x-quantgate-route: {d['route']}")
