"""The tokenizer built from a GGUF's vocabulary gives llama.cpp's tokens, and the gateway's
prompt counter uses it."""

from __future__ import annotations

import random
from pathlib import Path

import llama_cpp
import pytest
from tokenizers import Tokenizer

from gateway.routing.pieces import PieceCounter
from gateway.routing.tokens import GgufTokenizer
from quantgate.gguf_tokenizer import write_tokenizer
from quantgate.profile import load_profile
from quantize.build import build_profile
from quantize.cache import ArtifactCache
from tests.integration.tokenizer_texts import texts

pytestmark = pytest.mark.integration

PROFILE = Path(__file__).resolve().parents[2] / "profiles" / "demo-llamacpp.yaml"
CHAT = "<start_of_turn>user\nWhat is 2 + 2?<end_of_turn>\n<start_of_turn>model\n"


@pytest.fixture(scope="module")
def gguf() -> Path:
    built = build_profile(load_profile(PROFILE), ArtifactCache(), names=["release"])
    return Path(built["release"].entry.path)


def test_tokens_are_llamacpps_on_every_kind_of_prompt(gguf: Path, tmp_path: Path) -> None:
    fast = Tokenizer.from_file(str(write_tokenizer(gguf, tmp_path / "tokenizer.json")))
    model = llama_cpp.Llama(str(gguf), vocab_only=True, verbose=False)
    # the chat template's control tokens are parsed, as the engine does; a `▁` typed in a text
    # stays itself beside runs of spaces
    cases = [*texts(), CHAT, "a\u2581  b", "\u2581\u2581   x \u2581"]
    assert len(cases) > 2000
    differ = [
        text
        for text in cases
        if fast.encode(text).ids != model.tokenize(text.encode(), add_bos=True, special=True)
    ]
    assert differ == [], f"{len(differ)} of {len(cases)} differ, e.g. {differ[0][:80]!r}"
    turn = fast.token_to_id("<start_of_turn>")
    assert fast.encode(CHAT).ids.count(turn) == 2  # a control token is one token


def test_prompt_counter_uses_it_and_caches_it(gguf: Path, tmp_path: Path) -> None:
    counter = GgufTokenizer(gguf, cache_dir=tmp_path)
    assert counter.load().kind == "tokenizers"
    assert [p.suffix for p in tmp_path.iterdir()] == [".json"]  # nothing half-written
    model = llama_cpp.Llama(str(gguf), vocab_only=True, verbose=False)
    text = "A highly unusual prompt, counted twice."
    assert counter.count(text) == len(model.tokenize(text.encode(), add_bos=True, special=True))
    again = GgufTokenizer(gguf, cache_dir=tmp_path)
    assert again.load().kind == "tokenizers" and again.count(text) == counter.count(text)
    # the counter sums remembered pieces (gateway/routing/pieces.py): what llama.cpp counts,
    # on every prompt, twice (the second time from what it remembers), and on texts made of
    # what decides the cuts: spaces and their runs, `▁`, the glue (Gemma's `>▁</`), newlines;
    # digits are all counted as 0 but where an added token with a digit may be (`<unused12>`)
    assert isinstance(counter._count, PieceCounter) and counter._count.glue == {">"}
    assert counter._count._digit_added == ["</h", "<h", "<unused"]
    rng = random.Random(0)
    awkward = [" ", "  ", "\u2581", ">", "</", "a", "<b>", "\n", "\t", "é", "🙂", "1", "x y"]
    awkward += ["07", "9", "<unused", "<unused12>", "<h1>", "</h2>", "h"]
    cases = texts() + ["".join(rng.choices(awkward, k=rng.randrange(30))) for _ in range(2000)]
    expected = [len(model.tokenize(t.encode(), add_bos=True, special=True)) for t in cases]
    assert [counter.count(t) for t in cases] == expected
    assert [counter.count(t) for t in cases] == expected


def test_a_vocabulary_that_is_not_sentencepiece_is_refused(tmp_path: Path) -> None:
    from quantgate.gguf_tokenizer import tokenizer_json, vocabulary

    with pytest.raises(ValueError, match="not SentencePiece"):
        vocabulary(_gpt2_vocab(tmp_path))
    assert tokenizer_json  # the builder itself is exercised above


def _gpt2_vocab(tmp_path: Path) -> Path:
    import gguf as gguf_lib
    import numpy

    path = tmp_path / "gpt2-vocab.gguf"
    writer = gguf_lib.GGUFWriter(str(path), "llama")
    writer.add_tokenizer_model("gpt2")
    writer.add_token_list(["a", "b"])
    writer.add_tensor("x", numpy.zeros(4, dtype=numpy.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def test_a_decision_made_without_counting_is_the_one_counting_makes(gguf: Path) -> None:
    """The router counts a prompt only when its count could change the decision: its bounds
    (from the size alone) hold every exact count, and where the decisions at both bounds
    agree, the decision is the one the exact count makes, near the band edges and the context
    limit too."""
    from gateway.engines.base import Artifact
    from gateway.routing.router import Hints, Router
    from gateway.routing.tokens import prompt_counter

    profile = load_profile(PROFILE)
    roots = sorted({profile.build_order(n)[0] for n in profile.artifacts})
    built = build_profile(profile, ArtifactCache(), names=roots)
    artifacts = {n: Artifact(Path(b.entry.path), b.entry.info) for n, b in built.items()}
    counter = prompt_counter(profile, artifacts, PROFILE.parent)
    router = Router(profile, counter)
    rng = random.Random(1)
    words = " ".join(texts()).split()
    bodies = []
    for text in texts()[::4]:
        bodies.append({"messages": [{"role": "user", "content": text}], "max_tokens": 64})
        bodies.append({"prompt": text, "max_tokens": 16})
    for _ in range(300):  # every length up to past the largest context, in chats of 1-4 turns
        turns = rng.randrange(1, 5)
        size = rng.randrange(1, 9000 // turns)
        chat = [
            {
                "role": "user" if i % 2 == 0 else "assistant",
                "content": " ".join(rng.choices(words, k=size)),
            }
            for i in range(turns * 2 - 1)
        ]
        bodies.append({"messages": chat, "max_tokens": rng.choice([16, 256, 1024])})
    without = 0
    for body in bodies:
        exact = counter.count(body)
        span = counter.bounds(body)
        assert span is not None
        assert all(span[v][0] <= n <= span[v][1] for v, n in exact.items()), body
        try:
            counted = router.route(body, Hints(), tokens=exact).decision
        except Exception as refused:
            with pytest.raises(type(refused)):
                router.route(body, Hints())
            continue
        routed = router.route(body, Hints())
        without += not routed.tokens
        assert (routed.decision.band, routed.decision.order, routed.decision.summary) == (
            counted.band,
            counted.order,
            counted.summary,
        )
    # most short prompts are decided without counting, long ones near an edge are counted
    assert 0.3 * len(bodies) < without < len(bodies)
