# Every target creates .venv when it is missing and installs what it needs.
# torch is installed first and pinned: this machine image carries the CPU build of 2.13.0,
# while a looser requirement would pull several GB of CUDA wheels.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TORCH := torch==2.13.0
PACKAGES := providers/pyagent_providers guardrails/pyagent_guardrails router/pyagent_router \
            patterns/pyagent_patterns server/pyagent_server cli/pyagent_cli

.PHONY: install demo test lint typecheck pytest bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(TORCH)
	$(BIN)/python -m pip install --quiet -e ".[all,dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/pyagent demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/pyright

# Fitted triage models are cached across test processes (training takes a minute or two
# on a cold machine; every later process loads them in about a second).
export PYAGENT_CACHE_DIR ?= $(CURDIR)/.cache/pyagent

pytest: $(STAMP)
	$(BIN)/python -m pyagent_cookbook.triage
	$(BIN)/python -m pytest

test: lint typecheck pytest

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV)
