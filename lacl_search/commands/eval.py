"""``lacl-search eval``: score runs, compare them, fuse them, and evaluate encoders.

- ``lacl-search eval --run run.trec --dataset DIR --output scores.json``: nDCG@10, R@100, MRR@10,
  per query language and language bias of one TREC run (from ``lacl-search search --queries``).
- ``lacl-search eval report --dataset DIR --run base=a.trec --run lacl=b.trec``: the runs side by side
  with paired t-tests against the first.
- ``lacl-search eval fuse --run a.trec --run b.trec --method minmax --weights 0.5,0.5 --output f.trec``:
  offline fusion of saved runs (no re-querying).
- ``lacl-search eval models ...``: several encoders on several benchmarks, exact in-memory search.
- ``lacl-search eval geometry ...``: language identity and spread of encoders' document spaces.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from lacl_search.core.types import Fusion


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("eval", help="score, compare and fuse TREC runs; evaluate encoders",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run", type=Path, help="TREC run file to score")
    p.add_argument("--dataset", type=Path, help="BEIR folder (queries.jsonl, corpus.jsonl, qrels/SPLIT.tsv)")
    p.add_argument("--output", type=Path, help="scores JSON to write (default: print the summary only)")
    p.add_argument("--split", default="test", help="qrels split file name (default test)")
    p.set_defaults(func=score)
    sub = p.add_subparsers(dest="eval_command", metavar="ACTION")

    report = sub.add_parser("report", help="compare scored runs with paired t-tests (markdown)")
    report.add_argument("--dataset", type=Path, required=True, help="BEIR folder the runs answer")
    report.add_argument("--run", action="append", required=True, metavar="NAME=RUN",
                        help="a named TREC run (repeatable; the first is the reference)")
    report.add_argument("--split", default="test", help="qrels split file name")
    report.add_argument("--metric", default="ndcg@10", choices=["ndcg@10", "recall@100", "mrr@10"],
                        help="metric of the paired tests")
    report.add_argument("--output", type=Path, help="markdown file (default: stdout)")
    report.set_defaults(func=compare)

    fuse = sub.add_parser("fuse", help="fuse saved TREC runs offline")
    fuse.add_argument("--run", action="append", required=True, type=Path, help="a TREC run (repeatable, >= 2)")
    fuse.add_argument("--method", choices=Fusion.choices(), default=Fusion.MINMAX.value, help="fusion method")
    fuse.add_argument("--weights", help="comma-separated weights, one per run (default: equal)")
    fuse.add_argument("--depth", type=int, default=100, help="hits kept per query")
    fuse.add_argument("--output", type=Path, required=True, help="fused TREC run to write")
    fuse.set_defaults(func=fuse_command)

    from lacl_search.evaluation import geometry
    from lacl_search.evaluation import report as report_module

    models = sub.add_parser("models", help="evaluate encoders on BEIR benchmarks (exact in-memory search)")
    report_module.add_arguments(models)
    models.set_defaults(func=report_module.run)
    geo = sub.add_parser("geometry", help="language identity and spread of encoders' document spaces")
    geometry.add_arguments(geo)
    geo.set_defaults(func=geometry.run)


def score(args: argparse.Namespace) -> int:
    from lacl_search.errors import BadInput
    from lacl_search.evaluation import runs, scoring

    if args.run is None or args.dataset is None:
        raise BadInput("eval needs --run RUN --dataset DIR (or an action: report, fuse, models, geometry)")
    result = scoring.score_run(runs.read_trec_run(args.run), args.dataset, split=args.split)
    result = {"run": str(args.run), **result}
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    summary = {k: result[k] for k in ("ndcg@10", "recall@100", "mrr@10", "queries", "docs")}
    sys.stdout.write(json.dumps({**summary, "language_bias": result["language_bias"]}) + "\n")
    return 0


def compare(args: argparse.Namespace) -> int:
    from lacl_search.evaluation import runs, scoring
    from lacl_search.evaluation.geometry import parse_models
    from lacl_search.evaluation.report import compare_runs

    named = parse_models(args.run)
    scored = {name: scoring.score_run(runs.read_trec_run(path), args.dataset, split=args.split)
              for name, path in named.items()}
    table = compare_runs(scored, args.metric)
    if args.output:
        args.output.write_text(table, encoding="utf-8")
    else:
        sys.stdout.write(table)
    return 0


def fuse_command(args: argparse.Namespace) -> int:
    from lacl_search.errors import BadInput
    from lacl_search.evaluation import runs

    weights = None
    if args.weights:
        try:
            weights = [float(w) for w in args.weights.split(",")]
        except ValueError:
            raise BadInput(f"--weights takes comma-separated numbers, got {args.weights!r}") from None
    fused = runs.fuse_runs([runs.read_trec_run(p) for p in args.run], method=args.method, weights=weights,
                           depth=args.depth)
    tag = f"lacl-fused-{args.method}"
    sys.stdout.write(f"{runs.write_trec_run(args.output, fused, tag)}\n")
    return 0
