#!/usr/bin/env bash
# Quick start: install nxdocs into .venv and run `nxdocs serve` on its embedded
# defaults (SQLite and files under ./nxdocs-data). On first start it prints an
# API key and a curl line to try. Arguments go to `nxdocs serve`.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-system-deps.sh
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check -e .
exec .venv/bin/nxdocs serve "$@"
