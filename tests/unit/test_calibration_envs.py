"""Calibration samples and managed environments."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from quantgate import envs
from quantgate.errors import BuildError
from quantgate.profile.schema import Calibration
from quantize.calibration import sample_texts


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    records = [{"question": f"Question {i}?", "facts": [f"Fact {i}."]} for i in range(50)]
    (tmp_path / "strategyqa").mkdir()
    (tmp_path / "strategyqa" / "train.json").write_text(json.dumps(records))
    monkeypatch.setenv("QUANTGATE_DATA_DIR", str(tmp_path))
    return tmp_path


def test_sample_is_seeded_and_drawn_from_the_train_split(data_dir: Path) -> None:
    first = sample_texts(Calibration(samples=10, seed=1))
    assert first == sample_texts(Calibration(samples=10, seed=1))
    assert first != sample_texts(Calibration(samples=10, seed=2))
    assert len(set(first)) == 10
    assert all(t.startswith("Fact ") and t.endswith("?") for t in first)


def test_long_texts_are_cut_to_about_max_seq_len(data_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "mine.txt"
    path.write_text("\n".join(["word " * 1000] * 3))
    texts = sample_texts(Calibration(dataset="file", path=str(path), samples=3, max_seq_len=16))
    assert all(len(t) == 64 for t in texts)


def test_a_users_jsonl_file(tmp_path: Path) -> None:
    path = tmp_path / "cal.jsonl"
    path.write_text("\n".join(json.dumps({"text": f"text {i}"}) for i in range(5)))
    texts = sample_texts(Calibration(dataset="file", path=str(path), samples=5))
    assert sorted(texts) == [f"text {i}" for i in range(5)]


@pytest.mark.parametrize(
    ("cal", "message"),
    [
        (Calibration(samples=500), "only 50 texts available, 500 requested"),
        (Calibration(dataset="file"), "needs a `path`"),
        (Calibration(dataset="file", path="/nonexistent/x.txt"), "calibration file"),
    ],
)
def test_calibration_problems_are_build_errors(
    data_dir: Path, cal: Calibration, message: str
) -> None:
    with pytest.raises(BuildError, match=message):
        sample_texts(cal)


def test_missing_data_dir_says_how_to_fix_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QUANTGATE_DATA_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(BuildError, match="set QUANTGATE_DATA_DIR"):
        sample_texts(Calibration())


def test_an_environment_with_a_current_stamp_is_reused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QUANTGATE_CACHE", str(tmp_path))
    spec = envs.EnvSpec(requirements=["nothing-real==0"])
    monkeypatch.setitem(envs.ENVS, "fake", spec)
    root = envs.env_dir("fake")
    (root / "bin").mkdir(parents=True)
    (root / "bin" / "python").write_text("")
    (root / ".quantgate-env").write_text(envs.stamp_of(spec))
    assert envs.ensure_env("fake") == root / "bin" / "python"
