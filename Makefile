# shopcast: `make report` and `make test` do all the set-up on a fresh machine with Python 3.11.
.DEFAULT_GOAL := help
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: help setup browser report test test-fast lint format lab bench clean-reports

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

$(STAMP): requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m ipykernel install --sys-prefix --name shopcast --display-name "Python (shopcast)" >/dev/null
	@touch $(STAMP)

setup: $(STAMP) ## create .venv and install; nbstripout becomes the git filter of notebooks
	@tools/git-filters.sh $(BIN)/python

report: setup ## render every default scenario into reports/ (with reports/index.html)
	$(BIN)/shopcast batch

# The browser checks drive Debian's Chromium (no browser download) and open PDFs with poppler's
# pdftoppm: installed here when missing and we are root (as in CI and most containers);
# otherwise one line says what to run.
browser: ## install Debian's chromium and poppler-utils for the browser checks when missing (root)
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v pdftoppm >/dev/null 2>&1 || missing="$$missing poppler-utils"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing$$missing for the browser checks"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "make test needs$$missing: run 'sudo apt-get install$$missing' (or make test-fast)" >&2; exit 1; \
	  fi; \
	fi

test: setup browser ## the whole suite, end-to-end runs and browser checks included
	$(BIN)/python -m pytest -q

test-fast: setup ## the suite without the slow end-to-end runs
	$(BIN)/python -m pytest -q -m "not slow and not browser"

lint: setup ## ruff: lint and format check
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

format: setup ## ruff: fix what can be fixed, format
	$(BIN)/ruff check --fix src tests bench
	$(BIN)/ruff format src tests bench

# Jupyter refuses to start as root without --allow-root (most containers run as root).
LAB_FLAGS := $(if $(filter 0,$(shell id -u)),--allow-root)

lab: setup ## JupyterLab on notebooks/ with the project's kernel (--allow-root when run as root)
	$(BIN)/jupyter lab --notebook-dir=notebooks $(LAB_FLAGS)

bench: setup ## run the benchmark scripts (they print their figures)
	@for b in bench/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean-reports: ## delete everything under reports/
	rm -rf reports/*/ reports/index.html
