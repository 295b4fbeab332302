#!/usr/bin/env bash
# Evaluate bm25 / dense / hybrid on the project's DDTP development benchmarks and print a markdown table.
#
# Usage: bash benchmarks/eval_ddtp.sh [DATA_DIR=data/ddtp] [OUT_DIR=results/ddtp] [MODEL=default]
# Needs a running cluster ($OPENSEARCH_URL or `lacl-search opensearch start`). Three explicit steps per
# benchmark: build the index (`lacl-search ingest`; the cross-lingual benchmarks share one English corpus,
# embedded once), write one TREC run per mode (`lacl-search search --queries`), score each run
# (`lacl-search eval --run`). Runs stay on disk for re-scoring, fusion (`lacl-search eval fuse`) and
# comparison (`lacl-search eval report`).
set -euo pipefail
DATA="${1:-data/ddtp}"; OUT="${2:-results/ddtp}"; MODEL="${3:-default}"
BENCHES="${BENCHES:-xling-de-en xling-fr-en xling-ja-en xling-ru-en xling-zh_CN-en xling-da-en xling-sk-en xling-uk-en mixed}"
MODES="${MODES:-bm25 dense hybrid}"
tag=$(basename "$MODEL" | tr -c 'a-z0-9\n' '-')
mkdir -p "$OUT/$tag"
declare -A built=()
for bench in $BENCHES; do
  [ -d "$DATA/$bench" ] || { echo "skip $bench: not in $DATA" >&2; continue; }
  case "$bench" in xling-*) index="dev-en-$tag" ;; *) index="dev-$bench-$tag" ;; esac
  if [ -z "${built[$index]:-}" ]; then
    lacl-search ingest --input "$DATA/$bench/corpus.jsonl" --index "$index" --id-field _id --model "$MODEL" \
      --no-progress >/dev/null
    built[$index]=1
  fi
  for mode in $MODES; do
    run="$OUT/$tag/$bench-$mode.trec"
    lacl-search search --index "$index" --mode "$mode" --model "$MODEL" --queries "$DATA/$bench/queries.jsonl" \
      --output "$run" >/dev/null
    lacl-search eval --run "$run" --dataset "$DATA/$bench" --output "${run%.trec}.json" >/dev/null
  done
done
python - "$OUT/$tag" <<'PY'
import json, pathlib, sys
rows = []
for path in sorted(pathlib.Path(sys.argv[1]).glob("*.json")):
    r = json.loads(path.read_text()); b = r["language_bias"]
    f = lambda x: "" if x is None else f"{x:.3f}"
    bench, mode = path.stem.rsplit("-", 1)
    rows.append(f"| {bench} | {mode} | {r['ndcg@10']:.3f} | {r['recall@100']:.3f} | "
                f"{f(b['recall@100_same_lang'])} | {f(b['recall@100_other_lang'])} | {f(b['top10_share_query_lang'])} | "
                f"{r['queries']} | {r['docs']} |")
print("| benchmark | mode | nDCG@10 | R@100 | R@100 same-lang | R@100 other-lang | top-10 share query lang | queries | docs |")
print("|---|---|---|---|---|---|---|---|---|")
print("\n".join(rows))
PY
