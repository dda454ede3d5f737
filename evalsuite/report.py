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


def read_config(run_dir: Path) -> dict[str, Any]:
    """The config a run directory's summary.json recorded; {} when it has none yet."""
    try:
        config = json.loads((run_dir / "summary.json").read_text()).get("config")
    except (OSError, ValueError, AttributeError):
        return {}
    return config if isinstance(config, dict) else {}


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
    "loose_accuracy",
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
            above = t.get("reference_above_chance")
            out.append(
                [
                    task,
                    t["ability"],
                    "-"
                    if t.get("chance") is None
                    else f"{t['chance']:.2f}" + ("" if above else " !"),
                    variant,
                    str(v["n"]),
                    _fmt(v["score"]),
                    _ci(v["ci95"]),
                    _fmt(v["normalized"]),
                    _ci(v["normalized_ci95"]),
                    _fmt(v.get("agreement")),
                    _ci(v.get("agreement_ci95")),
                    _fmt(v.get("kl"), 4),
                    _fmt(v.get("length_ratio"), 2),
                    str(v["errors"] + v["skipped"]),
                    extras,
                ]
            )
    return out


HEADER = [
    "task",
    "ability",
    "chance",
    "variant",
    "n",
    "score",
    "95% CI",
    "vs reference",
    "95% CI",
    "agreement",
    "95% CI",
    "KL",
    "length ratio",
    "errors/skipped",
    "task metrics",
]

NOTES = """\
- **chance**: the score of guessing (1/options, the majority label's share, 0 for free
  answers); `!` marks a task where the reference is NOT significantly above it (the lower
  bound of its 95% bootstrap interval is not above chance). There, accuracy says nothing about
  quality and `quantgate derive` uses agreement instead.
- **agreement**: the share of samples where the variant's parsed answer equals the
  reference's (1 - flips; free generations: the first 16 tokens match); errors are flips.
- **KL**: KL(reference || variant) per answer token, averaged over the positions where both
  had generated the same prefix, from the top-k logprobs both endpoints returned; computed on
  the tokens in both top-k lists plus one bucket for the rest, a lower bound of the full KL.
- **length ratio**: the variant's completion tokens over the reference's, same prompts.
- Not comparable to lm-evaluation-harness: multiple choice here is scored by the generated
  letter (or the option letters' first-token logprobs with `--logprobs`), where lm-eval
  compares the options' log-likelihoods; GSM8K takes the number after "The answer is" (else
  the last number); IFEval implements 24 of 25 instruction types with the reference's rules
  but without punkt sentence splitting. `quantgate eval --lm-eval` runs lm-eval itself.
"""


def cut_note(config: dict[str, Any]) -> str:
    """What the report and the terminal say of a run whose replies were cut; "" if uncut."""
    if not config.get("max_tokens"):
        return ""
    return (
        f"Every reply was cut at {config['max_tokens']} tokens (`--max-tokens`): a quick "
        "end-to-end check. Tasks whose replies run longer score what the cut leaves, so these "
        "are not the tasks' scores, and `quantgate derive` refuses this run."
    )


def error_digest(rows: list[Row], most: int = 3) -> list[str]:
    """The commonest errors of a run, each with its count and where it happened (the table
    only counts them): [] when nothing failed."""
    from collections import Counter

    failed = [r for r in rows if r.score is None and r.error and not r.extra.get("skipped")]
    kinds = Counter(r.error for r in failed)
    lines = []
    for error, count in kinds.most_common(most):
        where = sorted({f"{r.variant}/{r.task}" for r in failed if r.error == error})
        shown = ", ".join(where[:4]) + (f" and {len(where) - 4} more" if len(where) > 4 else "")
        lines.append(f"{count} x {error} ({shown})")
    if len(kinds) > most:
        lines.append(f"... and {len(kinds) - most} other errors: samples.jsonl has each one")
    return lines


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
        *([note, ""] if (note := cut_note(config)) else []),
        "| " + " | ".join(HEADER) + " |",
        "|" + "---|" * len(HEADER),
    ]
    lines += ["| " + " | ".join(r) + " |" for r in table_rows(summary)]
    lines += ["", NOTES]
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
    cut = f"<p>{html.escape(note)}</p>" if (note := cut_note(config)) else ""
    return (
        "<!doctype html><meta charset='utf-8'><title>quantgate eval</title>"
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:3px 6px;font-size:13px}</style>"
        f"<h1>Eval run {html.escape(str(config.get('run_id', '')))}</h1>"
        f"<p>Reference: <code>{html.escape(str(summary['reference']))}</code></p>{cut}"
        f"<table><tr>{head}</tr>{body}</table><pre>{html.escape(NOTES)}</pre>"
        f"{images}<pre>{settings}</pre>"
    )


def _save(fig: Any, ax: Any, path: Path) -> Path:
    import matplotlib.pyplot as plt

    if ax.get_legend_handles_labels()[0]:  # a plot with no series (every point cut) has none
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

    paths.append(_agreement_plot(out, summary, tasks))

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


def _agreement_plot(out: Path, summary: dict[str, Any], tasks: list[str]) -> Path:
    """Per task and variant: accuracy ratio, agreement and KL side by side."""
    import matplotlib.pyplot as plt

    variants = [v for v in summary["variants"] if v != summary["reference"]]
    fig, axes = plt.subplots(3, 1, figsize=(max(8, len(tasks) * 1.1), 9), sharex=True)
    width = 0.8 / max(1, len(variants))
    keys = (
        ("normalized", "accuracy / reference"),
        ("agreement", "agreement with reference"),
        ("kl", "KL(reference || variant)"),
    )
    for ax, (key, label) in zip(axes, keys, strict=True):
        for k, variant in enumerate(variants):
            values = [summary["tasks"][t]["variants"].get(variant, {}).get(key) for t in tasks]
            xs = [i + k * width for i in range(len(tasks))]
            ax.bar(xs, [v if v is not None else 0 for v in values], width, label=variant)
        ax.set_ylabel(label, fontsize=8)
        if key != "kl":
            ax.axhline(1.0, color="black", linewidth=0.8)
    marks = [
        f"{t}{'' if summary['tasks'][t].get('reference_above_chance') else ' (chance)'}"
        for t in tasks
    ]
    axes[-1].set_xticks([i + 0.4 - width / 2 for i in range(len(tasks))])
    axes[-1].set_xticklabels(marks, fontsize=7, rotation=20)
    axes[0].set_title("Accuracy ratio, agreement and KL per task ((chance): reference at chance)")
    return _save(fig, axes[0], out / "agreement_kl.png")
