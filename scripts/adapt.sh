#!/usr/bin/env bash
# Adapt the encoder to the DDTP data and serve it (issue 13): train the full method (IR + semantic +
# language contrastive losses) from the base model, export it to the fast backend the base model is served
# with, re-embed a corpus into a new concrete index behind the same alias (the alias switches atomically
# when the index is complete; the base index is kept for the comparison), then open the demo with the
# adapted and the base encoder side by side ("Compare encoders" tab).
#
#   bash scripts/adapt.sh                        # after the quickstart (OpenSearch running, base index built)
#   ADAPT_STEPS=20 ADAPT_DEMO=0 bash scripts/adapt.sh
#
# Time budget on 2 CPU cores (measured, docs/adapt.md): 100 steps of the full method at
# configs/train/cpu.yaml take ~6.6 s each (~11 min), re-embedding the 4,005-document quickstart corpus
# ~3.5 min (20 docs/s). Settings (environment variables):
#   ADAPT_DATA        DDTP folder with train/{ir,parallel,monolingual}.jsonl   [data/ddtp]
#   ADAPT_CORPUS      documents to re-embed (JSONL)                          [$ADAPT_DATA/quickstart/corpus.jsonl]
#   ADAPT_ID_FIELD    the corpus's id field                                  [_id]
#   ADAPT_INDEX       alias to re-embed behind                               [$LACL_INDEX or ddtp]
#   ADAPT_BASE_MODEL  model to start from and compare with                   [default]
#   ADAPT_CONFIG      training config                                        [configs/train/cpu.yaml]
#   ADAPT_STEPS       optimiser steps                                        [100]
#   ADAPT_TRAIN_ARGS  more KEY=VALUE training overrides                      []
#   ADAPT_MODEL       where the adapted model is written                     [models/adapted]
#   ADAPT_RUN         run folder (logs, adapt.json)                          [runs/adapt]
#   ADAPT_BACKEND     auto | torch | onnx-fp32 | onnx-int8 | openvino; auto = the base model's saved backend
#   ADAPT_THREADS     CPU threads                                            [all cores]
#   ADAPT_PROGRESS    1: progress bars with ETA; 0: none                     [1]
#   ADAPT_DEMO        1: start the demo at the end; 0: print its command     [1]
# Writes $ADAPT_RUN/adapt.json (model, indices, backend, seconds) and prints the demo command.
set -euo pipefail
cd "$(dirname "$0")/.."

DATA=${ADAPT_DATA:-data/ddtp}
CORPUS=${ADAPT_CORPUS:-$DATA/quickstart/corpus.jsonl}
ID_FIELD=${ADAPT_ID_FIELD:-_id}
INDEX=${ADAPT_INDEX:-${LACL_INDEX:-ddtp}}
BASE=${ADAPT_BASE_MODEL:-default}
CONFIG=${ADAPT_CONFIG:-configs/train/cpu.yaml}
STEPS=${ADAPT_STEPS:-100}
TRAIN_ARGS=${ADAPT_TRAIN_ARGS:-}
MODEL=${ADAPT_MODEL:-models/adapted}
RUN=${ADAPT_RUN:-runs/adapt}
BACKEND=${ADAPT_BACKEND:-auto}
PROGRESS=${ADAPT_PROGRESS:-1}
DEMO=${ADAPT_DEMO:-1}
THREADS=()
[ -n "${ADAPT_THREADS:-}" ] && THREADS=(--threads "$ADAPT_THREADS")
NO_PROGRESS=()
[ "$PROGRESS" = 1 ] || NO_PROGRESS=(--no-progress)
MIN_COSINE=0.99  # an exported graph must reproduce the torch embeddings this closely (export.json "check")

for f in "$DATA/train/ir.jsonl" "$DATA/train/parallel.jsonl" "$DATA/train/monolingual.jsonl" "$CORPUS"; do
  [ -f "$f" ] || { echo "adapt: missing $f (run lacl-search data ddtp --out $DATA)" >&2; exit 1; }
done
mkdir -p "$RUN"

echo "== adapt 1/4: training the full method from $BASE ($STEPS steps, $CONFIG)" >&2
start=$(date +%s)
# shellcheck disable=SC2086
lacl-search "${THREADS[@]}" train --config "$CONFIG" "model=$BASE" "ir_file=$DATA/train/ir.jsonl" \
  "parallel_file=$DATA/train/parallel.jsonl" "monolingual_file=$DATA/train/monolingual.jsonl" \
  "max_steps=$STEPS" "output_dir=$RUN/train" "model_dir=$MODEL" save_every=0 "progress=$([ "$PROGRESS" = 1 ] \
  && echo true || echo false)" $TRAIN_ARGS
