# `make demo` and `make test` are all a newcomer needs: both build .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint docs docs-serve dist smoke bench readme-figures pictures clean

$(STAMP): pyproject.toml tinygrad_nn/_version.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev,plot,data,threads,bench,render,notebooks,docs,browser]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/tinygrad-nn demo

lint: $(STAMP)
	$(BIN)/ruff check tinygrad_nn tests benchmarks notebooks scripts docs
	$(BIN)/mypy

# The suite, the notebooks, the documentation site, then the built wheel as a user gets it.
test: lint
	$(BIN)/python -m pytest
	$(BIN)/python -m pytest --nbmake notebooks/ -q
	$(MAKE) --no-print-directory docs smoke

# The documentation site, into site/; any warning (a broken reference) fails it.
# NO_MKDOCS_2_WARNING: Material's banner about MkDocs 2.0, printed on every build.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

docs-serve: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve

# The wheel and sdist, into dist/ (the wheel is built from the sdist, which proves it whole).
dist: $(STAMP)
	rm -rf dist
	$(BIN)/python -m build --quiet --no-isolation --outdir dist .

# Fresh virtual environments with the wheel, without extras and with each one.
smoke: dist
	$(BIN)/python scripts/smoke_wheel.py

# Writes benchmarks/results/<name>.md; leaves README.md alone.
bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

# Copies the saved benchmark tables into README.md (between its <!-- NAME:start/end --> markers).
readme-figures: $(STAMP)
	$(BIN)/python benchmarks/run.py --readme

pictures: $(STAMP)
	$(BIN)/python notebooks/make_pictures.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .mypy_cache .ruff_cache build dist site
