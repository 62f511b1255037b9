# `make demo` and `make test` are all a newcomer needs: both build .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench pictures clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev,plot,bench,render,notebooks]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/tinygrad-nn demo

lint: $(STAMP)
	$(BIN)/ruff check tinygrad_nn tests benchmarks notebooks
	$(BIN)/mypy

test: lint
	$(BIN)/python -m pytest
	$(BIN)/python -m pytest --nbmake notebooks/ -q

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

pictures: $(STAMP)
	$(BIN)/python notebooks/make_pictures.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .mypy_cache .ruff_cache
