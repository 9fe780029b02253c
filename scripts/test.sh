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
.venv/bin/pytest --cov=nxdocs --cov-report=term:skip-covered --cov-fail-under=85 "$@"
