"""Kubernetes: every overlay validates against the API schemas; `deploy render` writes them."""

from __future__ import annotations

import copy
import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from typer.testing import CliRunner

from gateway.engines.kubernetes import render
from quantgate.cli.main import app
from quantgate.profile import load_profile

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "deploy" / "k8s"
KUSTOMIZATIONS = [K8S / "base", *sorted(p for p in (K8S / "overlays").iterdir() if p.is_dir())]
VERSION = "1.32.0"  # the kubectl on this machine image
kubectl = pytest.mark.skipif(not shutil.which("kubectl"), reason="kubectl renders Kustomize")


def built(folder: Path) -> list[dict[str, Any]]:
    out = subprocess.run(
        ["kubectl", "kustomize", str(folder)], capture_output=True, text=True, check=True
    ).stdout
    return [d for d in yaml.safe_load_all(out) if d]


def rendered(profile: str, out: Path) -> list[dict[str, Any]]:
    """`quantgate deploy render PROFILE -o OUT`, built by kubectl, every object validated."""
    args = ["deploy", "render", profile, "-o", str(out), "--base", str(K8S / "base")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    docs = built(out)
    for doc in docs:
        kubernetes_validate.validate(doc, VERSION, strict=True)
    return docs


def config_maps(docs: list[dict[str, Any]], prefix: str) -> list[dict[str, Any]]:
    """The ConfigMaps whose generated name starts with `prefix`."""
    return [
        d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"].startswith(prefix)
    ]


@kubectl
@pytest.mark.parametrize("folder", KUSTOMIZATIONS, ids=lambda p: p.name)
def test_every_kustomization_validates_against_the_schemas(folder: Path) -> None:
    docs = built(folder)
    for doc in docs:
        kubernetes_validate.validate(doc, VERSION, strict=True)
    kinds = sorted(d["kind"] for d in docs)
    assert {"Deployment", "Service", "PodDisruptionBudget", "ConfigMap"} <= set(kinds)
    gateway = next(
        d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "quantgate"
    )
    container = gateway["spec"]["template"]["spec"]["containers"][0]
    assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"
    assert gateway["spec"]["template"]["metadata"]["annotations"]["prometheus.io/scrape"] == "true"
    names = {d["metadata"]["name"].rsplit("-", 1)[0] for d in docs if d["kind"] == "ConfigMap"}
    assert names == {"quantgate-profile", "quantgate-dashboards", "quantgate-prometheus-rules"}


@kubectl
def test_the_schema_check_refuses_a_broken_manifest() -> None:
    """The control: the validation above can fail."""
    deployment = next(d for d in built(K8S / "base") if d["kind"] == "Deployment")
    broken = copy.deepcopy(deployment)
    broken["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, VERSION, strict=True)
    unknown = copy.deepcopy(deployment)
    unknown["spec"]["template"]["spec"]["containers"][0]["imagePullPolice"] = "Always"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(unknown, VERSION, strict=True)


def test_the_committed_gpu_overlay_is_what_render_writes(tmp_path: Path) -> None:
    profile = REPO / "profiles" / "example-gpu-llama3-8b.yaml"
    out = tmp_path / "gpu-vllm"
    result = CliRunner().invoke(
        app,
        ["deploy", "render", str(profile), "-o", str(out), "--base", str(K8S / "base")],
    )
    assert result.exit_code == 0, result.output
    committed = K8S / "overlays" / "gpu-vllm"
    for name in ("engines.yaml", "profile.yaml"):
        assert (out / name).read_text() == (committed / name).read_text(), name
    ours = yaml.safe_load((out / "kustomization.yaml").read_text())
    theirs = yaml.safe_load((committed / "kustomization.yaml").read_text())
    assert {**ours, "resources": None} == {**theirs, "resources": None}
    assert (out / ours["resources"][0]).resolve() == (K8S / "base").resolve()


def test_vllm_variants_become_engine_pods_and_external_urls() -> None:
    path = REPO / "profiles" / "example-gpu-llama3-8b.yaml"
    raw = yaml.safe_load(path.read_text())
    done = render(load_profile(path), raw, vllm_image="vllm:test", models_claim="weights")
    deployments = {d["metadata"]["name"]: d for d in done.engines if d["kind"] == "Deployment"}
    assert set(deployments) == {"bf16-engine", "w8a8-engine", "w4a16-engine", "bf16-fp8kv-engine"}
    fp8 = deployments["bf16-fp8kv-engine"]["spec"]["template"]["spec"]
    args = fp8["containers"][0]["args"]
    assert "--model=/models/llama-3.1-8b" in args  # an hf-folder already under /models
    assert args[args.index("--kv-cache-dtype") + 1] == "fp8"  # kv_bits 8, as serve passes it
    assert args[args.index("--served-model-name") + 1] == "bf16-fp8kv"
    assert fp8["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert fp8["volumes"][0]["persistentVolumeClaim"]["claimName"] == "weights"
    w4 = deployments["w4a16-engine"]["spec"]["template"]["spec"]["containers"][0]["args"]
    assert "--model=/models/w4a16" in w4  # a built artifact: expected at /models/<name>
    engines = {v["name"]: v["engine"] for v in done.profile["variants"]}
    assert engines["w4a16"] == {
        "kind": "external",
        "url": "http://w4a16-engine:8000/v1",
        "served_model": "w4a16",
        "load_metrics": "vllm",
    }
    assert "artifacts" not in done.profile  # nothing left for the gateway to build
    assert raw["variants"][0]["engine"]["kind"] == "vllm"  # the input is left as it was


def test_llamacpp_variants_stay_with_the_gateway() -> None:
    path = REPO / "profiles" / "demo-llamacpp.yaml"
    raw = yaml.safe_load(path.read_text())
    done = render(load_profile(path), raw, vllm_image="vllm:test", models_claim="models")
    assert done.engines == [] and done.notes == []
    assert done.profile == raw  # the gateway's pod starts them, as `make demo` does


@kubectl
def test_a_chat_template_travels_to_the_engine_pods_in_a_config_map(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The vLLM demo names its template relative to the profile: rendered from another
    folder, every engine pod mounts it from a generated ConfigMap and its flag points there
    (not at a path on the machine that rendered it)."""
    profile = REPO / "profiles" / "demo-vllm-cpu.yaml"
    monkeypatch.chdir(tmp_path)
    docs = rendered(str(profile), tmp_path / "overlay")
    (templates,) = config_maps(docs, "quantgate-chat-templates-")
    shipped = (REPO / "profiles" / "templates" / "gemma-turns.jinja").read_text()
    assert templates["data"] == {"gemma-turns.jinja": shipped}
    engines = [
        d["spec"]["template"]["spec"]
        for d in docs
        if d["kind"] == "Deployment" and d["metadata"]["name"].endswith("-engine")
    ]
    assert len(engines) == 4
    for pod in engines:
        (container,) = pod["containers"]
        args = container["args"]
        assert args[args.index("--chat-template") + 1] == "/chat-templates/gemma-turns.jinja"
        volumes = {v["name"]: v for v in pod["volumes"]}
        assert volumes["chat-templates"]["configMap"]["name"] == templates["metadata"]["name"]
        mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
        assert mounts["chat-templates"] == "/chat-templates"


@kubectl
def test_a_priors_file_beside_the_profile_travels_with_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A profile that names its own priors file (relative to its folder, as every path in a
    profile is) is served from anywhere, and rendered: the file goes into the gateway's
    profile ConfigMap, beside the profile, which names it there."""
    from gateway.routing.quality import quality_table

    mine = tmp_path / "profiles"
    mine.mkdir()
    shutil.copy(REPO / "profiles" / "priors" / "qllm-eval.yaml", mine / "my-priors.yaml")
    text = (REPO / "profiles" / "demo-vllm-cpu.yaml").read_text()
    (mine / "p.yaml").write_text(
        text.replace("routing:\n", "routing:\n  priors: my-priors.yaml\n", 1)
    )
    shutil.copytree(REPO / "profiles" / "templates", mine / "templates")
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    profile = load_profile(Path("../profiles/p.yaml"))
    assert Path(profile.routing.priors) == (mine / "my-priors.yaml").resolve()
    assert quality_table(profile)  # the priors were read, from the profile's folder
    docs = rendered("../profiles/p.yaml", tmp_path / "overlay")
    (config,) = config_maps(docs, "quantgate-profile-")
    assert config["data"]["my-priors.yaml"] == (mine / "my-priors.yaml").read_text()
    served = yaml.safe_load(config["data"]["profile.yaml"])
    assert served["routing"]["priors"] == "my-priors.yaml"  # beside it, in the pod
