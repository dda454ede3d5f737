"""Prompt tokens with each variant's own tokenizer, counted once per request.

Variants built from one source share its tokenizer (requantization and dequantization keep
the vocabulary; tests check the GGUF-built and the dequantized HF tokenizers against llama.cpp
token for token on ~2,500 prompts),
so a profile usually has one tokenizer and a request is tokenized once. Chat messages are
rendered the way the variant's engine renders them (llama-cpp-python's `chat_format`, or the
vLLM variant's Jinja chat template) before counting. External variants, whose tokenizer we do
not have, get an estimate (4 characters per token), flagged as such.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway.routing.features import view
from gateway.routing.pieces import PieceCounter
from quantgate.artifact import Artifact
from quantgate.chat import llamacpp_messages, text_of
from quantgate.locations import default_root
from quantgate.profile import (
    ExternalEngine,
    LlamaCppEngine,
    Profile,
    Variant,
    VllmEngine,
    resolve_path,
)

Render = Callable[[list[dict[str, Any]]], str]


class Tokenizer:
    """Counts the tokens of a text; `exact` is False for the character estimate."""

    key: str = "estimate"
    exact: bool = False

    def count(self, text: str) -> int:
        return max(1, len(text) // 4)

    def bounds(self, chars: int, size: int) -> tuple[int, int] | None:
        """The fewest and the most tokens a text of `chars` characters and `size` UTF-8
        bytes can count, when that is known without reading it (the estimate: its count)."""
        n = max(1, chars // 4)
        return n, n


class GgufTokenizer(Tokenizer):
    """A GGUF's tokenizer: Rust `tokenizers` built from its SentencePiece vocabulary (token
    for token what llama.cpp gives, ~6x faster: quantgate/gguf_tokenizer.py), cached as
    tokenizer.json; llama.cpp's own for other vocabularies. Loaded once (`load`, which
    `quantgate serve` calls before it accepts requests)."""

    exact = True

    def __init__(self, path: Path, cache_dir: Path | None = None) -> None:
        self.key, self.path = f"gguf:{path}", path
        self.cache_dir = cache_dir or default_root() / "tokenizers"
        self.kind = ""  # "tokenizers" or "llama.cpp", once loaded
        self._count: Callable[[str], int] | None = None
        self._lock = threading.Lock()

    def load(self, fast: bool = True, pieces: bool = True) -> GgufTokenizer:
        """Load once; `fast=False` keeps llama.cpp's tokenizer, `pieces=False` counts whole
        texts with the fast one (the benchmark's baselines)."""
        with self._lock:
            if self._count is None:
                self._count = (fast and self._fast(pieces)) or self._llamacpp()
        return self

    def count(self, text: str) -> int:
        return (self._count or self.load()._count)(text)  # type: ignore[misc]

    def bounds(self, chars: int, size: int) -> tuple[int, int] | None:
        return piece_bounds(self._count or self.load()._count, size)

    def _fast(self, pieces: bool) -> Callable[[str], int] | None:
        from tokenizers import Tokenizer as Fast

        from quantgate.gguf_tokenizer import FORMAT, write_tokenizer

        stat = self.path.stat()
        source = f"{self.path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{FORMAT}"
        tag = hashlib.sha256(source.encode())
        cached = self.cache_dir / f"{self.path.stem}-{tag.hexdigest()[:12]}.json"
        if not cached.exists():
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            try:
                write_tokenizer(self.path, cached)
            except ValueError:  # not a SentencePiece vocabulary
                return None
        self.kind = "tokenizers"
        return whole_or_pieces(Fast.from_file(str(cached)), pieces)

    def _llamacpp(self) -> Callable[[str], int]:
        # the vocabulary alone (no weights, no context): ~0.7 s and ~90 MB once;
        # llama-cpp-python's model wrapper (pinned 0.3.36), since `Llama` would also create a
        # context
        import llama_cpp
        from llama_cpp import _internals

        params = llama_cpp.llama_model_default_params()
        params.vocab_only = True
        vocab = _internals.LlamaModel(path_model=str(self.path), params=params, verbose=False)
        self.kind = "llama.cpp"
        return lambda text: len(vocab.tokenize(text.encode(), True, True))


class HfTokenizer(Tokenizer):
    exact = True

    def __init__(self, path: Path) -> None:
        from tokenizers import Tokenizer as Fast

        self.key = f"hf:{path}"
        self._count = whole_or_pieces(Fast.from_file(str(path)))

    def count(self, text: str) -> int:
        return self._count(text)

    def bounds(self, chars: int, size: int) -> tuple[int, int] | None:
        return piece_bounds(self._count, size)


def piece_bounds(count: Any, size: int) -> tuple[int, int] | None:
    """Bounds where the counter is a PieceCounter, whose shape is known (see its `bounds`)."""
    return count.bounds(size) if isinstance(count, PieceCounter) else None


def whole_or_pieces(fast: Any, pieces: bool = True) -> Callable[[str], int]:
    """A `tokenizers` tokenizer's count: piece by piece when its shape allows (exact, and
    most pieces are remembered: gateway/routing/pieces.py), else the whole text at once
    (encode_batch_fast skips the offsets: ~35% faster on a 4k-token prompt, same ids)."""
    counter = PieceCounter.for_tokenizer(fast) if pieces else None
    return counter or (lambda text: len(fast.encode_batch_fast([text])[0].ids))


def render_plain(messages: list[dict[str, Any]]) -> str:
    return "\n".join(f"{m.get('role', 'user')}: {text_of(m)}" for m in messages)


def render_llamacpp(chat_format: str) -> Render:
    from llama_cpp import llama_chat_format

    formatter = getattr(llama_chat_format, "format_" + chat_format.replace("-", ""), None)
    if formatter is None:
        return render_plain

    def render(messages: list[dict[str, Any]]) -> str:
        flat = [{"role": m.get("role", "user"), "content": text_of(m)} for m in messages]
        return str(formatter(messages=llamacpp_messages(chat_format, flat)).prompt)

    return render


def render_jinja(path: Path) -> Render:
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    template = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True).from_string(
        path.read_text()
    )

    def render(messages: list[dict[str, Any]]) -> str:
        flat = [{"role": m.get("role", "user"), "content": text_of(m)} for m in messages]
        return template.render(messages=flat, add_generation_prompt=True, bos_token="")

    return render


