"""Against the mock server's known TTFT/ITL knobs, the load tester measures them back.

The mock sleeps at least the knob, so measurements are bounded below by it; the upper bound
is loose (two shared cores), so this checks recovery, not speed.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import anyio
import pytest

from loadtest.runner import Target, run_variants
from loadtest.strategies import Concurrent, PoissonRate, Stop
from loadtest.workloads import Workload, word_counter
from tests.integration.conftest import start_mock
from tests.integration.processes import Process

pytestmark = pytest.mark.integration


def loadtest_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "quantgate", "loadtest", *args],
        capture_output=True,
        text=True,
        timeout=180,
    )


@pytest.mark.parametrize("stream_count", [1, 4])
def test_measured_ttft_and_itl_recover_the_knobs(
    processes: Callable[..., Process], stream_count: int
) -> None:
    url, _ = start_mock(processes, f"knobs{stream_count}", ttft_ms=80, itl_ms=15)
    target = Target(url, f"up-knobs{stream_count}", [])
    workload = Workload(input_tokens=20, output_tokens=12)
    _, summaries = anyio.run(
        lambda: run_variants(
            target, workload, Concurrent(streams=stream_count), Stop(requests=16), word_counter
        )
    )
    s = summaries[f"up-knobs{stream_count}"]
    assert s.ok == 16 and s.errors == {}
    assert s.ttft is not None and 0.080 <= s.ttft.median <= 0.080 * 3
    assert s.itl is not None and 0.015 <= s.itl.median <= 0.015 * 3
    assert s.tpot is not None and 0.015 <= s.tpot.median <= 0.015 * 3
    assert s.output_token_throughput > 0 and s.requests == 16


def test_cli_writes_a_run_directory(processes: Callable[..., Process], tmp_path: Path) -> None:
    url, _ = start_mock(processes, "cli", ttft_ms=5, itl_ms=1)
    done = loadtest_cli(
        "--target",
        url,
        "--model",
        "up-cli",
        "--strategy",
        "poisson",
        "--rate",
        "20",
        "--requests",
        "10",
        "--input-tokens",
        "8",
        "--output-tokens",
        "4",
        "--slo-ttft",
        "1",
        "--out",
        str(tmp_path),
    )
    assert done.returncode == 0, done.stderr
    run = next(tmp_path.iterdir())
    lines = (run / "results.jsonl").read_text().splitlines()
    assert len(lines) == 10 and json.loads(lines[0])["completion_tokens"] == 4
    summary = json.loads((run / "summary.json").read_text())["variants"]["up-cli"]
    assert summary["ok"] == 10 and summary["goodput"] > 0
    assert (run / "summary.csv").read_text().startswith("variant,requests,ok")
    for name in ("ttft", "tpot", "e2e"):
        assert (run / f"cdf_{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_a_wrong_url_or_model_stops_before_anything_is_sent_or_written(
    processes: Callable[..., Process], tmp_path: Path
) -> None:
    url, mock = start_mock(processes, "wrong")
    common = ("--requests", "3", "--out", str(tmp_path))
    no_v1 = loadtest_cli("--target", url.removesuffix("/v1"), "--model", "up-wrong", *common)
    assert no_v1.returncode == 2, no_v1.stdout + no_v1.stderr
    assert f"ends in /v1: {url}?" in " ".join(no_v1.stderr.split())
    unknown = loadtest_cli("--target", url, "--model", "up-other", *common)
    assert unknown.returncode == 2, unknown.stdout + unknown.stderr
    assert "The model `up-other` does not exist" in unknown.stderr
    assert list(tmp_path.iterdir()) == []  # no run directory, no table of dashes
    mock.stop()  # nothing listening
    refused = loadtest_cli("--target", url, "--model", "up-wrong", *common)
    assert refused.returncode == 2 and "cannot reach" in refused.stderr, refused.stderr


def test_poisson_schedule_is_open_loop(processes: Callable[..., Process]) -> None:
    url, _ = start_mock(processes, "open", ttft_ms=300, itl_ms=1)
    target = Target(url, "up-open", [])
    results, _ = anyio.run(
        lambda: run_variants(
            target,
            Workload(input_tokens=4, output_tokens=2),
            PoissonRate(rate=20, seed=3),
            Stop(requests=10),
            word_counter,
        )
    )
    # requests leave on schedule, not after the previous answer (each takes >= 300 ms)
    starts = sorted(r.start for r in results)
    assert starts[-1] - starts[0] < 0.3 * 9
    assert all(r.start - r.scheduled < 0.25 for r in results)


def test_sweep_goes_from_synchronous_to_throughput_to_rates_between(
    processes: Callable[..., Process],
) -> None:
    from loadtest.runner import sweep

    url, _ = start_mock(processes, "sweep", ttft_ms=40, itl_ms=1)
    runs = anyio.run(
        lambda: sweep(
            Target(url, "up-sweep", []),
            Workload(input_tokens=4, output_tokens=2),
            Stop(requests=8),
            word_counter,
            max_concurrency=8,
        )
    )
    names = [name for name, _, _ in runs]
    assert names[:2] == ["synchronous", "throughput"] and len(names) == 5
    sync = runs[0][2]["up-sweep"].request_throughput
    peak = runs[1][2]["up-sweep"].request_throughput
    assert peak > 2 * sync  # 8 streams against a server that waits 40 ms per request
    rates = [float(name.split("-")[1]) for name in names[2:]]
    assert sync < rates[0] < rates[1] < rates[2] < peak


def test_cli_sweep_writes_a_run_per_step_and_a_plot(
    processes: Callable[..., Process], tmp_path: Path
) -> None:
    url, _ = start_mock(processes, "clisweep", ttft_ms=20, itl_ms=1)
    done = loadtest_cli(
        "--target",
        url,
        "--model",
        "up-clisweep",
        "--strategy",
        "sweep",
        "--concurrency",
        "4",
        "--requests",
        "6",
        "--input-tokens",
        "4",
        "--output-tokens",
        "3",
        "--out",
        str(tmp_path),
    )
    assert done.returncode == 0, done.stderr
    stamp = next(tmp_path.iterdir())
    steps = sorted(p.name for p in stamp.iterdir() if p.is_dir())
    assert steps[-2:] == ["synchronous", "throughput"] and len(steps) == 5
    assert (stamp / "sweep.png").read_bytes()[:4] == b"\x89PNG"


def test_ramp_up_starts_streams_one_by_one(processes: Callable[..., Process]) -> None:
    from loadtest.strategies import RampUp

    url, _ = start_mock(processes, "ramp", ttft_ms=1500, itl_ms=1)  # no stream finishes early
    results, _ = anyio.run(
        lambda: run_variants(
            Target(url, "up-ramp", []),
            Workload(input_tokens=4, output_tokens=2),
            RampUp(streams=3, ramp=0.9),
            Stop(requests=3),
            word_counter,
        )
    )
    starts = sorted(r.start for r in results)
    assert starts[1] - starts[0] >= 0.25 and starts[2] - starts[1] >= 0.25


def test_cli_writes_measured_costs_into_a_profile(
    processes: Callable[..., Process], tmp_path: Path
) -> None:
    from quantgate.profile import load_profile

    url, _ = start_mock(processes, "costs", ttft_ms=20, itl_ms=2)
    profile = tmp_path / "profile.yaml"
    profile.write_text(
        f"# measured below\nmodel: m\ndefault_variant: up-costs\nvariants:\n"
        f"  - {{name: up-costs, engine: {{kind: external, url: '{url}'}}}}\n"
    )

    def run(input_tokens: int, output_tokens: int) -> str:
        done = loadtest_cli(
            "--target",
            url,
            "--model",
            "up-costs",
            "--requests",
            "6",
            "--input-tokens",
            str(input_tokens),
            "--output-tokens",
            str(output_tokens),
            "--out",
            str(tmp_path / "runs"),
            "--write-costs",
            str(profile),
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    # as docs/gpu.md runs it: a prefill-heavy run, then a decode-heavy one. The first measures
    # prefill (its 8-token answers are too short for decode: a rough figure fills in)
    said = run(300, 8)
    assert "decode" in said and "(rough)" in said
    first = load_profile(profile).routing.costs["up-costs"]
    # prompt 300 tokens / TTFT >= 20 ms
    assert first.prefill_tps is not None and 0 < first.prefill_tps <= 300 / 0.020
    assert first.evidence is not None and first.evidence.n == 6
    # the second measures decode; its 40-token prompts never replace the prefill rate
    said = run(40, 70)
    assert "prefill" in said and "(kept)" in said
    cost = load_profile(profile).routing.costs["up-costs"]
    assert cost.prefill_tps == first.prefill_tps
    assert cost.decode_tps is not None and 0 < cost.decode_tps <= 1 / 0.002  # a token per 2 ms
    runs = sorted((tmp_path / "runs").iterdir())
    assert cost.evidence is not None
    assert cost.evidence.ref == f"prefill: {runs[0]}; decode: {runs[1]}"
    assert profile.read_text().startswith("# measured below")
