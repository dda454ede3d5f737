"""A real Prometheus scrapes the gateway during a burst of traffic; PromQL sees each variant.

Also: promtool accepts deploy/ (config and rules), and every PromQL expression of the Grafana
dashboard parses and names only metrics that a scrape shows (vLLM's own names are checked
against a real vLLM in test_demo_profiles.py).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import httpx
import openai
import pytest

from tests.integration.conftest import start_gateway, start_mock
from tests.integration.processes import Process, free_port, wait_until

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
DASHBOARD = DEPLOY / "grafana" / "dashboards" / "quantgate.json"
PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
GRAFANA_VARS = {"$__rate_interval": "1m", "$__range": "5m", "$__interval": "15s"}


def dashboard_exprs() -> list[str]:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    exprs = [t["expr"] for p in panels for t in p["targets"]]
    out = []
    for e in exprs:
        for var, value in GRAFANA_VARS.items():
            e = e.replace(var, value)
        out.append(e)
    return out


def metric_names(expr: str) -> set[str]:
    """Metric names in a PromQL expression (ours and vLLM's; functions and labels excluded)."""
    without_labels = re.sub(r"\{[^}]*\}", "", expr)
    return set(re.findall(r"\b(?:quantgate_[a-z0-9_]+|vllm:[a-z0-9_:]+)", without_labels))


def exported(scrape: str) -> set[str]:
    names = set()
    for line in scrape.splitlines():
        if line and not line.startswith("#"):
            names.add(re.split(r"[{ ]", line, maxsplit=1)[0])
    return names


@pytest.mark.parametrize(
    "args",
    [
        ["check", "config", str(DEPLOY / "prometheus" / "prometheus.yml")],
        ["check", "rules", str(DEPLOY / "prometheus" / "rules.yml")],
    ],
    ids=["config", "rules"],
)
def test_promtool_accepts_the_deploy_files(args: list[str]) -> None:
    done = subprocess.run([PROMTOOL, *args], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture(scope="module")
def stack(processes: Callable[..., Process], tmp_path_factory: pytest.TempPathFactory) -> dict:
    ref, _ = start_mock(processes, "ref", ttft_ms=40, itl_ms=5)
    w4, _ = start_mock(processes, "w4", ttft_ms=10, itl_ms=2, tokens_per_chunk=2)
    root = tmp_path_factory.mktemp("prom")
    profile = root / "profile.yaml"
    profile.write_text(f"""
model: demo
default_variant: w4
variants:
  - {{name: ref, engine: {{kind: external, url: "{ref}", served_model: up-ref}}}}
  - name: w4
    engine: {{kind: external, url: "{w4}", served_model: up-w4}}
    quant: {{w_bits: 4, method: awq}}
""")
    gateway = start_gateway(processes, profile)
    gateway_port = int(gateway.rsplit(":", 1)[1].split("/")[0])
    config = root / "prometheus.yml"
    config.write_text(f"""
global: {{scrape_interval: 1s, evaluation_interval: 1s}}
rule_files: ["{DEPLOY / "prometheus" / "rules.yml"}"]
scrape_configs:
  - job_name: quantgate
    static_configs: [{{targets: ["127.0.0.1:{gateway_port}"]}}]
""")
    port = free_port()
    prom = processes(
        "prometheus",
        [
            PROMETHEUS,
            f"--config.file={config}",
            f"--storage.tsdb.path={root / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
    )
    prom.wait_http(f"http://127.0.0.1:{port}/-/ready", timeout=60)
    return {"gateway": gateway, "prometheus": f"http://127.0.0.1:{port}"}


def promql(stack: dict, expr: str) -> list[dict]:
    reply = httpx.get(stack["prometheus"] + "/api/v1/query", params={"query": expr}).json()
    assert reply["status"] == "success", (expr, reply)
    return reply["data"]["result"]


def by_variant(result: list[dict]) -> dict[str, float]:
    return {r["metric"].get("variant", ""): float(r["value"][1]) for r in result}


def test_prometheus_sees_each_variant_during_a_burst(stack: dict) -> None:
    client = openai.OpenAI(base_url=stack["gateway"], api_key="x", max_retries=0)
    for i in range(12):
        client.completions.create(  # routed; told the task so that it lands on w4
            model="demo",
            prompt=f"burst {i}",
            max_tokens=6,
            extra_headers={"X-Quantgate-Task": "general"},
        )
        list(
            client.chat.completions.create(
                model="demo@ref",
                messages=[{"role": "user", "content": "hi"}],
                max_tokens=4,
                stream=True,
            )
        )
    with pytest.raises(openai.NotFoundError):
        client.completions.create(model="other", prompt="x")
    requests = wait_until(
        lambda: by_variant(promql(stack, "sum by (variant) (quantgate_requests_total)")),
        lambda seen: seen.get("ref") == 12 and seen.get("w4") == 12,
        seconds=30,
        what="every request scraped",
        every=0.5,
    )
    assert requests == {"ref": 12.0, "w4": 12.0, "none": 1.0}
    ttft = by_variant(
        promql(
            stack,
            "sum by (variant) (quantgate_time_to_first_token_seconds_sum)"
            " / sum by (variant) (quantgate_time_to_first_token_seconds_count)",
        )
    )
    assert 0.04 <= ttft["ref"] <= 2.0  # the mock waits 40 ms before the first token
    p50 = by_variant(
        promql(
            stack,
            "histogram_quantile(0.5, sum by (le, variant) "
            "(quantgate_time_to_first_token_seconds_bucket))",
        )
    )
    assert 0.025 <= p50["ref"] <= 2.5  # within the buckets around it
    tokens = by_variant(promql(stack, "sum by (variant) (quantgate_completion_tokens_total)"))
    assert tokens == {"w4": 72.0, "ref": 48.0}  # from usage: 12 x 6 and 12 x 4
    info = promql(stack, 'quantgate_variant_info{variant="w4"}')
    assert info[0]["metric"]["w_bits"] == "4" and info[0]["metric"]["method"] == "awq"
    up = by_variant(promql(stack, "quantgate_variant_up"))
    assert up == {"ref": 1.0, "w4": 1.0}


def test_dashboard_queries_parse_and_name_exported_metrics(stack: dict) -> None:
    scrape = httpx.get(stack["gateway"].removesuffix("/v1") + "/metrics").text
    ours = exported(scrape)
    for expr in dashboard_exprs():
        promql(stack, expr)  # Prometheus parses and evaluates it
        for name in metric_names(expr):
            if name.startswith("vllm:"):
                continue
            assert name in ours, f"{name} (in {expr}) is not exported by the gateway"
