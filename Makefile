# `make dev` and `make test` set everything up on a fresh machine (a virtualenv in .venv).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt constraints.txt pyproject.toml | sha1sum | cut -c1-12)
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: install dev test lint typecheck unit synth bench clean

$(STAMP):
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt -c constraints.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	rm -f $(VENV)/.installed-* && touch $(STAMP)

install: $(STAMP)

## Run the gateway locally on http://127.0.0.1:8080 (PORT=... to change), AWS emulated in-process.
dev: $(STAMP)
	$(PY) -m llm_gateway.local

## Lint, type-check and run the whole suite.
test: lint typecheck unit

lint: $(STAMP)
	$(PY) -m ruff check .

typecheck: $(STAMP)
	$(PY) -m mypy

unit: $(STAMP)
	$(PY) -m pytest -n 2

## Synthesize with the standard CDK CLI (bundles Lambda code locally, no Docker): make synth ENV=prod
synth: $(STAMP)
	source $(VENV)/bin/activate && npx --yes aws-cdk@2.1148.1 synth -c env=$(or $(ENV),dev) --quiet

## Print the figures each issue names (not asserted).
bench: $(STAMP)
	@for script in bench/[!_]*.py; do $(PY) $$script || exit 1; done

clean:
	rm -rf $(VENV) cdk.out .pytest_cache .mypy_cache .ruff_cache
