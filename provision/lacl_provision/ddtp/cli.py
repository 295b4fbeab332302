"""``lacl-search data ...``: build datasets (``data ddtp`` for Debian's translated descriptions)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lacl_provision.ddtp import ddtp


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``data`` command and its ``ddtp`` subcommand."""
    data = subparsers.add_parser("data", help="build benchmarks and training data")
    sub = data.add_subparsers(dest="data_command", metavar="SOURCE", required=True)
    p = sub.add_parser("ddtp", help="Debian description translations -> BEIR benchmarks + training JSONL")
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument("--langs", nargs="+", default=list(ddtp.TRAIN_LANGS),
                   help="training languages (default: %(default)s)")
    p.add_argument("--eval-langs", nargs="+", default=list(ddtp.HELDOUT_LANGS),
                   help="held-out languages, benchmarks only (default: %(default)s)")
    p.add_argument("--max-test-queries", type=int, default=500, help="query cap per benchmark")
    p.add_argument("--mixed-max-packages", type=int, default=1500,
                   help="packages in the mixed-language benchmark (all their language versions are documents)")
    p.add_argument("--negatives", type=int, default=4, help="BM25 hard negatives per IR pair")
    p.add_argument("--seed", type=int, default=13, help="split and sampling seed")
    p.add_argument("--include-reserved", action="store_true",
                   help="also use the reserved held-out md5s (never for reported results)")
    p.add_argument("--refresh", action="store_true", help="re-download the apt lists")
    p.add_argument("--lists", type=Path, help="read this apt lists folder instead of fetching")
    p.set_defaults(func=run_ddtp)


def run_ddtp(args: argparse.Namespace) -> int:
    """Build the DDTP datasets from parsed arguments; print the output folder."""
    from lacl_provision.ddtp.benchmarks import BenchmarkSpec
    from lacl_provision.ddtp.build import DdtpConfig, run

    config = DdtpConfig(out=args.out, langs=args.langs, eval_langs=args.eval_langs, seed=args.seed,
                        bench=BenchmarkSpec(max_queries=args.max_test_queries,
                                            mixed_max_packages=args.mixed_max_packages),
                        include_reserved=args.include_reserved, refresh=args.refresh,
                        negatives=args.negatives, lists=args.lists)
    sys.stdout.write(f"{run(config)}\n")
    return 0
