"""An eval run directory: samples.jsonl, summary.json, report.md, report.html and plots/."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from evalsuite.types import Row

ABILITY_ORDER = (
    "language-modeling",
    "understanding",
    "icl",
    "reasoning",
    "instruction-following",
    "trustworthiness",
    "dialogue",
    "long-context",
)


def write_run(
    run_dir: Path, config: dict[str, Any], rows: list[Row], summary: dict[str, Any]
) -> list[Path]:
    run_dir.mkdir(parents=True, exist_ok=True)
    with (run_dir / "samples.jsonl").open("w") as fh:
        for r in rows:
            fh.write(json.dumps(r.to_json(), default=str) + "\n")
    (run_dir / "summary.json").write_text(json.dumps({"config": config, **summary}, indent=2))
    plots = write_plots(run_dir / "plots", summary)
    (run_dir / "report.md").write_text(markdown(config, summary, plots, run_dir))
    (run_dir / "report.html").write_text(to_html(config, summary, plots, run_dir))
    return plots


def _fmt(x: float | None, digits: int = 3) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def _ci(ci: list[float] | tuple[float, float] | None) -> str:
    return "-" if not ci else f"[{ci[0]:.3f}, {ci[1]:.3f}]"


def _tasks_in_order(summary: dict[str, Any]) -> list[str]:
    tasks = summary["tasks"]
    rank = {a: i for i, a in enumerate(ABILITY_ORDER)}
    return sorted(tasks, key=lambda t: (rank.get(tasks[t]["ability"], 99), t))


EXTRAS = (
    "ece",
    "perplexity",
    "refusal_rate",
    "instruction_accuracy",
    "sentence_repetition",
    "token_repetition",
    "unparsed_rate",
)


def table_rows(summary: dict[str, Any]) -> list[list[str]]:
    out = []
    for task in _tasks_in_order(summary):
        t = summary["tasks"][task]
        for variant, v in t["variants"].items():
            extras = ", ".join(f"{k} {_fmt(v[k])}" for k in EXTRAS if k in v and v[k] is not None)
            if "perplexity" in v and v["perplexity"] is None:
                extras += ("; " if extras else "") + "perplexity: no prompt logprobs"
            out.append(
                [
                    task,
                    t["ability"],
                    variant,
                    str(v["n"]),
                    _fmt(v["score"]),
                    _ci(v["ci95"]),
                    _fmt(v["normalized"]),
                    _ci(v["normalized_ci95"]),
                    str(v["errors"] + v["skipped"]),
                    extras,
                ]
            )
    return out


HEADER = [
    "task",
    "ability",
    "variant",
    "n",
    "score",
    "95% CI",
    "vs reference",
    "95% CI",
    "errors/skipped",
    "task metrics",
]


def markdown(
    config: dict[str, Any], summary: dict[str, Any], plots: list[Path], run_dir: Path
) -> str:
    lines = [
        f"# Eval run {config.get('run_id', '')}",
        "",
        f"Reference: `{summary['reference']}`. Variants: {', '.join(summary['variants'])}. "
        f"Samples per task: {config.get('limit')} (seed {config.get('seed')}), "
        f"prompt form: {config.get('form')}, option logprobs: {config.get('logprobs')}, "
        f"judge: {config.get('judge') or 'none'}.",
        "",
        "| " + " | ".join(HEADER) + " |",
        "|" + "---|" * len(HEADER),
    ]
    lines += ["| " + " | ".join(r) + " |" for r in table_rows(summary)]
    lines.append("")
    lines += [f"![{p.stem}]({p.relative_to(run_dir)})" for p in plots]
    return "\n".join(lines) + "\n"


def to_html(
    config: dict[str, Any], summary: dict[str, Any], plots: list[Path], run_dir: Path
) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in HEADER)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>"
        for r in table_rows(summary)
    )
    images = "".join(
        f'<figure><img src="{html.escape(str(p.relative_to(run_dir)))}" width="720">'
        f"<figcaption>{html.escape(p.stem)}</figcaption></figure>"
        for p in plots
    )
    settings = html.escape(json.dumps(config, indent=1, default=str))
    return (
        "<!doctype html><meta charset='utf-8'><title>quantgate eval</title>"
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:3px 6px;font-size:13px}</style>"
        f"<h1>Eval run {html.escape(str(config.get('run_id', '')))}</h1>"
        f"<p>Reference: <code>{html.escape(str(summary['reference']))}</code></p>"
        f"<table><tr>{head}</tr>{body}</table>{images}<pre>{settings}</pre>"
    )


def _save(fig: Any, ax: Any, path: Path) -> Path:
    import matplotlib.pyplot as plt

    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_plots(out: Path, summary: dict[str, Any]) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    variants = summary["variants"]
    tasks = _tasks_in_order(summary)
    paths = []

    fig, ax = plt.subplots(figsize=(max(8, len(tasks) * 1.1), 4.5))
    width = 0.8 / max(1, len(variants))
    for k, variant in enumerate(variants):
        values = [summary["tasks"][t]["variants"].get(variant, {}).get("normalized") for t in tasks]
        xs = [i + k * width for i in range(len(tasks))]
        ax.bar(xs, [v if v is not None else 0 for v in values], width, label=variant)
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_xticks([i + 0.4 - width / 2 for i in range(len(tasks))])
    ax.set_xticklabels([f"{t}\n({summary['tasks'][t]['ability']})" for t in tasks], fontsize=7)
    ax.set_ylabel("score / reference score")
    ax.set_title("Normalized score per task, grouped by ability (reference = 1.0)")
    paths.append(_save(fig, ax, out / "normalized_by_ability.png"))

    lines = summary["tasks"].get("longeval_lines")
    if lines:
        fig, ax = plt.subplots(figsize=(6, 4))
        for variant, v in lines["variants"].items():
            points = sorted((int(k), s) for k, s in (v.get("by_length") or {}).items())
            if points:
                ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=variant)
        ax.set_xlabel("prompt tokens (target)")
        ax.set_ylabel("retrieval accuracy")
        ax.set_title("LongEval lines: accuracy vs context length")
        paths.append(_save(fig, ax, out / "longeval_by_length.png"))

    dialogue = summary["tasks"].get("mt_bench")
    if dialogue:
        fig, ax = plt.subplots(figsize=(6, 4))
        names = list(dialogue["variants"])
        for k, key in enumerate(("sentence_repetition", "token_repetition")):
            values = [dialogue["variants"][n].get(key) or 0 for n in names]
            ax.bar([i + k * 0.4 for i in range(len(names))], values, 0.4, label=key)
        ax.set_xticks([i + 0.2 for i in range(len(names))])
        ax.set_xticklabels(names, fontsize=8)
        ax.set_ylabel("share repeated")
        ax.set_title("MT-Bench answers: repetition per variant")
        paths.append(_save(fig, ax, out / "repetition.png"))
    return paths
