"""Engine launch specs and the memory check: pure functions of the profile."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.engines import llamacpp, vllm
from gateway.engines.base import Artifact, LaunchSpec
from gateway.engines.plan import check_memory
from quantgate.errors import ConfigError, MemoryBudgetError
from quantgate.profile import Variant

SHAPE = {
    "layers": 18,
    "kv_heads": 1,
    "key_length": 256,
    "value_length": 256,
    "vocab": 262144,
    "architecture": "gemma3",
    "context_length": 32768,
}
GiB = 2**30


def variant(kind: str, kv_bits: int = 16, **args: object) -> Variant:
    return Variant.model_validate(
        {
            "name": "v1",
            "max_context": 2048,
            "quant": {"w_bits": 4, "kv_bits": kv_bits},
            "engine": {"kind": kind, "artifact": "x", "args": args},
        }
    )


@pytest.fixture
def gguf(tmp_path: Path) -> Artifact:
    path = tmp_path / "m.gguf"
    path.write_bytes(b"GGUF" + b"\0" * 1000)
    return Artifact(path, {"shape": SHAPE})


def flags(argv: list[str]) -> dict[str, str]:
    return {argv[i][2:]: argv[i + 1] for i in range(3, len(argv) - 1, 2)}


@pytest.mark.parametrize(("kv_bits", "kv_type"), [(16, None), (8, "8"), (4, "2")])
def test_llamacpp_kv_cache_follows_the_quant_spec(
    gguf: Artifact, kv_bits: int, kv_type: str | None
) -> None:
    spec = llamacpp.launch_spec(variant("llamacpp", kv_bits), gguf, 4242)
    f = flags(spec.argv)
    assert spec.argv[1:3] == ["-m", "gateway.engines.llamacpp_server"]
    assert (f["port"], f["n_ctx"], f["model_alias"]) == ("4242", "2048", "v1")
    # generations queue instead of cutting each other; readiness takes no model lock; no KV
    # prefix reuse unless the profile asks (greedy answers must not depend on the request before)
    assert (f["interrupt_requests"], f["prefix_cache"]) == ("False", "False")
    assert spec.ready_path == "/openapi.json"
    assert f.get("type_k") == kv_type and f.get("type_v") == kv_type
    assert (f.get("flash_attn") == "True") == (kv_type is not None)
    assert spec.served_model == "v1"


def test_llamacpp_args_override_and_reject_unknown_kv(gguf: Artifact) -> None:
    spec = llamacpp.launch_spec(variant("llamacpp", chat_format="gemma", n_threads=1), gguf, 1)
    assert flags(spec.argv)["chat_format"] == "gemma"
    assert flags(spec.argv)["n_threads"] == "1"
    with pytest.raises(ConfigError, match="no 3-bit KV"):
        llamacpp.launch_spec(variant("llamacpp", kv_bits=3), gguf, 1)


def test_llamacpp_memory_counts_logits_for_every_position(gguf: Artifact) -> None:
    with_logits, detail = llamacpp.estimate_memory(gguf, 2048, 16, logits_all=True)
    without, _ = llamacpp.estimate_memory(gguf, 2048, 16, logits_all=False)
    assert with_logits - without == (2048 - 512) * 262144 * 4
    assert "logits 2048 MiB" in detail
    kv16, _ = llamacpp.estimate_memory(gguf, 2048, 16, logits_all=False)
    kv4, _ = llamacpp.estimate_memory(gguf, 2048, 4, logits_all=False)
    per_position = 18 * 1 * (256 + 256)  # layers x kv heads x (key + value) elements
    assert kv16 - kv4 == int(2048 * per_position * 2.0) - int(2048 * per_position * 18 / 32)


def test_vllm_spec_applies_the_cpu_workarounds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QUANTGATE_CACHE", str(tmp_path / "cache"))
    folder = tmp_path / "hf"
    folder.mkdir()
    (folder / "model.safetensors").write_bytes(b"\0" * 4096)
    spec = vllm.launch_spec(
        variant("vllm", 8, **{"cpu-kvcache-space-gib": 2}),
        Artifact(folder),
        5555,
        python="/opt/vllm/bin/python",
    )
    assert not (tmp_path / "cache").exists()  # a pure description: nothing made yet
    assert spec.make_dirs == (spec.env["TMPDIR"],)
    assert spec.argv[:4] == ["/opt/vllm/bin/python", str(vllm.ENTRY), "serve", str(folder)]
    joined = " ".join(spec.argv)
    assert "--served-model-name v1" in joined and "--max-model-len 2048" in joined
    assert "--kv-cache-dtype fp8" in joined and "--enforce-eager" in joined
    assert "cpu-kvcache" not in joined
    assert spec.env["VLLM_CPU_KVCACHE_SPACE"] == "2"
    assert spec.env["TMPDIR"].endswith("v1/tmp") and "VLLM_CACHE_ROOT" in spec.env
    assert spec.memory_bytes > 2 * GiB
    with pytest.raises(ConfigError, match="not 4-bit"):
        vllm.launch_spec(variant("vllm", 4), Artifact(folder), 1, python="python")


def test_vllm_chat_template_is_resolved_against_the_profile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QUANTGATE_CACHE", str(tmp_path / "cache"))
    (tmp_path / "t.jinja").write_text("{{ messages }}")
    v = Variant.model_validate(
        {"name": "v", "engine": {"kind": "vllm", "artifact": "x", "chat_template": "t.jinja"}}
    )
    spec = vllm.launch_spec(v, Artifact(tmp_path), 1, python="python", base_dir=tmp_path)
    assert f"--chat-template {tmp_path / 't.jinja'}" in " ".join(spec.argv)
    with pytest.raises(ConfigError, match=r"chat_template .* not found"):
        vllm.launch_spec(v, Artifact(tmp_path), 1, python="python", base_dir=tmp_path / "elsewhere")


def test_memory_check_names_each_variant_and_the_shortfall() -> None:
    plan = {
        name: (LaunchSpec(argv=[], served_model=name, memory_bytes=3 * GiB, memory_detail="d"), 1)
        for name in ("a", "b", "c")
    }
    assert check_memory(plan, available=10 * GiB) == 9 * GiB
    with pytest.raises(MemoryBudgetError) as info:
        check_memory(plan, available=8 * GiB)
    text = str(info.value)
    assert "need about 9.0 GiB but 8.0 GiB is available (1.0 GiB short)" in text
    assert all(f"  - {n}: 3.0 GiB (d)" in text for n in "abc")


def test_llamacpp_entry_removes_the_environment_the_server_would_obey() -> None:
    from gateway.engines.llamacpp_server import scrub

    env = {"PORT": "8123", "HOST": "0.0.0.0", "CONFIG_FILE": "x", "api_key": "k", "PATH": "/bin"}
    removed = scrub(env, ["api_key", "n_ctx", "host", "port"])
    assert env == {"PATH": "/bin"}
    assert sorted(removed) == ["CONFIG_FILE", "HOST", "PORT", "api_key"]


def test_vllm_cpu_fp8_kv_needs_avx512_or_amx(tmp_path: Path) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu sse avx avx2 fma\n")
    avx2 = vllm.cpu_flags(cpuinfo)
    assert {"avx2", "fma"} <= avx2 and "avx512f" not in avx2

    def quant(**bits: int) -> Variant:
        engine = {"kind": "vllm", "artifact": "x"}
        return Variant.model_validate({"name": "v", "engine": engine, "quant": bits})

    kv8 = vllm.unsupported_here(quant(w_bits=16, kv_bits=8), avx2)
    assert kv8 is not None and "AVX-512 or AMX" in kv8
    assert vllm.unsupported_here(quant(w_bits=16, kv_bits=8), avx2 | {"avx512f"}) is None
    assert vllm.unsupported_here(quant(w_bits=16, kv_bits=8), avx2 | {"amx_tile"}) is None
    w4a16 = vllm.unsupported_here(quant(w_bits=4, a_bits=16), avx2)
    assert w4a16 is not None and "AVX-512" in w4a16
    assert vllm.unsupported_here(quant(w_bits=4, a_bits=16), avx2 | {"avx512f"}) is None
    assert vllm.unsupported_here(quant(w_bits=8, a_bits=8), avx2) is None  # INT8 W8A8 runs
    assert vllm.unsupported_here(quant(w_bits=16), avx2) is None
    assert vllm.cpu_flags(tmp_path / "missing") == frozenset()


def test_a_variant_this_cpu_cannot_run_gets_no_engine_and_is_never_healthy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gateway.engines.board import EngineBoard, WorkerEngines
    from gateway.engines.plan import plan_engines
    from gateway.engines.supervisor import Supervisor
    from quantgate.envs import env_dir
    from quantgate.profile import Profile

    monkeypatch.setenv("QUANTGATE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(vllm, "vllm_python", lambda: str(env_dir("vllm-cpu") / "bin" / "python"))
    monkeypatch.setattr(vllm, "cpu_flags", lambda: frozenset({"avx2"}))
    folder = tmp_path / "hf"
    folder.mkdir()
    engine = {"kind": "vllm", "artifact": "hf"}
    profile = Profile.model_validate(
        {
            "model": "m",
            "default_variant": "bf16",
            "variants": [
                {"name": "bf16", "engine": engine, "quant": {"w_bits": 16}},
                {"name": "kv8", "engine": engine, "quant": {"w_bits": 16, "kv_bits": 8}},
            ],
        }
    )
    unsupported: dict[str, str] = {}
    artifacts = {"bf16": Artifact(folder), "kv8": Artifact(folder)}
    plan = plan_engines(profile, artifacts, tmp_path, unsupported)
    assert list(plan) == ["bf16"]
    assert list(unsupported) == ["kv8"] and "AVX-512" in unsupported["kv8"]

    supervisor = Supervisor(plan, tmp_path / "logs", unsupported=unsupported)
    assert not supervisor.healthy("kv8")
    assert supervisor.healthy("external")  # not managed here: not the supervisor's to judge
    board = EngineBoard.create(tmp_path / "board", list(plan), 1)
    worker = WorkerEngines(board, {}, {}, {}, {}, unsupported=unsupported)
    assert not worker.healthy("kv8")
    assert worker.healthy("external")
    # with AVX-512 it would be started like any other variant
    monkeypatch.setattr(vllm, "cpu_flags", lambda: frozenset({"avx512f"}))
    assert list(plan_engines(profile, artifacts, tmp_path, {})) == ["bf16", "kv8"]


def test_llamacpp_entry_refuses_a_logit_bias_past_the_vocabulary() -> None:
    """A key past the vocabulary would index past the logits (a 500): a ValueError whose
    message llama_cpp.server's handler turns into a 400 naming `logit_bias`."""
    from gateway.engines.llamacpp_server import INVALID, checks_logit_bias, invalid

    class Model:
        def n_vocab(self) -> int:
            return 100

    created = checks_logit_bias(lambda self, **kw: kw)
    assert created(Model(), logit_bias={"99": 5.0}) == {"logit_bias": {"99": 5.0}}
    assert created(Model(), logit_bias=None) == {"logit_bias": None}
    with pytest.raises(ValueError) as info:
        created(Model(), logit_bias={"3": 1.0, "100": 5.0})
    match = INVALID.search(str(info.value))
    assert match is not None
    status, error = invalid(None, match)
    assert status == 400 and error["param"] == "logit_bias"
    assert error["message"] == "'100' is not a token id of this model (0 to 99)"


def test_engines_get_distinct_ports_that_are_free_once_planned() -> None:
    """Ports are held bound until every engine has one: bound and closed one at a time, 500
    draws repeat a port almost surely (the kernel picks from ~28k), as two engines of one
    demo once did."""
    import socket

    from gateway.engines.plan import Ports

    with Ports() as ports:
        taken = [ports.take() for _ in range(500)]
    assert len(set(taken)) == len(taken)
    for port in taken[:20]:  # released: an engine can bind it
        with socket.socket() as s:
            s.bind(("127.0.0.1", port))
