# The two commands of the README: `make run` and `make test`. Everything else supports them.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PATH := $(abspath $(BIN)):$(PATH)

# The test suite runs on real Postgres and Redis (local services by default).
TEST_DATABASE_URL ?= $(or $(DATABASE_URL),postgres://postgres@127.0.0.1:5432/fiscal_gateway)
TEST_BROKER_URL ?= $(or $(CELERY_BROKER_URL),redis://127.0.0.1:6379/15)

.PHONY: install run test lint bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

# Embedded mode: SQLite, filesystem broker and archive under var/, the Focus sandbox on :8765.
run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput -v0
	$(BIN)/python manage.py demo_setup
	@# web, worker and beat sum their counters from one folder: a fresh run starts it empty.
	rm -rf var/prometheus
	@# TZ=UTC: honcho's own time prefix in the zone of every log line (UTC).
	TZ=UTC $(BIN)/honcho start -f Procfile

test: install
	bash scripts/ensure-services.sh "$(TEST_DATABASE_URL)" "$(TEST_BROKER_URL)"
	DATABASE_URL="$(TEST_DATABASE_URL)" CELERY_BROKER_URL="$(TEST_BROKER_URL)" \
		$(BIN)/pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .

# Every benchmark ends with one `RESULT bench=... key=value ...` line. Sizes and services from
# the environment: BENCH_NOTES, BENCH_RATE, BENCH_REQUESTS, BENCH_PG, BENCH_REDIS, BENCH_DB_PREFIX.
bench: install
	@for script in bench/bench_*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf var/ .pytest_cache .ruff_cache
