#!/usr/bin/env bash
# The LACL ablation (issue 4): from the offline default encoder, train with the same IR data, steps and
# batch sizes (a) IR loss only, (b) IR + semantic, (c) IR + semantic + language (the full method), then
# evaluate the base model and (a)-(c) with exact in-memory search on the DDTP dev benchmarks.
#
#   scripts/experiment_lacl.sh                       # defaults sized for 2 CPU cores
#   STEPS=600 IR_BATCH=32 scripts/experiment_lacl.sh # scale up
#   VARIANTS="ir-only lacl" SKIP_EVAL=1 scripts/experiment_lacl.sh
#
# Writes models/ir-only/, models/ir-sem/, models/lacl/ (git-ignored), runs/lacl-experiment/<variant>/
# (logs, TensorBoard, checkpoints) and runs/lacl-experiment/results.{json,md}.
# Needs: `lacl-search model install` (the "default" model) and `lacl-search data ddtp --out $DATA`.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PY:-python}
DATA=${DATA:-data/ddtp}                       # output of `lacl-search data ddtp --out DIR`
BASE_MODEL=${BASE_MODEL:-default}
CONFIG=${CONFIG:-configs/train/cpu.yaml}
RUNS=${RUNS:-runs/lacl-experiment}
STEPS=${STEPS:-100}                           # optimiser steps per variant
IR_BATCH=${IR_BATCH:-16}                      # B: IR examples per step
HARD_NEGATIVES=${HARD_NEGATIVES:-1}
PARALLEL_BATCH=${PARALLEL_BATCH:-16}          # P: parallel pairs per step (b, c)
MONO_BATCH=${MONO_BATCH:-16}                  # M: non-parallel texts per step (c)
MAX_LENGTH=${MAX_LENGTH:-64}
LR=${LR:-3e-5}
TAU=${TAU:-0.05}
LAMBDA_SEM=${LAMBDA_SEM:-1.0}
LAMBDA_LANG=${LAMBDA_LANG:-3.0}
THREADS=${THREADS:-2}
SEED=${SEED:-42}
TRAIN_LANGS=${TRAIN_LANGS:-de,fr,es,it,ja,ru,zh_CN,pt_BR,en}
VARIANTS=${VARIANTS:-"ir-only ir-sem lacl"}
# Evaluation: training languages X->en, three languages without parallel data, monolingual, mixed.
BENCHMARKS=${BENCHMARKS:-"xling-de-en xling-fr-en xling-es-en xling-it-en xling-ja-en xling-ru-en \
xling-zh_CN-en xling-pt_BR-en xling-da-en xling-sk-en xling-ko-en mono-en mono-de mono-ja mono-da mixed"}
EVAL_MAX_QUERIES=${EVAL_MAX_QUERIES:-200}     # per benchmark (0: all)
EVAL_MAX_CORPUS=${EVAL_MAX_CORPUS:-6000}      # cap on a corpus: judged docs + random distractors (0: all)
EVAL_MAX_LENGTH=${EVAL_MAX_LENGTH:-128}
SKIP_EVAL=${SKIP_EVAL:-0}
TAG=${TAG:-}                                  # suffix of the output names (models/lacl$TAG, ...)
EXTRA_ARGS=${EXTRA_ARGS:-}                    # more KEY=VALUE trainer overrides for every variant

for f in ir.jsonl parallel.jsonl monolingual.jsonl; do
  [[ -f "$DATA/train/$f" ]] || { echo "missing $DATA/train/$f: run lacl-search data ddtp --out $DATA" >&2; exit 1; }
done

common=(
  "model=$BASE_MODEL" "ir_file=$DATA/train/ir.jsonl" "parallel_file=$DATA/train/parallel.jsonl"
  "monolingual_file=$DATA/train/monolingual.jsonl" "train_langs=$TRAIN_LANGS"
  "max_steps=$STEPS" "ir_batch_size=$IR_BATCH" "hard_negatives=$HARD_NEGATIVES" "max_length=$MAX_LENGTH"
  "learning_rate=$LR" "tau_ir=$TAU" "tau_sem=$TAU" "tau_lang=$TAU" "seed=$SEED"
)

variant_args() {  # the loss weights and extra batch parts of one variant
  case "$1" in
    ir-only) echo "lambda_sem=0 lambda_lang=0 parallel_batch_size=0 monolingual_batch_size=0" ;;
    ir-sem)  echo "lambda_sem=$LAMBDA_SEM lambda_lang=0 parallel_batch_size=$PARALLEL_BATCH monolingual_batch_size=0" ;;
    lacl)    echo "lambda_sem=$LAMBDA_SEM lambda_lang=$LAMBDA_LANG parallel_batch_size=$PARALLEL_BATCH monolingual_batch_size=$MONO_BATCH" ;;
    *) echo "unknown variant $1" >&2; exit 1 ;;
  esac
}

mkdir -p "$RUNS" models
for variant in $VARIANTS; do
  name=$variant$TAG
  echo "== training $name ($STEPS steps)" >&2
  rm -rf "${RUNS:?}/$name"
  start=$(date +%s)
  # shellcheck disable=SC2046,SC2086
  $PY -m lacl_trainer --threads "$THREADS" --config "$CONFIG" "${common[@]}" $(variant_args "$variant") $EXTRA_ARGS \
    "output_dir=$RUNS/$name" "model_dir=models/$name" save_every=0 \
    2> >(tee "$RUNS/$name.log" >&2)
  echo "{\"variant\": \"$name\", \"train_seconds\": $(( $(date +%s) - start ))}" > "$RUNS/$name.time.json"
done

if [[ "$SKIP_EVAL" != 1 ]]; then
  models=(--model "base=$BASE_MODEL")
  for variant in $VARIANTS; do models+=(--model "$variant$TAG=models/$variant$TAG"); done
  # shellcheck disable=SC2086
  lacl-search --threads "$THREADS" eval models --data "$DATA" "${models[@]}" --benchmarks $BENCHMARKS \
    --max-queries "$EVAL_MAX_QUERIES" --max-corpus "$EVAL_MAX_CORPUS" --max-length "$EVAL_MAX_LENGTH" \
    --out "$RUNS/results.json" --markdown "$RUNS/results.md"
  cat "$RUNS/results.md"
fi
