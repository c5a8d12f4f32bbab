# Driftvakt: the two commands are `make demo` (the main job) and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test venv bootstrap lint typecheck pytest bench bench-protocol bench-broker clean

demo: bootstrap venv
	$(BIN)/driftvakt-sim demo

test: bootstrap venv lint typecheck pytest

bootstrap:
	@scripts/bootstrap.sh --browser

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	@touch $(STAMP)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: venv
	$(BIN)/mypy protocol agent central sim tests

pytest: venv
	$(BIN)/pytest -q

bench: bench-protocol bench-broker

bench-protocol: venv
	$(BIN)/python -m tests.bench.bench_protocol

bench-broker: venv bootstrap
	$(BIN)/python -m tests.bench.bench_broker

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache

.PHONY: bench-engine
bench-engine: venv
	$(BIN)/python -m tests.bench.bench_replay

.PHONY: bench-agent
bench-agent: venv bootstrap
	$(BIN)/python -m tests.bench.bench_agent

.PHONY: bench-central
bench-central: venv
	$(BIN)/python -m tests.bench.bench_central

.PHONY: bench-web
bench-web: venv
	$(BIN)/python -m tests.bench.bench_web
