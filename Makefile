# The two commands a newcomer needs: `make demo` and `make test`. Both create or update the
# project's virtual environment in .venv first, so they work on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# messaging-api-messenger for tests/conformance, from its lock file (npm ci writes this file).
NODE_DEPS := tests/conformance/node_modules/.package-lock.json

.PHONY: setup demo test lint typecheck docs unit browser-deps node-deps bench bench-scaling clean

$(STAMP): pyproject.toml src/fakebook/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ./src/fakebook -e ".[dev]"
	@# A venv made while botperms still shipped the fakebook script loses it in this upgrade.
	test -x $(BIN)/fakebook || $(BIN)/python -m pip install --quiet --no-deps --force-reinstall -e ./src/fakebook
	touch $(STAMP)

setup: $(STAMP)

## demo: set up, then run the bot against fakebook on 127.0.0.1 (SQLite, no network)
demo: setup
	$(BIN)/botperms demo

## test: set up (including Debian's chromium for the browser tests), lint, type-check, build the
## docs, run every test
test: setup browser-deps node-deps lint typecheck docs
	$(BIN)/pytest $(PYTEST_ARGS)

lint: setup
	$(BIN)/ruff check src tests bench

typecheck: setup
	$(BIN)/mypy src

## docs: the site (guides, and the API reference from docstrings) in build/docs. Strict: a
## warning, such as a broken link or a docstring naming a parameter that isn't there, fails it.
## Offline: nothing is fetched. (Not -q: it hides the warnings that strict counts.)
docs: setup
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --clean

$(NODE_DEPS): tests/conformance/package-lock.json
	npm ci --prefix tests/conformance --no-audit --no-fund --silent

node-deps: $(NODE_DEPS)

browser-deps:
	@sh scripts/ensure-chromium.sh

## bench: the event-pipeline benchmark (wrk from Debian's packages; about 3 minutes): bare ASGI
## baselines and botperms with an echo bot, side by side in one run. See docs/performance.md.
bench: setup
	@command -v wrk >/dev/null || { echo "installing Debian's wrk"; apt-get install -y -q wrk >/dev/null; }
	$(BIN)/python bench/pipeline.py

## bench-scaling: the embedded default beside `serve --web-only` + 1 and 2 `botperms worker`
## processes on the local PostgreSQL (about 3 minutes). See docs/performance.md.
bench-scaling: setup
	@command -v wrk >/dev/null || { echo "installing Debian's wrk"; apt-get install -y -q wrk >/dev/null; }
	$(BIN)/python bench/scaling.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache tests/conformance/node_modules
