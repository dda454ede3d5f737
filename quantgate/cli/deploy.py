"""`quantgate deploy render`: a Kustomize overlay that runs a profile on Kubernetes."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import typer

from quantgate.cli import commands

app = commands(help="Kubernetes manifests for a profile (docs/deploy.md).")

GATEWAY_IMAGE = "quantgate:gateway"  # the name deploy/k8s/base uses


@app.command("render")
def render_command(
    profile_path: Path = typer.Argument(..., help="the profile to deploy"),
    out: Path = typer.Option(..., "--out", "-o", help="the overlay's folder (written)"),
    base: Path = typer.Option(
        Path("deploy/k8s/base"), help="the Kustomize base (a checkout's deploy/k8s/base)"
    ),
    gateway_image: str = typer.Option(GATEWAY_IMAGE, help="the gateway's image"),
    vllm_image: str = typer.Option("vllm/vllm-openai:v0.11.0", help="the engines' image"),
    models_claim: str = typer.Option(
        "models", help="PersistentVolumeClaim holding the weights, mounted at /models"
    ),
    gpus: int = typer.Option(1, min=1, help="GPUs per engine pod"),
    replicas: int = typer.Option(2, min=1, help="gateway replicas"),
) -> None:
    """Write OUT/kustomization.yaml (over BASE), OUT/engines.yaml (a Deployment and a Service
    per vLLM variant) and OUT/profile.yaml (the gateway's profile: those variants as external
    engines at their Services). Then: `kubectl apply -k OUT`."""
    import yaml

    from gateway.engines.kubernetes import PROFILE_FILE, TEMPLATES_MAP, render
    from quantgate.errors import ConfigError
    from quantgate.profile import load_profile

    if not (base / "kustomization.yaml").is_file():
        raise ConfigError(f"{base} is not a Kustomize base: run from a checkout or pass --base")
    profile = load_profile(profile_path)
    raw = yaml.safe_load(profile_path.read_text())
    done = render(
        profile,
        raw,
        vllm_image=vllm_image,
        models_claim=models_claim,
        gpus=gpus,
        base_dir=profile_path.parent,
    )
    out.mkdir(parents=True, exist_ok=True)
    header = f"# Written by `quantgate deploy render` from {profile_path.name}: edit that.\n"
    kustomization: dict[str, Any] = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": [os.path.relpath(base.resolve(), out.resolve())],
        "configMapGenerator": [
            {
                "name": "quantgate-profile",
                "behavior": "replace",
                "files": [PROFILE_FILE, *sorted(done.beside)],
            }
        ],
        "replicas": [{"name": "quantgate", "count": replicas}],
    }
    if done.engines:
        kustomization["resources"].append("engines.yaml")
        text = "---\n".join(yaml.safe_dump(o, sort_keys=False) for o in done.engines)
        (out / "engines.yaml").write_text(header + text)
    if done.templates:  # the engines' chat templates, in a ConfigMap of their own
        (out / "chat-templates").mkdir(exist_ok=True)
        for name, text in done.templates.items():
            (out / "chat-templates" / name).write_text(text)
        files = [f"chat-templates/{name}" for name in sorted(done.templates)]
        kustomization["configMapGenerator"].append({"name": TEMPLATES_MAP, "files": files})
    if gateway_image != GATEWAY_IMAGE:
        image, _, tag = (
            gateway_image.rpartition(":") if ":" in gateway_image else (gateway_image, "", "latest")
        )
        kustomization["images"] = [{"name": GATEWAY_IMAGE, "newName": image, "newTag": tag}]
    (out / "kustomization.yaml").write_text(header + yaml.safe_dump(kustomization, sort_keys=False))
    for name, text in done.beside.items():  # its priors file
        (out / name).write_text(text)
    (out / PROFILE_FILE).write_text(header + yaml.safe_dump(done.profile, sort_keys=False))
    typer.echo(f"wrote {out}: kubectl kustomize {out} | kubectl apply -f -", err=True)
    for note in done.notes:
        typer.echo(f"  {note}", err=True)
