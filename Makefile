# Parlor: `make run` serves the demo forum, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

# `make run` signs in through the local GitHub emulator: no GitHub app, no internet.
EMULATOR_PORT ?= 5001
DEV_ENV := PARLOR_ENV=development \
	GITHUB_URL=http://127.0.0.1:$(EMULATOR_PORT) \
	GITHUB_API_URL=http://127.0.0.1:$(EMULATOR_PORT) \
	GITHUB_CLIENT_ID=parlor-dev GITHUB_CLIENT_SECRET=parlor-dev-secret

.PHONY: run test lint format install clean bench

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(INSTALLED)

run: $(INSTALLED)
	$(DEV_ENV) $(BIN)/flask --app wsgi db upgrade
	$(DEV_ENV) $(BIN)/flask --app wsgi forum seed-demo
	@echo "Parlor: http://127.0.0.1:5000  (GitHub emulator: http://127.0.0.1:$(EMULATOR_PORT))"
	@set -e; \
	$(DEV_ENV) $(BIN)/python -m auth.emulator --host 127.0.0.1 --port $(EMULATOR_PORT) & \
	emulator=$$!; \
	trap 'kill $$emulator 2>/dev/null' EXIT INT TERM; \
	$(DEV_ENV) $(BIN)/flask --app wsgi run --host 127.0.0.1 --port 5000

test: $(INSTALLED)
	$(BIN)/pytest -q

# Benchmarks print tables of ratios and write bench/RESULTS.md; BENCH_QUICK=1 for a run of a
# few minutes; BENCH_POSTGRESQL=postgresql://user@host/db adds PostgreSQL (a scratch database is
# created on that server and dropped). The HTTP benchmark needs wrk (Debian's package).
BENCH_POSTGRESQL ?=
BENCH_PG := $(if $(BENCH_POSTGRESQL),--postgresql $(BENCH_POSTGRESQL))

bench: $(INSTALLED)
	@command -v wrk >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq wrk; } \
		|| { echo "make bench needs wrk: apt-get install wrk (as root)"; exit 1; }
	$(BIN)/python bench/report.py $(BENCH_PG)

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(INSTALLED)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
