# Worksible API. `make help` lists the targets.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
WORKERS ?= 1

.DEFAULT_GOAL := help
.PHONY: help install run serve test lint format migrate clean soak

help: ## Show this help
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required (set PYTHON=...)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP) ## Create .venv with the service and its dev tools

run: install ## Migrate, seed the demo organization, print a key, serve on http://$(HOST):$(PORT)
	$(BIN)/worksible-api demo
	$(BIN)/worksible-api serve --host $(HOST) --port $(PORT) --workers $(WORKERS) --no-migrate

test: install ## Run the test suite (embedded servers unless DATABASE_URL / REDIS_URL are set)
	$(BIN)/pytest -n 2 --dist loadfile $(PYTEST_ARGS)

lint: install ## ruff and mypy
	$(BIN)/ruff check src tests migrations
	$(BIN)/ruff format --check src tests migrations
	$(BIN)/mypy
	$(BIN)/lint-imports

format: install ## Format and autofix with ruff
	$(BIN)/ruff format src tests migrations
	$(BIN)/ruff check --fix src tests migrations

migrate: install ## Bring the database schema up to date
	$(BIN)/worksible-api migrate

clean: ## Remove the venv and local data (embedded servers are stopped first)
	-$(BIN)/python -c 'from pathlib import Path; from worksible_api.embedded import stop_embedded_servers; stop_embedded_servers(Path(".worksible"))'
	rm -rf $(VENV) .worksible

.PHONY: bench
bench: install ## Load-test the service against a bare baseline: table + bench/results.json (docs/benchmark.md)
	$(BIN)/python bench/run.py

soak: install ## Ten minutes of mixed traffic on 2 workers: 5xx, RSS growth, p99 drift (SOAK_SECONDS=600)
	$(BIN)/python bench/soak.py
