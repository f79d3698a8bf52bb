#!/usr/bin/env bash
# The whole test suite, twice:
#   1. on the embedded default: SQLite, tasks in-process, plus the browser tests;
#   2. on PostgreSQL + Redis with a real Celery worker process started by the tests.
# Extra arguments go to pytest in both passes (e.g. scripts/test.sh -k cycle).
# Tests run in parallel processes (pytest-xdist), one per CPU up to 4, or TEST_WORKERS; the
# service tests of pass 2 (a Celery worker, whole stacks for the faults) run one at a time.
# With CI=true a missing PostgreSQL or Redis fails the run; elsewhere pass 2 is skipped
# with a warning.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
scripts/ensure-debian-packages.sh

echo "== Lint (ruff)"
.venv/bin/ruff check .

echo "== Floors (import-linter: no app imports an app above it)"
.venv/bin/lint-imports --no-cache

workers=(-n "${TEST_WORKERS:-auto}" --maxprocesses 4)

# pytest exits 5 when the arguments select no test of a part: not a failure of the suite.
pytest_part() { .venv/bin/python -m pytest "$@" || [ $? -eq 5 ]; }

echo "== Pass 1: SQLite, tasks in-process, browser tests"
env -u DATABASE_URL -u REDIS_URL .venv/bin/python -m pytest "${workers[@]}" -m "not services" "$@"

echo "== Pass 2: PostgreSQL + Redis + a real Celery worker"
pg_url="${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/sprintplan}"
redis_url="${TEST_REDIS_URL:-redis://127.0.0.1:6379/15}"
if ! problem=$(.venv/bin/python scripts/check_services.py "$pg_url" "$redis_url"); then
  if [ "${CI:-}" = "true" ]; then
    echo "error: pass 2 needs PostgreSQL and Redis: $problem" >&2
    exit 1
  fi
  echo "warning: pass 2 skipped: $problem (set TEST_DATABASE_URL / TEST_REDIS_URL)" >&2
  exit 0
fi
echo "== Packaging: the wheel, installed outside the checkout, on PostgreSQL"
scripts/check_wheel.sh "$pg_url"
export DATABASE_URL="$pg_url" REDIS_URL="$redis_url"
export CELERY_QUEUE="sprintplan-test-$$" CACHE_PREFIX="sprintplan-test-$$"
# Each parallel process gets its own Redis database, key prefix and queues
# (tests/parallel_workers.py); pytest-django gives each its own test database.
pytest_part -p tests.parallel_workers "${workers[@]}" -m "not e2e and not services" "$@"
echo "== Pass 2, service tests: a Celery worker process, whole stacks under faults"
pytest_part -m "services and not e2e" "$@"
