#!/usr/bin/env bash
# The test suite, exactly as CI runs it: install, provision, then every test against a real OpenSearch.
#
# Integration tests start the project's own OpenSearch (port $LACL_TEST_OPENSEARCH_PORT, default 9250)
# unless $OPENSEARCH_URL points at a healthy cluster. A run in which any test is skipped fails.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=$(bash scripts/setup.sh)
DEPS="${LACL_VENV:-${LACL_HOME:-$HOME/.cache/lacl-search}/venv}"
export PATH="$VENV/bin:$DEPS/bin:$PATH"
bash scripts/install-chromium.sh
lacl-search model install >/dev/null
ruff check .
exec python -m pytest --forbid-skips "$@"
