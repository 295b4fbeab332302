#!/usr/bin/env bash
# Smoke-check the local OpenSearch: start it (provisioning from Maven Central on first use), show
# health, plugins and modules, run one Painless script, and stop it again unless it was already running.
# Usage: scripts/opensearch-smoke.sh [PORT]   (default 9260, away from a developer's node on 9200)
set -euo pipefail
PORT="${1:-9260}"
PY="${PYTHON:-python}"
was_running=0
if "$PY" -m lacl_search opensearch status --port "$PORT" >/dev/null 2>&1; then was_running=1; fi
url="$("$PY" -m lacl_search opensearch start --port "$PORT" | tail -n 1)"
if [ "$was_running" = 0 ]; then trap '"$PY" -m lacl_search opensearch stop --port "$PORT"' EXIT; fi
"$PY" -m lacl_search opensearch status --port "$PORT"
curl -fsS -H 'Content-Type: application/json' \
  -d '{"script": {"source": "params.a + 1", "params": {"a": 41}}}' "$url/_scripts/painless/_execute"
echo
curl -fsS -H 'Content-Type: application/json' -d '{"analyzer": "cjk", "text": "東京で寿司を食べました"}' \
  "$url/_analyze" | "$PY" -c 'import json, sys; print(len(json.load(sys.stdin)["tokens"]), "cjk tokens")'
