"""A run directory: raw results (JSONL), summaries (JSON, CSV) and the console table."""

from __future__ import annotations

import csv
import json
from dataclasses import asdict
from pathlib import Path

from rich.console import Console
from rich.table import Table

from loadtest.metrics import Distribution, Summary
from loadtest.types import RequestResult


def write_run(
    out: Path,
    config: dict[str, object],
    results: list[RequestResult],
    summaries: dict[str, Summary],
) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with (out / "results.jsonl").open("w") as f:
        for r in results:
            f.write(json.dumps(r.to_json()) + "\n")
    (out / "summary.json").write_text(
        json.dumps(
            {"config": config, "variants": {v: asdict(s) for v, s in summaries.items()}}, indent=2
        )
    )
    with (out / "summary.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(
            [
                "variant",
                "requests",
                "ok",
                "req_per_s",
                "out_tok_per_s",
                "ttft_median_s",
                "ttft_p99_s",
                "tpot_median_s",
                "itl_median_s",
                "e2e_median_s",
                "goodput_req_per_s",
            ]
        )
        for v, s in summaries.items():
            writer.writerow(
                [
                    v,
                    s.requests,
                    s.ok,
                    s.request_throughput,
                    s.output_token_throughput,
                    _m(s.ttft, "median"),
                    _m(s.ttft, "p99"),
                    _m(s.tpot, "median"),
                    _m(s.itl, "median"),
                    _m(s.e2e, "median"),
                    s.goodput,
                ]
            )


def print_table(summaries: dict[str, Summary], reference: str | None) -> None:
    """Medians (p99) per variant; ITL is per streamed event, TPOT needs the server's usage."""
    table = Table(title="load test: median (p99) ms; speedup = reference / variant")
    columns = ("variant", "ok/sent", "req/s", "TTFT", "ITL", "TPOT", "E2E", "TTFT x", "ITL x")
    for column in columns:
        table.add_column(column, justify="right")
    ref = summaries.get(reference) if reference else None
    for v, s in summaries.items():
        table.add_row(
            v,
            f"{s.ok}/{s.requests}",
            f"{s.request_throughput:.2f}",
            _ms(s.ttft),
            _ms(s.itl),
            _ms(s.tpot),
            _ms(s.e2e),
            _speedup(ref.ttft if ref else None, s.ttft),
            _speedup(ref.itl if ref else None, s.itl),
        )
    Console(width=120).print(table)


def _m(dist: Distribution | None, field: str) -> float | None:
    return getattr(dist, field) if dist is not None else None


def _ms(dist: Distribution | None) -> str:
    return "-" if dist is None else f"{dist.median * 1000:.1f} ({dist.p99 * 1000:.1f})"


def _speedup(ref: Distribution | None, dist: Distribution | None) -> str:
    if ref is None or dist is None or dist.median == 0:
        return "-"
    return f"{ref.median / dist.median:.2f}"


def plot_cdfs(out: Path, results: list[RequestResult]) -> list[Path]:
    """Latency CDFs per variant (TTFT, TPOT, end-to-end) as PNG files."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from loadtest.metrics import e2e, tpot, ttft

    written = []
    variants = sorted({r.variant for r in results})
    for name, metric in (("ttft", ttft), ("tpot", tpot), ("e2e", e2e)):
        fig, ax = plt.subplots(figsize=(6, 4))
        for variant in variants:
            values = sorted(
                v * 1000
                for r in results
                if r.variant == variant and r.status == "ok" and (v := metric(r)) is not None
            )
            if values:
                ys = [(i + 1) / len(values) for i in range(len(values))]
                ax.step(values, ys, where="post", label=variant)
        ax.set_xlabel(f"{name.upper()} (ms)")
        ax.set_ylabel("share of requests")
        ax.set_title(f"{name.upper()} CDF by variant")
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend()
        else:  # no request completed with this metric (or the run was not streamed)
            ax.text(0.5, 0.5, "no measurements", ha="center", transform=ax.transAxes)
        path = out / f"cdf_{name}.png"
        fig.tight_layout()
        fig.savefig(path, dpi=100)
        plt.close(fig)
        written.append(path)
    return written


def plot_sweep(out: Path, runs: list[tuple[str, dict[str, Summary]]]) -> Path:
    """Latency against achieved throughput across a sweep's runs, per variant."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    variants = sorted({v for _, summaries in runs for v in summaries})
    for variant in variants:
        points = sorted(
            (s.request_throughput, s.ttft.median * 1000, s.itl.median * 1000 if s.itl else None)
            for _, summaries in runs
            if (s := summaries.get(variant)) is not None and s.ttft is not None
        )
        xs = [p[0] for p in points]
        axes[0].plot(xs, [p[1] for p in points], marker="o", label=variant)
        axes[1].plot(
            [p[0] for p in points if p[2] is not None],
            [p[2] for p in points if p[2] is not None],
            marker="o",
            label=variant,
        )
    for ax, name in zip(axes, ("TTFT median (ms)", "ITL median (ms)"), strict=True):
        ax.set_xlabel("achieved requests/s")
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle("latency vs throughput (sweep)")
    fig.tight_layout()
    path = out / "sweep.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
