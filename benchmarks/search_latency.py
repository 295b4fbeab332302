"""Benchmark: end-to-end search latency per mode (query encoding included), printed as a table.

Usage:
    python benchmarks/search_latency.py --index ddtp --queries data/ddtp/xling-de-en/queries.jsonl [-n 200]

Runs every query once per mode after a short warm-up and prints p50 / p95 / mean in milliseconds.
Numbers only make sense on an otherwise idle machine; they are not asserted anywhere.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import time

import numpy as np

from lacl_search.core.encoder import Encoder
from lacl_search.core.settings import ClusterSettings
from lacl_search.serving.client import connect
from lacl_search.serving.search import MODES, Searcher

log = logging.getLogger("bench")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", required=True)
    parser.add_argument("--queries", required=True, help="queries.jsonl (BEIR)")
    parser.add_argument("--model", default="default")
    parser.add_argument("-n", type=int, default=200, help="queries per mode")
    parser.add_argument("-k", type=int, default=10)
    parser.add_argument("--explain", action="store_true", help="attach score parts to hybrid hits")
    ClusterSettings.add_arguments(parser)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    client = connect(ClusterSettings.from_args(args))
    with open(args.queries, encoding="utf-8") as fh:
        texts = [json.loads(line)["text"] for line in fh if line.strip()][: args.n]
    searcher = Searcher(client, Encoder.load(args.model), args.index)
    sys.stdout.write(f"index {args.index}, {len(texts)} queries, k={args.k}\n")
    sys.stdout.write(f"{'mode':<8}{'p50 ms':>10}{'p95 ms':>10}{'mean ms':>10}\n")
    for mode in MODES:
        for text in texts[:5]:  # warm-up: pipelines, caches, JIT
            searcher.search(text, mode, args.k, explain=args.explain)
        times = []
        for text in texts:
            start = time.perf_counter()
            searcher.search(text, mode, args.k, explain=args.explain)
            times.append((time.perf_counter() - start) * 1000)
        p50, p95 = np.percentile(times, [50, 95])
        sys.stdout.write(f"{mode:<8}{p50:>10.1f}{p95:>10.1f}{statistics.fmean(times):>10.1f}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
