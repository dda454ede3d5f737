"""The profile loader: valid profiles load; every problem names file, field, expectation."""

from __future__ import annotations

from pathlib import Path

import pytest

from quantgate.errors import ProfileError
from quantgate.profile import load_profile, parse_profile
from tests.unit.conftest import PROFILE

REPO = Path(__file__).resolve().parents[2]


def problems(text: str) -> list[str]:
    with pytest.raises(ProfileError) as info:
        parse_profile(text, source="p.yaml")
    assert str(info.value).startswith("p.yaml: invalid profile")
    return info.value.problems


def test_valid_profile_loads_with_defaults() -> None:
    p = parse_profile(PROFILE)
    assert p.model_ids() == ["demo", "demo@ref", "demo@w8", "demo@w4"]
    assert p.variant("w4").quant.label == "W4A16KV16"
    assert p.routing.tolerance == 0.1  # set by the fixture; the default is 0.02
    assert parse_profile(PROFILE.replace("routing: {tolerance: 0.1}", "")).routing.tolerance == 0.02
    assert [b.max_tokens for b in p.routing.bands] == [1024, 4096, None]


@pytest.mark.parametrize("path", sorted((REPO / "profiles").glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_profiles_are_valid(path: Path) -> None:
    assert load_profile(path).variants


def test_field_errors_name_the_variant_and_the_field() -> None:
    found = problems(
        "model: m\ndefault_variant: a\nvariants:\n"
        " - name: a\n   engine: {kind: llamacp, artifact: x}\n"
        " - name: b\n   engine: {kind: external, url: nope}\n   quant: {w_bits: -1, wbits: 4}\n"
    )
    assert found[0] == (
        "variants[0:a].engine: unknown kind; expected one of 'external', 'llamacpp', 'vllm'"
    )
    assert found[1].startswith("variants[1:b].engine.url: Input should be a valid URL")
    assert found[2] == "variants[1:b].quant.w_bits: Input should be greater than 0 (got -1)"
    assert found[3] == "variants[1:b].quant.wbits: unknown field (a typo?)"


def test_missing_fields_are_named() -> None:
    assert problems("model: m\n") == [
        "variants: required field is missing",
        "default_variant: required field is missing",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "model: m\ndefault_variant: z\nvariants:\n - {name: a, engine: {kind: external, "
            "url: 'http://x/v1'}}\n",
            "default_variant 'z' is not a variant; variants are: a",
        ),
        (
            "model: m\ndefault_variant: a\nvariants:\n - {name: a, engine: {kind: external, "
            "url: 'http://x/v1'}}\n - {name: a, engine: {kind: external, url: 'http://y/v1'}}\n",
            "variant names must be unique; repeated: a",
        ),
        (
            "model: m\ndefault_variant: a\nvariants:\n - {name: a, engine: {kind: external, "
            "url: 'http://x/v1'}}\nrouting: {bands: [{name: s, max_tokens: null}, "
            "{name: l, max_tokens: 10}]}\n",
            "routing.bands: only the last band may be open (max_tokens: null)",
        ),
        (  # a misspelt task used to be ignored silently by routing
            "model: m\ndefault_variant: a\nvariants:\n - {name: a, engine: {kind: external, "
            "url: 'http://x/v1'}}\nrouting: {rules: [{task: maths, band: short, variant: a, "
            "quality: 1, evidence: {source: prior, ref: x}}]}\n",
            "routing.rules[0].task: task 'maths' is not one of math, reasoning, knowledge, "
            "instruction, icl, dialogue, ethics, code, general",
        ),
        (
            "model: m\ndefault_variant: a\nvariants:\n - {name: a, engine: {kind: external, "
            "url: 'http://x/v1'}, bands: [lengthy]}\n",
            "variant a: band 'lengthy' is not one of ['long', 'medium', 'short']",
        ),
    ],
)
def test_cross_field_errors(text: str, expected: str) -> None:
    assert problems(text) == [expected]


def test_yaml_syntax_error_gives_line_and_column() -> None:
    (found,) = problems("model: m\nvariants: [\n")
    assert found.startswith("not valid YAML: line 3, column 1")


@pytest.mark.parametrize("text", ["", "- a\n- b\n", "just a string"])
def test_non_mapping_is_rejected(text: str) -> None:
    (found,) = problems(text)
    assert found.startswith("expected a mapping")


