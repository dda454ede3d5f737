"""The task classifier: its features, its committed weights and what it says on clear cases."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gateway.routing.classifier import WEIGHTS, default_classifier
from gateway.routing.features import HEAD, NAMED, TAIL, features
from quantgate.vocabulary import TASKS
from training.corpus import SPLITS, build, split


def user(text: str) -> dict[str, object]:
    return {"messages": [{"role": "user", "content": text}]}


@pytest.mark.parametrize(
    ("body", "task"),
    [
        (
            user("If a train travels 60 miles in 1.5 hours, how many miles per hour is that?"),
            "math",
        ),
        (user("Could a penguin survive a summer in the Sahara desert?"), "reasoning"),
        (
            user(
                "Which gas do plants absorb?\nA. Oxygen\nB. Carbon dioxide\nC. Helium\n"
                "D. Neon\nAnswer:"
            ),
            "knowledge",
        ),
        (
            user(
                "Write a 300+ word essay about tea. Your response must be in all lowercase "
                "letters and contain at least 3 bullet points."
            ),
            "instruction",
        ),
        (
            {
                "prompt": "Input: cat\nOutput: CAT\nInput: dog\nOutput: DOG\nInput: cow\n"
                "Output: COW\nInput: pig\nOutput:"
            },
            "icl",
        ),
        (user("I took money from my little sister's piggy bank. Was I wrong?"), "ethics"),
        (
            user("Fix the bug in this code:\n```python\ndef add(a, b):\n    return a - b\n```"),
            "code",
        ),
        (
            {
                "messages": [
                    {"role": "user", "content": "Let's talk about gardening."},
                    {"role": "assistant", "content": "Sure! What would you like to grow?"},
                    {"role": "user", "content": "Tomatoes. When should I plant them?"},
                ]
            },
            "dialogue",
        ),
    ],
)
def test_clear_cases(body: dict[str, object], task: str) -> None:
    found = default_classifier().classify(body)
    assert found.task == task, found
    assert found.reasons  # it can say why


def test_features_read_a_bounded_window() -> None:
    head, middle, tail = "a" * HEAD, "Answer: B\n" * 10000, "z" * TAIL
    huge = features(user(head + middle + tail))
    assert "fewshot_answers" not in huge  # the middle is never read
    assert huge == features(user(head + "Answer: C\n" * 500 + tail)) | {
        k: v for k, v in huge.items() if k == "log_chars"
    }


def test_weights_cover_every_task_and_only_known_features() -> None:
    data = json.loads(WEIGHTS.read_text())
    assert data["classes"] == list(TASKS)
    named = {n for n in data["weights"] if not n.startswith("word:")}
    assert named <= set(NAMED)
    seen = features(user("Q: 1 + 1 = ?\nA. 2\n```py\nreturn 1;\n```\nAnswer: A\nI think?"))
    assert {n for n in seen if not n.startswith("word:")} <= set(NAMED)
    assert all(len(w) == len(TASKS) for w in data["weights"].values())


def test_splits_never_share_a_source_record() -> None:
    examples = build()
    by_split = {name: {e.source for e in split(examples, name)} for name in SPLITS}
    assert by_split["train"].isdisjoint(by_split["test"])
    assert by_split["dev"].isdisjoint(by_split["test"])
    assert {e.label for e in split(examples, "test")} == set(TASKS)


def test_committed_weights_are_what_training_produces(tmp_path: Path) -> None:
    pytest.importorskip("sklearn")
    from training.train import fit

    fresh = fit(out=tmp_path / "w.json")
    committed = json.loads(WEIGHTS.read_text())
    assert fresh["weights"] == committed["weights"], (
        "classifier.json is stale: run `python -m training.train`"
    )
