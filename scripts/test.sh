#!/usr/bin/env bash
# The test suite, exactly as CI runs it: install, provision, then every test against a real OpenSearch.
#
# Integration tests start the project's own OpenSearch (port $LACL_TEST_OPENSEARCH_PORT, default 9250)
# unless $OPENSEARCH_URL points at a healthy cluster. Tests marked `cluster` also start a 3.6.0 node
# (9260), a secured 2.19.6 node (9280) and a 3-node 2.19.6 cluster (9270-9272). Without arguments, the
# integration suite then runs a second time against OpenSearch 3.6.0 (both server lines, every run).
# A run in which any test is skipped fails.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=$(bash scripts/setup.sh)
DEPS="${LACL_VENV:-${LACL_HOME:-$HOME/.cache/lacl-search}/venv}"
export PATH="$VENV/bin:$DEPS/bin:$PATH"
bash scripts/install-chromium.sh
lacl-search model install >/dev/null
ruff check .
if [ "$#" -gt 0 ]; then
  exec python -m pytest --forbid-skips "$@"
fi
SECONDS=0
python -m pytest --forbid-skips --durations=15
echo "test.sh: default run (2.19.6 + 3.6, secure and 3-node clusters) took ${SECONDS}s"
SECONDS=0
python -m pytest --forbid-skips --opensearch-version 3.6.0 -m "integration and not cluster" --durations=5
echo "test.sh: integration suite on OpenSearch 3.6.0 took ${SECONDS}s"
