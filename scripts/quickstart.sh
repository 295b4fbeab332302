#!/usr/bin/env bash
# The main job: install everything, start OpenSearch, install the offline default encoder, fetch
# Debian's translated package descriptions, ingest a multilingual corpus, run cross-lingual queries,
# and launch the Gradio demo on it (its URL is the last line; pass --no-demo to stop before it).
# Re-running re-uses every download (Python packages, OpenSearch, model, apt lists).
#
# --adapt: then also train the full-method encoder on the DDTP training files (~11 min on 2 cores),
# re-embed the corpus into a new index behind the same alias (the base index is kept) and open the demo
# with the adapted and base encoders side by side: scripts/adapt.sh, settings in its ADAPT_* variables.
set -euo pipefail
DEMO=1
ADAPT=0
for arg in "$@"; do
  case "$arg" in
    --no-demo) DEMO=0 ;;
    --adapt) ADAPT=1 ;;
    *) echo "usage: bash scripts/quickstart.sh [--adapt] [--no-demo]" >&2; exit 2 ;;
  esac
done
cd "$(dirname "$0")/.."
VENV=$(bash scripts/setup.sh)
DEPS="${LACL_VENV:-${LACL_HOME:-$HOME/.cache/lacl-search}/venv}"
export PATH="$VENV/bin:$DEPS/bin:$PATH"
DATA="${LACL_DATA:-data/ddtp}"
INDEX="${LACL_INDEX:-ddtp}"

URL=$(lacl-search opensearch start | tail -n 1)
export OPENSEARCH_URL="$URL"
# the default encoder, exported to the fastest backend that passed the quality gate (docs/encoding.md)
MODEL=$(lacl-search model install --backend openvino | tail -n 1)
lacl-search data ddtp --out "$DATA"
# query translation for the lexical leg: word translations learned from the training languages' parallel pairs
# and its English words encoded once, for the translations learned fusion induces for the other languages
lacl-search fusion lexicon --parallel "$DATA/train/parallel.jsonl" --name ddtp --if-missing --model "$MODEL" >/dev/null
# the model's folder holds the language-aware fusion weights fitted for it on the dev benchmarks
# (docs/fusion.md; `model install` put them there): ingest stores them in the index before the alias moves
lacl-search ingest --input "$DATA/quickstart/corpus.jsonl" --index "$INDEX" --id-field _id \
  --metadata-field group --no-progress

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
if [ "$ADAPT" = 1 ]; then
  ADAPT_DATA="$DATA" ADAPT_INDEX="$INDEX" ADAPT_DEMO="$DEMO" exec bash scripts/adapt.sh
fi
if [ "$DEMO" = 1 ]; then
  echo "Starting the demo (Ctrl-C to stop; OpenSearch keeps running: lacl-search opensearch stop)"
  exec lacl-search demo --index "$INDEX" --group-by group
fi
