# The two commands of the README: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install run test lint format unit faults services services-down browser helm docs lock image bench bench-store bench-timing clean

$(STAMP): pyproject.toml requirements.lock
	@echo "==> installing the service and its tools into $(VENV) (first run takes a minute)"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --upgrade pip
	@$(BIN)/python -m pip install --quiet --constraint requirements.lock --editable '.[dev]'
	@touch $(STAMP)

## The container image, built with Debian's podman (no Docker engine here), then run and checked.
image: $(STAMP)
	$(BIN)/python scripts/image.py all

## Pin the dependency set again (requirements.lock) from a fresh environment.
lock:
	@rm -rf var/lock-venv && $(PYTHON) -m venv var/lock-venv
	@var/lock-venv/bin/python -m pip install --quiet '.[dev,bench]'
	@{ echo "# The tested dependency set: every package \`make install\` puts into .venv, pinned."; \
	  echo "# Regenerate with \`make lock\` after changing pyproject.toml's dependencies."; \
	  var/lock-venv/bin/python -m pip freeze --exclude otp-service; } > requirements.lock
	@rm -rf var/lock-venv build
	@echo "requirements.lock: $$(grep -vc '^#' requirements.lock) packages"

install: $(STAMP)

## Serve the HTTP API on the embedded default (SQLite, file outbox, bundled templates).
run: $(STAMP)
	$(BIN)/otp serve

## Lint, types, import contracts, then every test tier against real Kafka and MongoDB-wire servers.
test: lint services browser helm
	@eval "$$($(BIN)/python scripts/services.py env)" && $(BIN)/pytest -m "not long"

## The fault-injection suite alone, with the long cluster runs `make test` leaves out (the
## protocol comparison, the reply leader, a node left down): figures in var/faults-last.json.
faults: services
	@eval "$$($(BIN)/python scripts/services.py env)" && $(BIN)/pytest tests/faults -m faults

## Install (first time: Maven Central downloads, seconds) and start the test servers.
services: $(STAMP)
	@$(BIN)/python scripts/services.py up

services-down: $(STAMP)
	@$(BIN)/python scripts/services.py down

## helm, for the chart's tests: built once from the Go module proxy, cached outside the tree.
helm: $(STAMP)
	@$(BIN)/python scripts/helm.py >/dev/null

## Headless Chromium (Debian's package) for the living-documentation test.
browser:
	@command -v chromium >/dev/null || { echo "==> installing chromium (Debian package)"; \
	  export DEBIAN_FRONTEND=noninteractive; apt-get install -y -q chromium >/dev/null \
	  || { apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; }; }

## The feature files as one HTML page with the last test run's results (var/reports/).
docs: $(STAMP)
	@test -f var/reports/cucumber.json || $(BIN)/pytest -q tests/bdd -m "not kafka"
	$(BIN)/python scripts/living_docs.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

unit: $(STAMP)
	$(BIN)/pytest tests/unit tests/bdd -m "not kafka and not mongo"

## Store latency with 1,000 and 50,000 ledgers, MongoDB-wire server and SQLite (about a minute).
## The service against the limits of its own dependencies (about 9 minutes): figures, JSON, plot.
bench: $(STAMP)
	@$(BIN)/python -m pip install --quiet --constraint requirements.lock --editable '.[dev,bench]'
	$(BIN)/python bench/run.py

## How long validate takes for a missing, an expired and a wrong code (with and without the floor).
bench-timing: $(STAMP)
	$(BIN)/python bench/validate_timing.py

bench-store: services
	@eval "$$($(BIN)/python scripts/services.py env)" && $(BIN)/python bench/ledger_store.py

clean:
	rm -rf $(VENV) var .mypy_cache .pytest_cache .ruff_cache *.egg-info
