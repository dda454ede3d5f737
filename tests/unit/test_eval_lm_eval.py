"""The lm-evaluation-harness adapter: its command line, its shipped tasks, its samples as rows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from evalsuite import lm_eval
from quantgate.data import data_dir
from quantgate.errors import ConfigError
from quantgate.vocabulary import TASKS


def test_shipped_tasks_read_local_data_and_file_their_results() -> None:
    tasks = lm_eval.local_tasks()
    assert {"quantgate_lambada", "quantgate_arc_easy"} <= set(tasks)
    for path in lm_eval.TASK_DIR.glob("*.yaml"):
        data = yaml.safe_load(path.read_text())
        for relative in data["dataset_kwargs"]["data_files"].values():
            assert (data_dir() / relative).is_file(), relative  # relative to the data dir
        assert data["metadata"]["route_task"] in TASKS
    assert tasks["quantgate_arc_easy"].chance == 0.25


def test_unknown_tasks_are_named() -> None:
    with pytest.raises(ConfigError, match=r"nope.*quantgate_lambada"):
        lm_eval.select("quantgate_lambada,nope")


def test_command_pins_the_variant_and_stays_offline(tmp_path: Path) -> None:
    tasks = lm_eval.select("quantgate_lambada")
    argv = lm_eval.command(
        Path("/env/bin/python"),
        tasks,
        base_url="http://127.0.0.1:9/v1/",
        model="gemma3-270m@q8_0",
        out_dir=tmp_path,
        limit=100,
        chat=False,
    )
    args = argv[argv.index("--model_args") + 1]
    assert argv[argv.index("--model") + 1] == "local-completions"
    assert "model=gemma3-270m@q8_0" in args and "base_url=http://127.0.0.1:9/v1/completions" in args
    assert argv[argv.index("--limit") + 1] == "100" and "--log_samples" in argv
    chat = lm_eval.command(
        Path("p"), tasks, base_url="u", model="m", out_dir=tmp_path, limit=0, chat=True
    )
    assert "local-chat-completions" in chat and "--limit" not in chat
    env = lm_eval.environment(tmp_path)
    assert env["HF_DATASETS_OFFLINE"] == "1" and env["HF_HUB_OFFLINE"] == "1"


def test_logged_samples_become_rows(tmp_path: Path) -> None:
    samples = tmp_path / "samples_quantgate_lambada_2026.jsonl"
    lines = [
        {
            "doc_id": i,
            "target": "signs",
            "arguments": {"gen_args_0": {"arg_0": f"passage {i}", "arg_1": {}}},
            "resps": [[" signs of"]] if i else [[" nothing"]],
            "filtered_resps": ["signs"] if i else ["nothing"],
            "filter": "first_word",
            "metrics": ["exact_match"],
            "exact_match": float(i > 0),
        }
        for i in range(3)
    ]
    lines.append({**lines[0], "filter": "another"})  # a second filter's line is not a sample
    samples.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    task = lm_eval.local_tasks()["quantgate_lambada"]
    rows = lm_eval.rows_from_samples(samples, task, "q8_0")
    assert [r.score for r in rows] == [0.0, 1.0, 1.0]
    first = rows[0]
    assert (first.task, first.route_task, first.variant) == ("quantgate_lambada", "general", "q8_0")
    assert first.sample == "quantgate_lambada:0" and first.prompt == "passage 0"
    assert first.parsed == "nothing" and first.response == " nothing" and first.chance == 0.0


def test_output_goes_to_the_run_directory_even_when_it_is_relative(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """lm-eval runs in the data directory: a relative run directory must not land there."""
    seen: dict[str, object] = {}

    def fake_run(argv: list[str], **kwargs: object) -> object:
        seen.update(argv=argv, cwd=kwargs["cwd"])
        out = Path(argv[argv.index("--output_path") + 1])
        (out / "model").mkdir(parents=True, exist_ok=True)
        sample = {"doc_id": 0, "target": "x", "resps": [["x"]], "filtered_resps": ["x"]}
        sample |= {"filter": "first_word", "exact_match": 1.0}
        (out / "model" / "samples_quantgate_lambada_1.jsonl").write_text(json.dumps(sample))
        return type("Done", (), {"returncode": 0})()

    monkeypatch.setattr(lm_eval.subprocess, "run", fake_run)
    monkeypatch.chdir(tmp_path)
    rows = lm_eval.run(
        Path("python"),
        lm_eval.select("quantgate_lambada"),
        variant="v",
        base_url="http://x/v1",
        model="m",
        run_dir=Path("runs/r"),
        data_dir=data_dir(),
        limit=1,
        chat=False,
        cache=tmp_path,
    )
    argv = seen["argv"]
    assert isinstance(argv, list)
    output = Path(argv[argv.index("--output_path") + 1])
    assert output.is_absolute() and output == tmp_path / "runs" / "r" / "lm-eval" / "v"
    assert [r.score for r in rows] == [1.0]
