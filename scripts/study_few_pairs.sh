#!/usr/bin/env bash
# The few-parallel-pairs study (issue 13, item 2): is a small parallel set enough for the method?
# With the same IR data, steps and seeds: IR-only; IR + semantic ("ir-sem") and the full method ("lacl")
# with the parallel set capped at each of $SIZES pairs, language-balanced (the same number of pairs per
# training language, balance_parallel_pairs=true, and languages drawn uniformly, language_sampling_alpha=0);
# every model over each seed of $SEEDS. Then one exact evaluation of all models on the same queries and
# corpora (X -> en for training languages and for da, sk, ko without parallel data, mono, mixed with its
# language-bias figures) and the study's tables (python -m lacl_trainer.study): mean ± sd over seeds,
# paired t-tests across queries, seed-by-seed differences.
#
#   bash scripts/study_few_pairs.sh                          # the study (4-4.5 hours on 2 CPU cores)
#   STEPS=60 SIZES="500 all" EVAL_MAX_LENGTH=64 EVAL_BASE=0 bash scripts/study_few_pairs.sh   # ~2 hours: the
#                                                            # run in docs/results.md
#   STEPS=2 SEEDS="1 2" SIZES="50 all" EVAL_MAX_QUERIES=20 EVAL_MAX_CORPUS=200 \
#     BENCHMARKS="xling-de-en xling-da-en mono-de mixed" RUNS=runs/few-pairs-smoke bash scripts/study_few_pairs.sh
#
# Writes models under $MODELS/<name> (name = ir-only-s<seed> or <variant>-<size>-s<seed>), training logs
# under $RUNS/<name>/, $RUNS/results.json (per-query values too), $RUNS/study.md. A model folder that
# is already complete is re-used (set RETRAIN=1 to train again), so an interrupted study resumes.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PY:-python}
DATA=${DATA:-data/ddtp}
BASE_MODEL=${BASE_MODEL:-default}
CONFIG=${CONFIG:-configs/train/cpu.yaml}     # batch 16 + 1 hard negative, 16 pairs, 16 texts, 64 tokens, λ_lang 3
RUNS=${RUNS:-runs/few-pairs}
MODELS=${MODELS:-$RUNS/models}
STEPS=${STEPS:-100}
SEEDS=${SEEDS:-"1 2"}
SIZES=${SIZES:-"500 5000 all"}
VARIANTS=${VARIANTS:-"ir-sem lacl"}
THREADS=${THREADS:-2}
RETRAIN=${RETRAIN:-0}
EXTRA_ARGS=${EXTRA_ARGS:-}
# X -> en: five training languages and three without parallel data (one shared English corpus); mono in two
# training languages; mixed (19 languages, the language-bias figures).
BENCHMARKS=${BENCHMARKS:-"xling-de-en xling-fr-en xling-ja-en xling-ru-en xling-zh_CN-en xling-da-en xling-sk-en \
xling-ko-en mono-de mono-ja mixed"}
EVAL_MAX_QUERIES=${EVAL_MAX_QUERIES:-200}
EVAL_MAX_CORPUS=${EVAL_MAX_CORPUS:-0}
EVAL_MAX_LENGTH=${EVAL_MAX_LENGTH:-128}
EVAL_BASE=${EVAL_BASE:-1}  # 0: leave the untrained base encoder out of the evaluation (the study's reference is IR-only)

for f in ir.jsonl parallel.jsonl monolingual.jsonl; do
  [[ -f "$DATA/train/$f" ]] || { echo "missing $DATA/train/$f: run lacl-search data ddtp --out $DATA" >&2; exit 1; }
done
mkdir -p "$RUNS" "$MODELS"

train() {  # NAME KEY=VALUE...: train one model unless it is already complete
  local name=$1; shift
  if [[ "$RETRAIN" != 1 && -f "$MODELS/$name/train_config.json" ]]; then
    echo "== $name: already trained, re-used" >&2; return
  fi
  echo "== training $name ($STEPS steps)" >&2
  rm -rf "${RUNS:?}/$name" "${MODELS:?}/$name"
  local start; start=$(date +%s)
  # shellcheck disable=SC2086
  $PY -m lacl_trainer --threads "$THREADS" --config "$CONFIG" "model=$BASE_MODEL" \
    "ir_file=$DATA/train/ir.jsonl" "parallel_file=$DATA/train/parallel.jsonl" \
    "monolingual_file=$DATA/train/monolingual.jsonl" "max_steps=$STEPS" save_every=0 progress=false \
    "output_dir=$RUNS/$name" "model_dir=$MODELS/$name" "$@" $EXTRA_ARGS 2> "$RUNS/$name.log"
  echo "{\"model\": \"$name\", \"train_seconds\": $(( $(date +%s) - start ))}" > "$RUNS/$name.time.json"
}

models=()
[[ "$EVAL_BASE" == 0 ]] || models+=(--model "base=$BASE_MODEL")
for seed in $SEEDS; do
  train "ir-only-s$seed" "seed=$seed" lambda_sem=0 lambda_lang=0 parallel_batch_size=0 monolingual_batch_size=0
  models+=(--model "ir-only-s$seed=$MODELS/ir-only-s$seed")
  for size in $SIZES; do
    cap=$([[ "$size" == all ]] && echo 0 || echo "$size")
    balance=(language_sampling_alpha=0 "max_parallel_pairs=$cap" balance_parallel_pairs=true)
    for variant in $VARIANTS; do
      case "$variant" in
        ir-sem) weights=(lambda_lang=0 monolingual_batch_size=0) ;;
        lacl) weights=() ;;  # the config's λ_sem and λ_lang
        *) echo "unknown variant $variant" >&2; exit 1 ;;
      esac
      train "$variant-$size-s$seed" "seed=$seed" "${balance[@]}" "${weights[@]}"
      models+=(--model "$variant-$size-s$seed=$MODELS/$variant-$size-s$seed")
    done
  done
done

evaluate() {  # OUT BENCHMARK...: every model on the given benchmarks, one process (one corpus cache)
  local out=$1; shift
  lacl-search --threads "$THREADS" eval models --data "$DATA" "${models[@]}" --benchmarks "$@" \
    --max-queries "$EVAL_MAX_QUERIES" --max-corpus "$EVAL_MAX_CORPUS" --max-length "$EVAL_MAX_LENGTH" \
    --out "$out" 2>> "$RUNS/eval.log"
}

echo "== evaluating $(( ${#models[@]} / 2 )) models" >&2
rm -f "$RUNS"/results*.json "$RUNS/eval.log"
results=()
if [[ "$EVAL_MAX_CORPUS" == 0 ]]; then
  # shellcheck disable=SC2086
  evaluate "$RUNS/results.json" $BENCHMARKS  # the X -> en sets share one English corpus, encoded once per model
  results=("$RUNS/results.json")
else
  # A capped corpus differs per benchmark, but the evaluator caches corpus embeddings by corpus file and cap,
  # so benchmarks sharing a corpus file (the X -> en sets) must not share a process: one per benchmark.
  for bench in $BENCHMARKS; do
    evaluate "$RUNS/results-$bench.json" "$bench"
    results+=("$RUNS/results-$bench.json")
  done
fi
$PY -m lacl_trainer.study "${results[@]}" --reference ir-only --markdown "$RUNS/study.md"
