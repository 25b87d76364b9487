# Two commands on a fresh machine: `make demo`, then `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
TORCH  ?= torch==2.13.0
STAMP  := $(VENV)/.installed

.PHONY: install demo test lint format typecheck bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip wheel

# The CPU build of torch goes in first: anything later that needs torch then finds it satisfied
# instead of pulling several GB of CUDA wheels.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet "$(TORCH)"
	$(BIN)/pip install --quiet -e ".[rag,ui,dev]"
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/vetoflow ingest examples/knowledge
	$(BIN)/vetoflow demo

test: install
	$(BIN)/ruff check vetoflow tests bench
	$(BIN)/ruff format --check vetoflow tests bench
	$(BIN)/mypy vetoflow
	$(BIN)/pytest

lint:
	$(BIN)/ruff check vetoflow tests bench

format:
	$(BIN)/ruff format vetoflow tests bench
	$(BIN)/ruff check --fix vetoflow tests bench

typecheck:
	$(BIN)/mypy vetoflow

bench: install
	$(BIN)/python bench/graph_overhead.py
	$(BIN)/python bench/list_runs.py
	$(BIN)/python bench/rag_ingest.py
	$(BIN)/python bench/rag_query.py

clean:
	rm -rf $(VENV) .vetoflow .pytest_cache .mypy_cache .ruff_cache