@dataclass(frozen=True)
class Counter:
    tokenizer: Tokenizer
    render: Render
    render_key: str


FRAMES = 1024  # role sequences whose rendered frame is remembered (the cache restarts when full)


class PromptCounter:
    """Per variant: how to render a request and which tokenizer counts it."""

    def __init__(self, counters: Mapping[str, Counter]) -> None:
        self.counters = dict(counters)
        # (rendering, roles) -> what the rendering adds to the messages' text (characters,
        # bytes), or None when it does not simply add to it
        self._frames: dict[tuple[str, tuple[str, ...]], tuple[int, int] | None] = {}

    def load(self) -> dict[str, str]:
        """Load every tokenizer now (not on the first request); tokenizer key -> kind."""
        loaded = {}
        for c in self.counters.values():
            if isinstance(c.tokenizer, GgufTokenizer) and c.tokenizer.key not in loaded:
                loaded[c.tokenizer.key] = c.tokenizer.load().kind
        return loaded

    def exact(self, variant: str) -> bool:
        return self.counters[variant].tokenizer.exact

    def count(
        self, body: dict[str, Any], variants: Collection[str] | None = None
    ) -> dict[str, int]:
        """Prompt tokens per variant (all, or those named); each (tokenizer, rendering) pair
        is counted once."""
        messages, completion = view(body)
        memo: dict[tuple[str, str], int] = {}
        out = {}
        for variant, c in self.counters.items():
            if variants is not None and variant not in variants:
                continue
            key = (c.tokenizer.key, "completion" if completion else c.render_key)
            if key not in memo:
                text = text_of(messages[0]) if completion else c.render(messages)
                memo[key] = c.tokenizer.count(text)
            out[variant] = memo[key]
        return out

    def bounds(self, body: dict[str, Any]) -> dict[str, tuple[int, int]] | None:
        """Per variant, the fewest and the most prompt tokens this request can count, from
        its size alone (no tokenizer runs); None when some variant's are not known."""
        messages, completion = view(body)
        texts = [text_of(m) for m in messages]
        chars = sum(map(len, texts))
        size = sum(len(t) if t.isascii() else len(t.encode()) for t in texts)
        roles = () if completion else tuple(str(m.get("role", "user")) for m in messages)
        out = {}
        memo: dict[tuple[str, str], tuple[int, int] | None] = {}  # variants share these
        for variant, c in self.counters.items():
            key = (c.tokenizer.key, c.render_key)
            if key not in memo:
                frame = (0, 0) if completion else self._frame(c, roles)
                memo[key] = frame and c.tokenizer.bounds(chars + frame[0], size + frame[1])
            found = memo[key]
            if not found:
                return None
            out[variant] = found
        return out

    def _frame(self, c: Counter, roles: tuple[str, ...]) -> tuple[int, int] | None:
        """What `c.render` adds to the text of messages with these roles: (characters,
        bytes); None unless two probes show that it adds just that (each message's text
        once, as it is, and the same frame around a short text and a longer one)."""
        key = (c.render_key, roles)
        if key in self._frames:
            return self._frames[key]
        frames = []
        for probe in PROBES:
            try:
                text = c.render([{"role": r, "content": probe} for r in roles])
            except Exception:  # a template that refuses these roles: counting will say so
                break
            if text.count(probe) != len(roles):
                break
            frames.append(text.replace(probe, ""))
        same = len(frames) == len(PROBES) and len(set(frames)) == 1
        found = (len(frames[0]), len(frames[0].encode())) if same else None
        if len(self._frames) >= FRAMES:
            self._frames.clear()
        self._frames[key] = found
        return found


