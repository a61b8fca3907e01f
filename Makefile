# Two entry points, both creating a local virtual environment in .venv:
#   make demo   runs the main job on bundled example data
#   make test   installs everything needed and runs ruff, mypy --strict and the test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test lint typecheck pytest bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/mt-access demo

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks docs notebooks
	$(BIN)/ruff format --check src tests benchmarks docs notebooks

typecheck: $(STAMP)
	$(BIN)/mypy src

pytest: $(STAMP)
	$(BIN)/pytest

test: lint typecheck pytest

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet ortools networkx
	$(BIN)/python benchmarks/bench_match.py

clean:
	rm -rf $(VENV) dist build
