"""Dataset prompts for the load tester."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from loadtest.datasets import load_prompts
from loadtest.workloads import Workload, word_counter
from quantgate.errors import ConfigError


@pytest.fixture
def data(tmp_path: Path) -> Path:
    (tmp_path / "mt_bench").mkdir()
    (tmp_path / "mt_bench" / "question.jsonl").write_text(
        "\n".join(
            json.dumps({"question_id": i, "turns": [f"first {i}", f"second {i}"]}) for i in range(3)
        )
    )
    (tmp_path / "gsm8k").mkdir()
    (tmp_path / "gsm8k" / "test.jsonl").write_text(
        json.dumps({"question": "2 + 2?", "answer": "#### 4"}) + "\n"
    )
    return tmp_path


def test_mt_bench_first_turns_and_gsm8k_questions(data: Path) -> None:
    assert load_prompts("mt_bench", data) == ["first 0", "first 1", "first 2"]
    assert load_prompts("gsm8k", data) == ["2 + 2?"]


def test_sharegpt_first_human_turns(tmp_path: Path) -> None:
    path = tmp_path / "sg.json"
    path.write_text(
        json.dumps(
            [
                {
                    "conversations": [
                        {"from": "human", "value": "hello"},
                        {"from": "gpt", "value": "hi"},
                    ]
                },
                {"conversations": [{"from": "gpt", "value": "only a reply"}]},
                {
                    "conversations": [
                        {"from": "system", "value": "s"},
                        {"from": "human", "value": "q2"},
                    ]
                },
            ]
        )
    )
    assert load_prompts(f"sharegpt:{path}") == ["hello", "q2"]


@pytest.mark.parametrize("spec", ["nope", "sharegpt:/no/such/file.json"])
def test_bad_sources_say_what_is_wrong(spec: str, data: Path) -> None:
    with pytest.raises(ValueError):
        load_prompts(spec, data)


def test_missing_data_dir_is_explained(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--data-dir"):
        load_prompts("gsm8k", tmp_path)


def test_the_shared_datasets_load() -> None:
    shared = Path(__file__).resolve().parents[3] / "shared" / "datasets"
    if not shared.exists():
        pytest.skip("../shared/datasets is not beside this checkout")
    assert len(load_prompts("mt_bench", shared)) == 80
    assert len(load_prompts("gsm8k", shared)) == 1319


def test_workload_cycles_through_dataset_prompts(data: Path) -> None:
    w = Workload(input_tokens=0, output_tokens=8, prompts=tuple(load_prompts("mt_bench", data)))
    assert [w.prompt(i, word_counter) for i in (0, 1, 3)] == ["first 0", "first 1", "first 0"]
