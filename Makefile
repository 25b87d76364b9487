# Two commands on a fresh machine: `make demo`, then `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
TORCH  ?= torch==2.13.0
STAMP  := $(VENV)/.installed

.PHONY: install sysdeps demo test test-fast lint lint-docker format typecheck bench image clean browser screenshots

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip wheel

# The CPU build of torch goes in first: anything later that needs torch then finds it satisfied
# instead of pulling several GB of CUDA wheels.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet "$(TORCH)"
	$(BIN)/pip install --quiet -e ".[rag,export,ui,api,dev]"
	$(BIN)/python -m vetoflow.rag.onnx_export   # the embedding model's ONNX export, beside the model: runs never need torch
	touch $(STAMP)

install: sysdeps $(STAMP)

# Graphviz's `dot` draws `vetoflow graph --png` and the console's graph locally (no web service).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
sysdeps:
	@command -v dot >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq graphviz; }

demo: install
	$(BIN)/vetoflow ingest examples/knowledge
	$(BIN)/vetoflow demo
	@echo "The CLI is $(BIN)/vetoflow (or: source $(BIN)/activate). Try: $(BIN)/vetoflow runs --status paused"

# Debian's Chromium for the real-browser test (apt-get; playwright drives it, no browser download).
browser:
	sh scripts/install_chromium.sh

test: install browser
	$(BIN)/hadolint --failure-threshold warning --no-color Dockerfile
	$(BIN)/cfn-lint deploy/template.yaml
	$(BIN)/ruff check vetoflow tests bench
	$(BIN)/ruff format --check vetoflow tests bench
	$(BIN)/mypy vetoflow tests
	$(BIN)/pytest

# The in-process lane for the edit-test loop: SQLite only, no servers or subprocesses (under 2 minutes).
test-fast: install
	$(BIN)/ruff check vetoflow tests bench
	$(BIN)/mypy vetoflow tests
	# Bytecode on even where the shell turns it off (PYTHONDONTWRITEBYTECODE): without the cached, assert-rewritten
	# test modules every worker compiles the suite again, and collecting alone would take 24 s instead of 10.
	env -u PYTHONDONTWRITEBYTECODE $(BIN)/pytest -m "not slow and not postgres" -q -n 3  # 3 workers on 2 cores: one runs while another waits

lint:
	$(BIN)/ruff check vetoflow tests bench

# Warnings fail; each ignored rule carries its justification in the Dockerfile.
lint-docker: install
	$(BIN)/hadolint --failure-threshold warning --no-color Dockerfile
	$(BIN)/cfn-lint deploy/template.yaml

IMAGE ?= vetoflow:latest
image:
	@command -v docker >/dev/null || { echo "make image needs Docker (not available on this machine)"; exit 1; }
	docker build --platform linux/amd64 -t $(IMAGE) .

format:
	$(BIN)/ruff format vetoflow tests bench
	$(BIN)/ruff check --fix vetoflow tests bench

typecheck:
	$(BIN)/mypy vetoflow tests

bench: install
	$(BIN)/python bench/graph_overhead.py
	$(BIN)/python bench/langgraph_floor.py
	$(BIN)/python bench/list_runs.py
	$(BIN)/python bench/console.py
	$(BIN)/python bench/batch_replay.py
	$(BIN)/python bench/risk.py
	$(BIN)/python bench/api_load.py
	$(BIN)/python bench/rag_ingest.py
	$(BIN)/python bench/rag_query.py

# docs/*.png: every console tab, taken by the real-browser test against a real `vetoflow ui` process.
screenshots: install browser
	VETOFLOW_SCREENSHOT_DIR=docs $(BIN)/pytest tests/test_screenshots.py -q

clean:
	rm -rf $(VENV) .vetoflow .pytest_cache .mypy_cache .ruff_cache
