#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs what is missing, makes sure
# PostgreSQL is up, creates a fresh database for this run, then runs lint,
# formatting, types and pytest (SQLite and PostgreSQL), and drops the database.
# Arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-system-deps.sh
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check -e '.[dev]'

if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
  for _ in $(seq 1 60); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.5; done
fi
database="nxdocs_test_$(date +%s)_$$"
psql -q -h 127.0.0.1 -U postgres -d postgres -c "CREATE DATABASE \"$database\""
trap 'psql -q -h 127.0.0.1 -U postgres -d postgres -c "DROP DATABASE IF EXISTS \"$database\" WITH (FORCE)"' EXIT
export TEST_POSTGRES_URL="postgresql+psycopg://postgres@127.0.0.1:5432/$database"

.venv/bin/ruff check src tests bench
.venv/bin/ruff format --check src tests bench
.venv/bin/mypy
# Three processes for everything but the tests that restart the shared
# PostgreSQL, which then run alone; coverage adds up over both. Many tests wait
# on subprocesses and PostgreSQL, so a third process keeps the two cores busy.
.venv/bin/pytest -n 3 -m "not serial" --cov=nxdocs --cov-report= "$@"
status=0
.venv/bin/pytest -m serial --cov=nxdocs --cov-append \
  --cov-report=term:skip-covered --cov-fail-under=85 "$@" || status=$?
# 5: the arguments selected no serial test (e.g. -k store); the first run counted.
[ "$status" -eq 5 ] || exit "$status"