def test_unreadable_file_is_a_profile_error(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="cannot read the file"):
        load_profile(tmp_path / "missing.yaml")


def test_profile_paths_resolve_from_the_profile_folder(tmp_path: Path) -> None:
    from quantgate.profile import resolve_path

    assert resolve_path("t/x.jinja", tmp_path) == tmp_path / "t" / "x.jinja"
    assert resolve_path("/abs/m.gguf", tmp_path) == Path("/abs/m.gguf")
    assert resolve_path("~/m.gguf", tmp_path) == Path.home() / "m.gguf"
    assert resolve_path("m.gguf", None) == Path.cwd() / "m.gguf"


def test_rebased_paths_name_the_same_files_and_names_stay_names() -> None:
    from quantgate.profile.paths import rebase_paths

    engine = {"kind": "vllm", "artifact": "hf", "chat_template": "t/x.jinja"}
    data = {
        "artifacts": {
            "hf": {"kind": "hf-folder", "path": "models/hf"},
            "w4": {"kind": "gptq", "source": "hf", "calibration": {"path": "cal.jsonl"}},
        },
        "variants": [
            {"name": "a", "engine": engine},
            {"name": "b", "engine": engine},  # a YAML alias: one mapping, rewritten once
            {"name": "c", "engine": {"kind": "llamacpp", "artifact": "/abs/m.gguf"}},
            {"name": "d", "engine": {"kind": "llamacpp", "artifact": "m.gguf"}},
        ],
        "routing": {"priors": "my-priors.yaml"},
    }
    rewritten = rebase_paths(data, Path("/p/profiles"), Path("/p/out/deep"))
    assert sorted(rewritten) == ["cal.jsonl", "m.gguf", "models/hf", "my-priors.yaml", "t/x.jinja"]
    assert engine == {"kind": "vllm", "artifact": "hf", "chat_template": "../../profiles/t/x.jinja"}
    assert data["artifacts"]["hf"]["path"] == "../../profiles/models/hf"
    assert data["artifacts"]["w4"]["calibration"]["path"] == "../../profiles/cal.jsonl"
    assert [v["engine"]["artifact"] for v in data["variants"][2:]] == [
        "/abs/m.gguf",
        "../../profiles/m.gguf",
    ]
    assert data["routing"]["priors"] == "../../profiles/my-priors.yaml"
    named = {"routing": {"priors": "qllm-eval"}}  # shipped priors: a name
    assert rebase_paths(named, Path("/p/profiles"), Path("/p/out")) == []


def test_w4_weight_options_and_stable_cache_keys() -> None:
    from quantgate.profile.schema import LlmCompressor
    from quantize.cache import ArtifactCache

    plain = {"kind": "llmcompressor", "source": "hf", "scheme": "W4A16", "method": "gptq"}
    recipe = LlmCompressor.model_validate(plain)
    assert "weights" not in recipe.model_dump(mode="json")  # keys of existing recipes unchanged
    tuned = LlmCompressor.model_validate(
        {**plain, "weights": {"group_size": 32, "symmetric": False}}
    )
    assert tuned.model_dump(mode="json")["weights"] == {"group_size": 32, "symmetric": False}
    assert ArtifactCache.key(recipe, "src") != ArtifactCache.key(tuned, "src")
    with pytest.raises(ValueError, match="W4A16 only"):
        LlmCompressor.model_validate({**plain, "scheme": "W8A8", "weights": {"group_size": 32}})


def test_shipped_files_come_from_the_checkout_without_an_installed_copy() -> None:
    from quantgate.shipped import CHECKOUT, profiles_dir, shipped

    # an editable install maps no `quantgate.profiles_data` package: the checkout's folder
    assert profiles_dir() == CHECKOUT
    assert shipped("priors/qllm-eval.yaml").is_file()
    assert load_profile(shipped("demo-llamacpp.yaml")).model == "gemma3-270m"


def test_llamacpp_without_logits_all_returns_no_logprobs() -> None:
    profile = load_profile(REPO / "profiles" / "demo-llamacpp.yaml")
    assert profile.variant("f16").logprobs and not profile.variant("f16-8k").logprobs
    vllm = load_profile(REPO / "profiles" / "demo-vllm-cpu.yaml")
    assert all(v.logprobs for v in vllm.variants)
