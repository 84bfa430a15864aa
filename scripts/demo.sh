#!/usr/bin/env bash
# First README command: set up, then serve the demo on http://127.0.0.1:8000 (SQLite in ./data/demo).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/yishi demo --data-dir "${YISHI_DATA_DIR:-data/demo}" "$@"
