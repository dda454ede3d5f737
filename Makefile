# The README's commands. Each target installs what it needs (idempotently).
PY       ?= python3.11
VENV     ?= .venv
BIN      := $(VENV)/bin
STAMP    := $(VENV)/.installed
PROFILE  ?= profiles/example-external.yaml
PORT     ?= 8080

.PHONY: install demo serve test lint unit integration clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@

## the main job: the gateway over a profile's variants
demo: serve

serve: install
	$(BIN)/quantgate serve --profile $(PROFILE) --port $(PORT)

## the whole test suite: lint, types, unit and integration tests
test: install lint
	$(BIN)/pytest -q

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

unit: install
	$(BIN)/pytest -q tests/unit

integration: install
	$(BIN)/pytest -q tests/integration

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
