# omnijourney: every target installs or starts what it needs; `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
RUN := .run
export OMNIJOURNEY_RUN_DIR ?= $(CURDIR)/$(RUN)

.PHONY: help install up down status registry-up registry-down browser test test-unit test-integration schemas-check lint typecheck bench demo clean

help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): pyproject.toml producers/_plan_writer.c
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "omnijourney needs Python 3.11 or newer")'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP) ## Create .venv and install omnijourney with its pinned dependencies
	@deploy/kafka/kafka.sh install

up: install ## Start the local Kafka broker (or check OMNIJOURNEY_KAFKA_BROKERS) and create the topics
	@deploy/kafka/kafka.sh up
	@$(VENV)/bin/omnijourney topics --quiet

down: ## Stop the demo's workers, the local schema registry and the local Kafka broker
	@$(PY) -m streams.supervise stop-all 2>/dev/null || true
	@deploy/registry/registry.sh down
	@deploy/kafka/kafka.sh down

status: ## Show what runs
	@deploy/kafka/kafka.sh status || true
	@deploy/registry/registry.sh status || true
	@$(PY) -m streams.supervise status 2>/dev/null || true

registry-up: install ## Start the local schema registry (Apicurio, Confluent API on 127.0.0.1:18081)
	@deploy/registry/registry.sh up

registry-down: ## Stop the local schema registry
	@deploy/registry/registry.sh down

schemas-check: install ## Fail when a schema change would break old readers or old data
	$(PY) -m schemas.compat

test-unit: install ## Unit tests (no network)
	$(PY) -m pytest -m "not integration" tests/unit

browser: ## Install headless Chromium (Debian package) for the browser tests; skipped when present
	@test -x /usr/bin/chromium || { \
	  SUDO=$$([ "$$(id -u)" -eq 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; }
	@/usr/bin/chromium --version 2>/dev/null

test-integration: up registry-up browser ## Integration tests against the real broker and chDB
	$(PY) -m pytest -m integration tests/integration

test: up registry-up browser schemas-check ## Everything CI runs: schema check, unit and integration tests
	$(PY) -m pytest tests

lint: install ## ruff lint and format check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: install ## mypy (strict)
	$(VENV)/bin/mypy

bench: up ## Benchmarks: one table, each figure beside its same-run baseline (JSON in $(RUN)/bench.json)
	@if [ -f $(RUN)/bench.json ]; then cp $(RUN)/bench.json $(RUN)/bench-previous.json; fi
	$(PY) -m tests.bench.run --json $(RUN)/bench.json --compare $(RUN)/bench-previous.json

demo: up ## Run the pipeline on simulated channels and print what an analyst would look at
	$(VENV)/bin/omnijourney demo

clean: down ## Remove local state (broker data, stores, logs)
	rm -rf $(RUN)
