"""``lacl-search eval``: evaluate BM25, dense or hybrid retrieval on a BEIR dataset."""

from __future__ import annotations

import argparse
import json
import sys

from lacl_search.settings import ClusterSettings


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("eval", help="evaluate retrieval on a BEIR dataset against OpenSearch")
    p.add_argument("--dataset", required=True, help="BEIR folder (corpus.jsonl, queries.jsonl, qrels/test.tsv)")
    p.add_argument("--mode", choices=["bm25", "dense", "hybrid"], default="hybrid")
    p.add_argument("--model", default="default", help="encoder: 'default', a local path or a hub id")
    p.add_argument("--index", help="index alias (default eval-<dataset name>)")
    p.add_argument("--output", required=True, help="metrics JSON; the TREC run goes next to it (.trec)")
    p.add_argument("--weight", type=float, default=0.5, help="hybrid weight of the dense side")
    p.add_argument("--fusion", choices=["minmax", "rrf"], default="minmax")
    p.add_argument("--split", default="test", help="qrels split file name")
    ClusterSettings.add_arguments(p)
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from lacl_search.client import connect
    from lacl_search.evaluation.runner import EvalConfig, run

    client = connect(ClusterSettings.from_args(args))
    config = EvalConfig(dataset=args.dataset, output=args.output, mode=args.mode, model=args.model,
                        index=args.index, weight=args.weight, fusion=args.fusion, split=args.split)
    result = run(config, client)
    summary = {k: result[k] for k in ("ndcg@10", "recall@100", "mrr@10", "queries", "docs")}
    sys.stdout.write(json.dumps({**summary, "language_bias": result["language_bias"]}) + "\n")
    return 0
