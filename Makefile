# alertbridge: `make run` starts the service on SQLite with the example config; `make test` runs the suite.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
CONFIG ?= config/example.yaml
LISTEN ?= 127.0.0.1:8080
export ALERTBRIDGE_DATABASE_URL ?= sqlite:///var/alertbridge.db

.PHONY: run venv dev migrate test e2e reliability fuzz bench lint typecheck contract clean

$(BIN)/alertbridge: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e .
	@touch $@

venv: $(BIN)/alertbridge

$(VENV)/.dev: $(BIN)/alertbridge
	$(BIN)/pip install -q -e '.[dev]'
	@touch $@

dev: $(VENV)/.dev

.env:
	@$(PYTHON) scripts/make_env.py .env

migrate: venv .env
	@set -a; . ./.env; set +a; $(BIN)/alertbridge migrate --config $(CONFIG)

run: venv .env
	@mkdir -p var
	@echo "alertbridge: tokens and SMTP are read from .env (edit it; see README 'Configuration')."
	@set -a; . ./.env; set +a; \
	  if [ -z "$$ALERTBRIDGE_SMTP_URL" ]; then echo "alertbridge: ALERTBRIDGE_SMTP_URL is not set: curator notices stay queued (GET /api/v1/outbox)."; fi; \
	  $(BIN)/alertbridge migrate --config $(CONFIG) && \
	  exec $(BIN)/alertbridge serve --config $(CONFIG) --listen $(LISTEN) --no-migrate

test: dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check --quiet .
	$(BIN)/mypy connectors classifier dedupe bridge
	$(BIN)/python -m pytest -m "not e2e" $(PYTEST_ARGS)

e2e: dev
	bash tests/e2e/install_peers.sh
	ALERTBRIDGE_E2E_REQUIRE=1 $(BIN)/python -m pytest -m e2e tests/e2e $(PYTEST_ARGS)

reliability: dev
	$(BIN)/python scripts/reliability_report.py

fuzz: dev
	$(BIN)/python -m pytest -m fuzz tests/fuzz $(PYTEST_ARGS)

bench: dev
	$(BIN)/python bench/run.py $(BENCH_ARGS)

lint: dev
	$(BIN)/ruff check .

typecheck: dev
	$(BIN)/mypy connectors classifier dedupe bridge

contract: venv
	../shared/contract/run.sh

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .mypy_cache
