#!/usr/bin/env bash
# Evaluate bm25 / dense / hybrid on the project's DDTP development benchmarks and print a markdown table.
#
# Usage: bash benchmarks/eval_ddtp.sh [DATA_DIR=data/ddtp] [OUT_DIR=results/ddtp] [MODEL=default]
# Needs a running cluster ($OPENSEARCH_URL or `lacl-search opensearch start`). The cross-lingual
# benchmarks share one English corpus, so it is embedded once (the index is re-used by fingerprint).
set -euo pipefail
DATA="${1:-data/ddtp}"; OUT="${2:-results/ddtp}"; MODEL="${3:-default}"
BENCHES="${BENCHES:-xling-de-en xling-fr-en xling-ja-en xling-ru-en xling-zh_CN-en xling-da-en xling-sk-en xling-uk-en mixed}"
MODES="${MODES:-bm25 dense hybrid}"
tag=$(basename "$MODEL" | tr -c 'a-z0-9\n' '-')
mkdir -p "$OUT"
for bench in $BENCHES; do
  [ -d "$DATA/$bench" ] || { echo "skip $bench: not in $DATA" >&2; continue; }
  case "$bench" in xling-*) index="dev-en-$tag" ;; *) index="dev-$bench-$tag" ;; esac
  for mode in $MODES; do
    lacl-search eval --dataset "$DATA/$bench" --mode "$mode" --model "$MODEL" --index "$index" \
      --output "$OUT/$tag/$bench-$mode.json" >/dev/null
  done
done
python - "$OUT/$tag" <<'PY'
import json, pathlib, sys
rows = []
for path in sorted(pathlib.Path(sys.argv[1]).glob("*.json")):
    r = json.loads(path.read_text()); b = r["language_bias"]
    f = lambda x: "" if x is None else f"{x:.3f}"
    rows.append(f"| {pathlib.Path(r['dataset']).name} | {r['mode']} | {r['ndcg@10']:.3f} | {r['recall@100']:.3f} | "
                f"{f(b['recall@100_same_lang'])} | {f(b['recall@100_other_lang'])} | {f(b['top10_share_query_lang'])} | "
                f"{r['queries']} | {r['docs']} | {r['latency_ms']['p50']} / {r['latency_ms']['p95']} |")
print("| benchmark | mode | nDCG@10 | R@100 | R@100 same-lang | R@100 other-lang | top-10 share query lang | queries | docs | search ms p50 / p95 |")
print("|---|---|---|---|---|---|---|---|---|---|")
print("\n".join(rows))
PY