train_seconds=$(( $(date +%s) - start ))
rm -rf "${RUN:?}/train/checkpoints"  # the resumable state (~600 MB for the default model); the model is in $MODEL

echo "== adapt 2/4: choosing the serving backend" >&2
if [ "$BACKEND" = auto ]; then
  # The base model's saved backend: what `lacl-search model install --backend` made it after the fast-encoder
  # quality gate (benchmarks/quality_gate.py); torch when none was chosen.
  BACKEND=$(python - "$BASE" <<'PY'
import json, sys
from pathlib import Path
from lacl_search.core import registry
config = Path(registry.resolve(sys.argv[1])) / "lacl_encoder.json"
print(json.loads(config.read_text()).get("backend", "torch") if config.is_file() else "torch")
PY
)
fi
if [ "$BACKEND" != torch ]; then
  if lacl-search model export --help >/dev/null 2>&1; then
    lacl-search model export --backend "$BACKEND" "$MODEL" >&2
    if ! python - "$MODEL" "$BACKEND" "$MIN_COSINE" <<'PY'
import json, sys
from pathlib import Path
check = json.loads((Path(sys.argv[1]) / "onnx" / "export.json").read_text()).get("check", {})
cosine = check.get(f"{sys.argv[2]}_min_cosine", 0.0)
print(f"adapt: {sys.argv[2]} export min cosine to torch {cosine}", file=sys.stderr)
sys.exit(0 if cosine >= float(sys.argv[3]) else 1)
PY
    then
      echo "adapt: the $BACKEND export is not close enough to torch; serving the adapted model with torch" >&2
      lacl-search model export --backend torch "$MODEL" >&2
      BACKEND=torch
    fi
  else
    echo "adapt: 'lacl-search model export' is not available; serving the adapted model with torch" >&2
    BACKEND=torch
  fi
fi

echo "== adapt 3/4: re-embedding $CORPUS into a new index behind alias $INDEX (the old one is kept)" >&2
start=$(date +%s)
report=$(lacl-search "${THREADS[@]}" ingest --input "$CORPUS" --index "$INDEX" --model "$MODEL" \
  --id-field "$ID_FIELD" --keep-old "${NO_PROGRESS[@]}" | tail -n 1)
ingest_seconds=$(( $(date +%s) - start ))

echo "== adapt 4/4: the demo, adapted ($INDEX) next to base" >&2
# The base index: the newest complete index of this alias family embedded with the base model.
python - "$RUN/adapt.json" "$BASE" "$MODEL" "$INDEX" "$BACKEND" "$STEPS" "$train_seconds" "$ingest_seconds" \
  "$report" <<'PY'
import json, sys
from lacl_search.core.encoder import Encoder
from lacl_search.serving.client import make_client
out, base, model, alias, backend, steps, train_s, ingest_s, report = sys.argv[1:]
client = make_client()
fingerprint = Encoder.load(base, device="cpu").fingerprint()
mappings = client.indices.get_mapping(index=f"{alias}-*")
serving = sorted(client.indices.get_alias(name=alias))
base_indices = sorted(i for i, m in mappings.items() if i not in serving
                      and m["mappings"].get("_meta", {}).get("model_fingerprint") == fingerprint
                      and m["mappings"].get("_meta", {}).get("build_state", "complete") == "complete")
if not base_indices:
    sys.exit(f"adapt: no index of alias {alias!r} embedded with {base!r} to compare with (run the quickstart first)")
result = {"model": model, "base_model": base, "index": alias, "serving_indices": serving,
          "base_index": base_indices[-1], "backend": backend, "steps": int(steps),
          "train_seconds": int(train_s), "ingest_seconds": int(ingest_s), "ingest": json.loads(report)}
with open(out, "w", encoding="utf-8") as fh:
    json.dump(result, fh, indent=1)
PY
BASE_INDEX=$(python -c 'import json,sys; print(json.load(open(sys.argv[1]))["base_index"])' "$RUN/adapt.json")
echo "adapt: trained in ${train_seconds} s, re-embedded in ${ingest_seconds} s; alias $INDEX now serves $MODEL," \
  "base index $BASE_INDEX kept ($RUN/adapt.json)" >&2
DEMO_CMD=(lacl-search demo --index "$INDEX" --model "$MODEL" --compare-model "$BASE" --compare-index "$BASE_INDEX")
echo "Search the adapted index: lacl-search search --index $INDEX --model $MODEL 'Werkzeug zum Komprimieren von Bildern'"
echo "Demo: ${DEMO_CMD[*]}"
if [ "$DEMO" = 1 ]; then
  echo "Starting the demo (Ctrl-C to stop; OpenSearch keeps running: lacl-search opensearch stop)"
  exec "${DEMO_CMD[@]}"
fi
