# Two entry points on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HYPOTHESIS_PROFILE ?= dev
export HYPOTHESIS_PROFILE

.PHONY: demo test test-lowest lint typecheck docs unit venv dev clean bench mutation

# pip runs quietly; each install says what it installs, then what it installed.
$(BIN)/python:
	@echo "make: creating $(VENV) and upgrading its pip"
	$(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	@echo "make: installing ocop (editable) into $(VENV)"
	@$(BIN)/python -m pip install --quiet -e .
	@echo "make: installed $$($(BIN)/python tools/dependencies.py installed)"
	touch $@

$(VENV)/.dev-installed: $(BIN)/python pyproject.toml
	@echo "make: installing ocop[dev] (editable) into $(VENV)"
	@$(BIN)/python -m pip install --quiet -e '.[dev]'
	@echo "make: installed $$($(BIN)/python tools/dependencies.py installed dev)"
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

# The documentation site, built strictly (a broken link or reference fails); its code
# blocks run in the tests (tests/unit/test_docs.py).
docs: dev
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet

# One pytest run, measured: it fails on a failing test or on branch coverage under 95%.
BRANCH_BAR ?= 95
unit: dev
	mkdir -p build
	$(BIN)/coverage run -m pytest -q
	$(BIN)/coverage json -q -o build/coverage.json
	$(BIN)/python tools/branch_coverage.py build/coverage.json --fail-under $(BRANCH_BAR)

test: lint typecheck docs unit

# The unit tests once more, in a venv of their own where each dependency of ocop, and of
# its postgres, testing and adyen extras, is the lowest release pyproject.toml allows
# (pinned by tools/dependencies.py): a lower bound is one the tests pass with. The rest of
# the dev extra (test tools, not ocop's dependencies) comes as usual. No coverage here, and
# a quick hypothesis profile: this run checks the code against old releases, not the rules.
LOWEST ?= build/lowest-venv
LOWEST_PINNED ?= postgres testing adyen
$(LOWEST)/.installed: pyproject.toml tools/dependencies.py Makefile | $(VENV)/.dev-installed
	rm -rf $(LOWEST)
	mkdir -p build
	@echo "make: creating $(LOWEST), each dependency at its lowest allowed release:"
	$(PYTHON) -m venv $(LOWEST)
	@$(BIN)/python tools/dependencies.py lowest $(LOWEST_PINNED) > build/lowest.txt
	@sed 's/^/  /' build/lowest.txt
	@$(LOWEST)/bin/python -m pip install --quiet --upgrade pip
	@$(LOWEST)/bin/python -m pip install --quiet --constraint build/lowest.txt -e '.[dev]'
	@echo "make: installed $$($(LOWEST)/bin/python tools/dependencies.py installed dev)"
	touch $@

test-lowest: HYPOTHESIS_PROFILE = compat
test-lowest: $(LOWEST)/.installed
	$(LOWEST)/bin/python -m pytest tests/unit -q -p no:cacheprovider

bench: $(VENV)/.installed
	$(BIN)/python bench/run.py

# Mutation testing of domain/ and services/ (slow, not part of `test`; docs/mutation.md).
# Options go in MUTATION_ARGS, e.g. `make mutation MUTATION_ARGS="--sample 40 --seed 3"`.
MUTATION_ARGS ?=
mutation: HYPOTHESIS_PROFILE = mutation
mutation: dev
	$(BIN)/python tools/mutation.py $(MUTATION_ARGS)

clean:
	rm -rf $(VENV) $(LOWEST) .mypy_cache .ruff_cache .pytest_cache .hypothesis
