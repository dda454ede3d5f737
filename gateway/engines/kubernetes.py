"""A profile's vLLM variants as Kubernetes objects, and the gateway's profile that reaches them.

`quantgate deploy render PROFILE` writes a Kustomize overlay over deploy/k8s/base from this:
each vLLM variant becomes a Deployment and a Service of its own (`<variant>-engine`, port
8000) that runs `vllm serve` with the flags the variant's spec implies (the ones
`quantgate serve` would pass: gateway/engines/vllm.py `serve_args`), on a GPU, its weights read
from a volume; in the gateway's profile that variant becomes an external engine at the
Service's URL. Other variants stay as they are: external ones are someone else's, llama.cpp
ones run in the gateway's pod (as in the CPU demo). A variant's chat template (a file beside
the profile) travels in a ConfigMap the overlay generates, mounted where its flag points.
Pure but for reading those templates: it returns data; the CLI writes it.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from gateway.engines.vllm import flags, serve_args
from quantgate.errors import ConfigError
from quantgate.profile import Profile, VllmEngine
from quantgate.profile.paths import is_priors_path

PORT = 8000
MODELS = PurePosixPath("/models")  # where an engine pod mounts the weights
TEMPLATES = PurePosixPath("/chat-templates")  # and the chat templates
PROFILE_FILE = "profile.yaml"  # the gateway's profile, in the base's ConfigMap
TEMPLATES_MAP = "quantgate-chat-templates"  # their ConfigMap, which the overlay generates


@dataclass(frozen=True)
class Rendered:
    engines: list[dict[str, Any]]  # Deployments and Services, in order
    profile: dict[str, Any]  # the gateway's profile (YAML data)
    notes: list[str]  # what the user must provide (weights on the volume, ...)
    templates: dict[str, str] = field(default_factory=dict)  # file name -> the chat template
    beside: dict[str, str] = field(default_factory=dict)  # file name -> text, beside the
    # gateway's profile (its priors file, if it names one)


def model_path(profile: Profile, artifact: str) -> PurePosixPath:
    """Where the engine pod reads an artifact: an hf-folder already under /models stays where
    it is; any other artifact is expected at /models/<artifact name>."""
    spec = profile.artifacts.get(artifact)
    path = getattr(spec, "path", None)
    if path is not None and PurePosixPath(str(path)).is_relative_to(MODELS):
        return PurePosixPath(str(path))
    return MODELS / artifact


def render(
    profile: Profile,
    raw: dict[str, Any],
    *,
    vllm_image: str,
    models_claim: str,
    gpus: int = 1,
    base_dir: Path | None = None,
) -> Rendered:
    """`raw` is the profile's YAML data (`profile` parsed from it); `base_dir` its folder,
    which relative chat templates are read from."""
    engines: list[dict[str, Any]] = []
    notes: list[str] = []
    templates: dict[str, str] = {}
    gateway_profile = copy.deepcopy(raw)
    by_name = {v["name"]: v for v in gateway_profile["variants"]}
    for variant in profile.variants:
        if not isinstance(variant.engine, VllmEngine):
            continue
        name = f"{variant.name}-engine"
        path = model_path(profile, variant.engine.artifact)
        served = serve_args(variant, base_dir)
        templated = "chat-template" in served
        if templated:  # read here, mounted there
            local = Path(served["chat-template"])
            text = local.read_text()
            if templates.setdefault(local.name, text) != text:
                raise ConfigError(f"two different chat templates are named {local.name}")
            served["chat-template"] = str(TEMPLATES / local.name)
        args = [f"--model={path}", f"--port={PORT}", *flags(served)]
        deployment = _deployment(name, vllm_image, args, models_claim, gpus, templated)
        engines += [deployment, _service(name)]
        by_name[variant.name]["engine"] = {
            "kind": "external",
            "url": f"http://{name}:{PORT}/v1",
            "served_model": variant.name,
            "load_metrics": "vllm",  # every replica reads the engine's own load
        }
        notes.append(f"{variant.name}: weights of artifact {variant.engine.artifact!r} at {path}")
    still_built = {
        v.engine.artifact
        for v in profile.variants
        if not isinstance(v.engine, VllmEngine) and hasattr(v.engine, "artifact")
    }
    artifacts = gateway_profile.get("artifacts") or {}
    kept = {
        name: spec
        for name, spec in artifacts.items()
        if any(name in profile.build_order(a) for a in still_built)
    }
    if kept:
        gateway_profile["artifacts"] = kept
    else:
        gateway_profile.pop("artifacts", None)
    beside = {}
    if is_priors_path(profile.routing.priors):  # read here (the loader made it absolute),
        local = Path(profile.routing.priors)  # mounted beside the gateway's profile there
        if local.name == PROFILE_FILE:
            raise ConfigError(f"the priors file may not be named {PROFILE_FILE}: rename it")
        beside[local.name] = local.read_text()
        gateway_profile["routing"]["priors"] = local.name
    return Rendered(engines, gateway_profile, notes, templates, beside)


def _labels(name: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": name, "app.kubernetes.io/component": "engine"}


def _deployment(
    name: str, image: str, args: list[str], claim: str, gpus: int, templated: bool = False
) -> dict[str, Any]:
    def probe(**more: int) -> dict[str, Any]:  # a fresh dict each (no YAML anchors)
        return {"httpGet": {"path": "/health", "port": "http"}, "periodSeconds": 10, **more}

    mounts: list[dict[str, Any]] = [
        {"name": "models", "mountPath": str(MODELS), "readOnly": True},
        {"name": "shm", "mountPath": "/dev/shm"},
    ]
    volumes: list[dict[str, Any]] = [
        {"name": "models", "persistentVolumeClaim": {"claimName": claim, "readOnly": True}},
        {"name": "shm", "emptyDir": {"medium": "Memory", "sizeLimit": "2Gi"}},
    ]
    if templated:
        mounts.append({"name": "chat-templates", "mountPath": str(TEMPLATES), "readOnly": True})
        volumes.append({"name": "chat-templates", "configMap": {"name": TEMPLATES_MAP}})
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": _labels(name)},
            "template": {
                "metadata": {
                    "labels": _labels(name),
                    "annotations": {  # vLLM's own /metrics: queue depth, KV cache use
                        "prometheus.io/scrape": "true",
                        "prometheus.io/port": str(PORT),
                        "prometheus.io/path": "/metrics",
                    },
                },
                "spec": {
                    "containers": [
                        {
                            "name": "vllm",
                            "image": image,
                            "args": args,
                            "ports": [{"name": "http", "containerPort": PORT}],
                            "readinessProbe": probe(),
                            "startupProbe": probe(failureThreshold=90),
                            "resources": {"limits": {"nvidia.com/gpu": gpus}},
                            "volumeMounts": mounts,
                        }
                    ],
                    "volumes": volumes,
                },
            },
        },
    }


def _service(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {
            "selector": _labels(name),
            "ports": [{"name": "http", "port": PORT, "targetPort": "http"}],
        },
    }