# texts no template holds, one short and one longer (a frame that changes with the text's
# length, or a text rendered twice or not at all, is not a frame)
PROBES = ("\u2603\u2604", "\u2603\u2604 \u2603\u2604 \u2603")


def prompt_counter(
    profile: Profile, artifacts: Mapping[str, Artifact] | None = None, base_dir: Path | None = None
) -> PromptCounter:
    """Counters for every variant; `artifacts` are the built files by artifact name."""
    tokenizers: dict[str, Tokenizer] = {}
    counters = {}
    for variant in profile.variants:
        tokenizer = _tokenizer(profile, variant, artifacts or {}, base_dir)
        tokenizer = tokenizers.setdefault(tokenizer.key, tokenizer)
        render, key = _renderer(variant, base_dir)
        counters[variant.name] = Counter(tokenizer, render, key)
    return PromptCounter(counters)


def _tokenizer(
    profile: Profile, variant: Variant, artifacts: Mapping[str, Artifact], base_dir: Path | None
) -> Tokenizer:
    engine = variant.engine
    if isinstance(engine, ExternalEngine):
        return Tokenizer()
    if engine.artifact in profile.artifacts:
        root = profile.build_order(engine.artifact)[0]  # the source the chain starts from
        found = artifacts.get(root)
        if found is None:
            return Tokenizer()
        path = found.path
    else:
        path = resolve_path(engine.artifact, base_dir)
    if path.suffix == ".gguf":
        return GgufTokenizer(path)
    if (path / "tokenizer.json").exists():
        return HfTokenizer(path / "tokenizer.json")
    return Tokenizer()


def _renderer(variant: Variant, base_dir: Path | None) -> tuple[Render, str]:
    engine = variant.engine
    if isinstance(engine, LlamaCppEngine) and engine.args.get("chat_format"):
        name = str(engine.args["chat_format"])
        return render_llamacpp(name), f"llamacpp:{name}"
    if isinstance(engine, VllmEngine) and engine.chat_template and base_dir is not None:
        path = resolve_path(engine.chat_template, base_dir)
        return render_jinja(path), f"jinja:{path}"
    return render_plain, "plain"
