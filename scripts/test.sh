#!/usr/bin/env bash
# Second README command: set up (test extras, chromium, pdf tools), then run the whole test suite,
# on SQLite and on PostgreSQL (127.0.0.1:5432, database `test`, or YISHI_TEST_POSTGRES_URL).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
exec .venv/bin/python -m pytest "$@"
