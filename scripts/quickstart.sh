#!/usr/bin/env bash
# The main job: install everything, start OpenSearch, install the offline default encoder, fetch
# Debian's translated package descriptions, ingest a multilingual corpus, run cross-lingual queries,
# and launch the Gradio demo on it (its URL is the last line; pass --no-demo to stop before it).
# Re-running re-uses every download (Python packages, OpenSearch, model, apt lists).
set -euo pipefail
DEMO=1
[ "${1:-}" = "--no-demo" ] && DEMO=0
cd "$(dirname "$0")/.."
VENV=$(bash scripts/setup.sh)
DEPS="${LACL_VENV:-${LACL_HOME:-$HOME/.cache/lacl-search}/venv}"
export PATH="$VENV/bin:$DEPS/bin:$PATH"
DATA="${LACL_DATA:-data/ddtp}"
INDEX="${LACL_INDEX:-ddtp}"

URL=$(lacl-search opensearch start | tail -n 1)
export OPENSEARCH_URL="$URL"
MODEL=$(lacl-search model install | tail -n 1)
lacl-search data ddtp --out "$DATA"
lacl-search ingest --input "$DATA/quickstart/corpus.jsonl" --index "$INDEX" --id-field _id --no-progress

while IFS= read -r query; do
  [ -n "$query" ] || continue
  echo
  echo "### $query  ->  English documents (hybrid)"
  lacl-search search --index "$INDEX" --mode hybrid -k 3 --lang en "$query"
done < <(python -c 'import json,sys; [print(json.loads(l)["text"]) for l in open(sys.argv[1], encoding="utf-8")]' \
  "$DATA/quickstart/queries.jsonl" | grep -v '^$' | tail -n +2 | head -n 6)

echo
echo "OpenSearch: $URL   index: $INDEX   model: $MODEL"
echo "Try: $VENV/bin/lacl-search search --index $INDEX --mode dense 'Werkzeug zum Komprimieren von Bildern'"
if [ "$DEMO" = 1 ]; then
  echo "Starting the demo (Ctrl-C to stop; OpenSearch keeps running: lacl-search opensearch stop)"
  exec lacl-search demo --index "$INDEX"
fi
