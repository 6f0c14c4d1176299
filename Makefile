# The two commands a newcomer needs: `make demo` and `make test`. Both create or update the
# project's virtual environment in .venv first, so they work on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: setup demo test lint typecheck unit browser-deps bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

setup: $(STAMP)

## demo: set up, then run the bot against fakebook on 127.0.0.1 (SQLite, no network)
demo: setup
	$(BIN)/botperms demo

## test: set up (including Debian's chromium for the browser tests), lint, type-check, run every test
test: setup browser-deps lint typecheck
	$(BIN)/pytest $(PYTEST_ARGS)

lint: setup
	$(BIN)/ruff check src tests bench

typecheck: setup
	$(BIN)/mypy src

browser-deps:
	@sh scripts/ensure-chromium.sh

bench: setup
	$(BIN)/python bench/webhook_ingest.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
