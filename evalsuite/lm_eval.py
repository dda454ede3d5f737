"""lm-evaluation-harness through the gateway: `quantgate eval --lm-eval TASKS`.

lm-eval runs in its own managed environment (`lm-eval[api]`, no torch) as a subprocess, one
variant at a time, with `local-completions` (or `local-chat-completions` for `--form chat`)
pointed at the variant's pinned name (`<model>@<variant>` through the gateway, or an endpoint's
model). Tasks are YAML files in evalsuite/lm_eval_tasks/ whose data paths are relative to the
data directory (lm-eval runs there, offline). Each task's `metadata` says how quantgate files
its results: the Qllm-Eval ability, the routing class and the chance score.

Its logged samples become this suite's `Row`s, so they land in the same samples.jsonl, summary,
report and `derive` as the suite's own tasks. lm-eval gives no token counts or logprobs over
these APIs, so its rows carry no KL or length ratio.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from evalsuite.types import Row
from quantgate.errors import ConfigError

TASK_DIR = Path(__file__).with_name("lm_eval_tasks")


@dataclass(frozen=True, kw_only=True)
class LmEvalTask:
    name: str
    ability: str
    route_task: str
    chance: float | None


def local_tasks(directory: Path = TASK_DIR) -> dict[str, LmEvalTask]:
    """The task YAMLs shipped with quantgate, by task name."""
    out = {}
    for path in sorted(directory.glob("*.yaml")):
        data = yaml.safe_load(path.read_text())
        meta = data.get("metadata") or {}
        out[data["task"]] = LmEvalTask(
            name=data["task"],
            ability=meta.get("ability", "lm-eval"),
            route_task=meta.get("route_task", "general"),
            chance=meta.get("chance"),
        )
    return out


def select(names: str) -> list[LmEvalTask]:
    known = local_tasks()
    wanted = [n.strip() for n in names.split(",") if n.strip()]
    unknown = [n for n in wanted if n not in known]
    if unknown:
        raise ConfigError(
            f"unknown lm-eval task(s) {', '.join(unknown)}; quantgate ships "
            f"{', '.join(known)} (evalsuite/lm_eval_tasks/)"
        )
    return [known[n] for n in wanted]


def command(
    python: Path,
    tasks: list[LmEvalTask],
    *,
    base_url: str,
    model: str,
    out_dir: Path,
    limit: int,
    chat: bool,
) -> list[str]:
    """The lm_eval command line for one variant."""
    path = "chat/completions" if chat else "completions"
    args = [
        f"model={model}",
        f"base_url={base_url.rstrip('/')}/{path}",
        "tokenizer_backend=None",
        "num_concurrent=1",
        "max_retries=1",
        "timeout=600",
    ]
    argv = [str(python), "-m", "lm_eval", "--model"]
    argv += ["local-chat-completions" if chat else "local-completions"]
    argv += ["--model_args", ",".join(args), "--tasks", ",".join(t.name for t in tasks)]
    argv += ["--include_path", str(TASK_DIR), "--output_path", str(out_dir), "--log_samples"]
    argv += ["--seed", "0"]
    if limit > 0:
        argv += ["--limit", str(limit)]
    if chat:
        argv += ["--apply_chat_template"]
    return argv


def environment(cache: Path, api_key: str | None = None) -> dict[str, str]:
    """Offline: the datasets come from local files, nothing from a hub. lm-eval's
    local-completions sends OPENAI_API_KEY as its bearer token: the endpoint's key, or none."""
    env = dict(os.environ)
    env.update(HF_DATASETS_OFFLINE="1", HF_HUB_OFFLINE="1", HF_HOME=str(cache))
    env.update(TOKENIZERS_PARALLELISM="false", OPENAI_API_KEY=api_key or "")
    return env


def run(
    python: Path,
    tasks: list[LmEvalTask],
    *,
    variant: str,
    base_url: str,
    model: str,
    run_dir: Path,
    data_dir: Path,
    limit: int,
    chat: bool,
    cache: Path,
    api_key: str | None = None,
) -> list[Row]:
    """Run lm-eval for one variant (its output and log under run_dir/lm-eval/<variant>)."""
    out_dir = (run_dir / "lm-eval" / variant).resolve()  # lm-eval runs in the data dir
    out_dir.mkdir(parents=True, exist_ok=True)
    argv = command(
        python, tasks, base_url=base_url, model=model, out_dir=out_dir, limit=limit, chat=chat
    )
    with (out_dir / "lm_eval.log").open("w") as log:
        done = subprocess.run(
            argv,
            cwd=data_dir,
            env=environment(cache, api_key),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    if done.returncode != 0:
        tail = (out_dir / "lm_eval.log").read_text().splitlines()[-15:]
        raise ConfigError(
            f"lm-eval failed for {variant} (exit {done.returncode}); last lines of "
            f"{out_dir / 'lm_eval.log'}:\n" + "\n".join(tail)
        )
    rows = []
    for task in tasks:
        found = sorted(out_dir.rglob(f"samples_{task.name}_*.jsonl"))
        if not found:
            raise ConfigError(f"lm-eval wrote no samples for {task.name} in {out_dir}")
        rows += rows_from_samples(found[-1], task, variant)
    return rows


def rows_from_samples(path: Path, task: LmEvalTask, variant: str) -> list[Row]:
    """lm-eval's logged samples (one line per document and filter) as rows: the first filter
    is the answer; its `exact_match` (or first metric) the score."""
    lines = [json.loads(x) for x in path.read_text().splitlines() if x.strip()]
    first_filter = lines[0].get("filter") if lines else None
    rows = []
    for s in lines:
        if s.get("filter") != first_filter:
            continue
        metric = "exact_match" if "exact_match" in s else (s.get("metrics") or [None])[0]
        score = s.get(metric) if metric else None
        rows.append(
            Row(
                task=task.name,
                ability=task.ability,
                route_task=task.route_task,
                variant=variant,
                sample=f"{task.name}:{s['doc_id']}",
                target=s.get("target"),
                prompt=_prompt(s),
                response=_first(s.get("resps")),
                parsed=_first(s.get("filtered_resps")),
                score=float(score) if score is not None else None,
                extra={"scored_by": f"lm-eval {metric} ({first_filter})"},
                chance=task.chance,
            )
        )
    return rows


def _first(value: Any) -> Any:
    while isinstance(value, list) and value:
        value = value[0]
    return value if not isinstance(value, list) else None


def _prompt(sample: dict[str, Any]) -> str:
    args = sample.get("arguments")
    if isinstance(args, dict):  # {"gen_args_0": {"arg_0": prompt, "arg_1": {...}}}
        first: Any = next(iter(args.values()), {})
        if isinstance(first, dict):
            return str(first.get("arg_0", ""))
    if isinstance(args, list) and args:
        return str(_first(args))
    return ""
