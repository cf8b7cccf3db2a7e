# One command to see it, one to test it: `make demo`, `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test lint typecheck unit schema bench clean

$(BIN)/touchline: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@

demo: $(BIN)/touchline
	$(BIN)/touchline demo

test: lint typecheck
	$(BIN)/pytest -q

lint: $(BIN)/touchline
	$(BIN)/ruff check .

typecheck: $(BIN)/touchline
	$(BIN)/mypy --strict transforms schemas

unit: $(BIN)/touchline
	$(BIN)/pytest -q tests/unit

schema: $(BIN)/touchline
	$(BIN)/python -m schemas.touch

clean:
	rm -rf $(VENV) lake touchline.duckdb .pytest_cache .mypy_cache .ruff_cache
