# One command to see it, one to test it: `make demo`, `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test lint typecheck unit schema bench clean system-deps browser-deps docs docs-serve

# The demo needs Touchline and what it runs on; the tests add the dev extras (peers, browsers' drivers,
# linters, docs). Each stamp file says what this venv holds.
$(VENV)/.demo-installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.dev-installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(VENV)/.demo-installed $@

demo: $(VENV)/.demo-installed
	$(BIN)/touchline demo

# The suite in TEST_WORKERS processes (pytest-xdist), one test file per process at a time: a file's tests
# share its fixtures (brokers, lakes), and files are independent of each other.
TEST_WORKERS ?= 2

test: system-deps browser-deps lint typecheck docs
	$(BIN)/pytest -q -n $(TEST_WORKERS) --dist loadfile

# Debian packages the tests use: headless Chromium (dashboard, browser trackers), docker-compose 1.29
# (validates docker-compose.yml without a Docker engine), npm (the browser trackers). Installed only when missing.
system-deps:
	@if ! command -v chromium >/dev/null || ! command -v docker-compose >/dev/null || ! command -v npm >/dev/null; then \
		SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q && \
		$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium docker-compose \
			$$(command -v npm >/dev/null || echo npm); \
	fi

# The browser trackers the collector is tested against, from the npm registry at the versions
# tests/browser/package-lock.json pins (into the ignored tests/browser/node_modules).
browser-deps: tests/browser/node_modules/.package-lock.json

tests/browser/node_modules/.package-lock.json: tests/browser/package.json tests/browser/package-lock.json
	npm ci --prefix tests/browser --no-audit --no-fund --loglevel=error

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .

typecheck: $(VENV)/.dev-installed
	$(BIN)/mypy --strict transforms batches schemas

unit: $(VENV)/.dev-installed
	$(BIN)/pytest -q tests/unit

# The docs site (mkdocs.yml): strict, so a broken link, a missing page or an anchor that is gone fails the build.
docs: $(VENV)/.dev-installed
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet --site-dir site

docs-serve: $(VENV)/.dev-installed
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve

schema: $(VENV)/.dev-installed
	$(BIN)/python -m schemas.touch

clean:
	rm -rf $(VENV) site lake touchline.duckdb .pytest_cache .mypy_cache .ruff_cache tests/browser/node_modules
