# Two entry points on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HYPOTHESIS_PROFILE ?= dev
export HYPOTHESIS_PROFILE

.PHONY: demo test lint typecheck unit venv dev clean bench mutation

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.dev-installed: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

venv: $(VENV)/.installed

dev: $(VENV)/.dev-installed

demo: $(VENV)/.installed
	$(BIN)/ocop demo

lint: dev
	$(BIN)/ruff check src tests bench tools
	$(BIN)/ruff format --check src tests bench tools

typecheck: dev
	$(BIN)/mypy --strict src tests tools bench

# One pytest run, measured: it fails on a failing test or on branch coverage under 95%.
BRANCH_BAR ?= 95
unit: dev
	mkdir -p build
	$(BIN)/coverage run -m pytest -q
	$(BIN)/coverage json -q -o build/coverage.json
	$(BIN)/python tools/branch_coverage.py build/coverage.json --fail-under $(BRANCH_BAR)

test: lint typecheck unit

bench: $(VENV)/.installed
	$(BIN)/python bench/run.py

# Mutation testing of domain/ and services/ (slow, not part of `test`; docs/mutation.md).
# Options go in MUTATION_ARGS, e.g. `make mutation MUTATION_ARGS="--sample 40 --seed 3"`.
MUTATION_ARGS ?=
mutation: HYPOTHESIS_PROFILE = mutation
mutation: dev
	$(BIN)/python tools/mutation.py $(MUTATION_ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
