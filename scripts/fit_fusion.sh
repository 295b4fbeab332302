#!/usr/bin/env bash
# Fit language-aware fusion weights for an encoder on the DDTP dev benchmarks, and print the comparison table.
#
# Usage: MODEL=default [DEPTH=30] [TITLE_FIELD=title] [MONO=1] [THREADS=N] [LEXICON=ddtp] [RANKER=1] bash scripts/fit_fusion.sh [DATA=data/ddtp] [OUT=runs/fusion]
# Needs a running cluster ($OPENSEARCH_URL). Steps: index each dev corpus with MODEL (lacl-search ingest),
# write per-leg runs of every dev benchmark (benchmarks/fusion_legs.py; with a lexicon also the translated
# dense leg the ranker reads, and both translated legs with translations induced from the encoder), fit
# the weights on one half of the training languages' queries (lacl-search fusion fit --half fit; languages
# without parallel data and the held-out descriptions are never used), and score every method on the other
# half (and on all queries of the unseen languages) with benchmarks/fusion_table.py. The profile (weights and
# the learned ranker of `--fusion learned`, fitted on the same queries; RANKER=0 leaves it out) is written to
# $OUT/profile.json;
# `lacl-search fusion apply --index ALIAS --profile $OUT/profile.json` attaches it to an index (or `lacl-search
# ingest ... --fusion-profile $OUT/profile.json` stores it in the index the job builds, before the alias moves;
# copied to $MODEL/fusion_profile.json, every later ingest with the model stores it).
set -euo pipefail
DATA="${1:-data/ddtp}"; OUT="${2:-runs/fusion}"; MODEL="${MODEL:-default}"; DEPTH="${DEPTH:-30}"
# LEXICON: the query-translation lexicon learned from the training languages' parallel pairs (LEXICON= : none)
LEXICON="${LEXICON-ddtp}"
if [[ -n "$LEXICON" ]]; then lacl-search fusion lexicon --parallel "$DATA/train/parallel.jsonl" --name "$LEXICON" >/dev/null; fi
TITLE_FIELD="${TITLE_FIELD-title}"  # TITLE_FIELD= (empty): the text-only set-up, documents indexed without titles
tag=$(basename "$MODEL" | tr -c 'a-z0-9\n' '-'); [[ -n "$TITLE_FIELD" ]] || tag="$tag-notitle"
TRAIN_XLING="de fr es it ja ru zh_CN pt_BR"; UNSEEN_XLING="da sk ko uk pl cs"
TRAIN_MONO="de fr it ja pt_BR ru"; UNSEEN_MONO="da sk ko uk pl"
if [[ "${MONO:-1}" == 0 ]]; then TRAIN_MONO=""; UNSEEN_MONO=""; fi  # MONO=0: X -> en and mixed only (12k documents, not 32k)
ingest() {  # corpus index
  lacl-search ${THREADS:+--threads "$THREADS"} ingest --input "$1" --index "$2" --id-field _id --title-field "$TITLE_FIELD" --model "$MODEL" \
    --no-progress >/dev/null
}
legs() {  # index benchmark
  python benchmarks/fusion_legs.py --index "$1" --dataset "$DATA/$2" --out "$OUT/legs/$2" --model "$MODEL" \
    ${LEXICON:+--lexicon "$LEXICON"}
}
ingest "$DATA/xling-de-en/corpus.jsonl" "dev-en-$tag"
ingest "$DATA/mixed/corpus.jsonl" "dev-mixed-$tag"
for l in $TRAIN_XLING $UNSEEN_XLING; do legs "dev-en-$tag" "xling-$l-en"; done
legs "dev-mixed-$tag" mixed
for l in $TRAIN_MONO $UNSEEN_MONO; do
  idx=$(echo "dev-mono-$l-$tag" | tr 'A-Z' 'a-z')
  ingest "$DATA/mono-$l/corpus.jsonl" "$idx"
  legs "$idx" "mono-$l"
done
fit=(mixed); for l in $TRAIN_XLING; do fit+=("xling-$l-en"); done; for l in $TRAIN_MONO; do fit+=("mono-$l"); done
# Fit and score at search's hybrid depth (each leg cut to its top $DEPTH, as the server's hybrid query does).
lacl-search fusion fit --legs "$OUT/legs" --data "$DATA" --benchmarks "${fit[@]}" --model "$MODEL" --half fit \
  --leg-depth "$DEPTH" --output "$OUT/profile.json" $([[ "${RANKER:-1}" == 1 ]] && echo --ranker)
python benchmarks/fusion_table.py --legs "$OUT/legs" --data "$DATA" --profile "$OUT/profile.json" --half report \
  --leg-depth "$DEPTH" | tee "$OUT/table.md"
