"""Run a worker script in a managed environment, its output going to the build log."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import IO, Any

from quantgate.envs import ensure_env
from quantgate.errors import BuildError

WORKERS = Path(__file__).resolve().parents[1] / "workers"


def run_worker(env: str, script: str, job: dict[str, Any], out: Path, log: IO[str]) -> None:
    def announce(message: str) -> None:
        log.write(message + "\n")
        log.flush()

    python = ensure_env(env, announce=announce)
    job_path = out.with_name(out.name + ".job.json")
    job_path.write_text(json.dumps(job))
    log.write(f"$ {python} {WORKERS / script} {job_path}\n")
    log.flush()
    env_vars = {
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "PATH": "/usr/bin:/bin",
    }
    done = subprocess.run(
        [str(python), str(WORKERS / script), str(job_path)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env_vars,
        check=False,
    )
    job_path.unlink(missing_ok=True)
    if done.returncode != 0:
        raise BuildError(f"{script} exited with {done.returncode}")
