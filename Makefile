# mltrain: `make run` serves the API with an embedded worker; `make test` runs lint, types and the tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help install browser run test test-fast lint bench clean
# pip's playwright is only the driver: the browser tests use Debian's chromium, never a downloaded build.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch>=2.4,<2.14 admits the CPU wheel on this disk; pip never needs a CUDA build for it.
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP) ## create .venv and install mltrain with its dev tools

browser: ## install Debian's chromium for the dashboard's browser tests (if missing)
	command -v chromium >/dev/null || (apt-get update && apt-get install -y chromium)

run: $(STAMP) ## migrate, then serve the API + an embedded worker on SQLite (http://127.0.0.1:8000)
	$(BIN)/mltrain serve

lint: $(STAMP) ## ruff and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint browser ## lint, types, then every test (integration and browser tests included)
	$(BIN)/pytest -q

test-fast: $(STAMP) ## unit tests only
	$(BIN)/pytest -q -m "not integration and not slow"

bench: $(STAMP) ## run the benchmarks (numbers go to BENCHMARKS.md)
	$(BIN)/python -m bench.run_all

clean: ## remove local state (var/) and caches
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
