# Driftvakt: the two commands are `make demo` (the main job) and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test venv bootstrap bootstrap-browser lint typecheck pytest bench bench-protocol bench-broker clean

demo: bootstrap venv
	$(BIN)/driftvakt-sim demo

test: bootstrap-browser venv lint typecheck pytest

# The demo needs the broker and build headers; the tests also need Chromium.
bootstrap:
	@scripts/bootstrap.sh

bootstrap-browser:
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

# Rollout (issue 8): the gateway and broker roles against Debian Bookworm roots
# made by debootstrap (cached under /var/cache/driftvakt). Not part of `make test`.
.PHONY: test-deploy
test-deploy: venv
	scripts/bootstrap.sh --deploy
	$(BIN)/pip install -q -e '.[deploy]'
	DRIFTVAKT_TEST_DEPLOY=1 $(BIN)/pytest tests/deploy -q -s -p no:cacheprovider --timeout=1800

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
