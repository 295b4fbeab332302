"""Benchmark: server time of today's hybrid query (min-max 0.5 / 0.5) against the language-aware one.

Usage: python benchmarks/fusion_latency.py --index dev-mixed-default --dataset data/ddtp/mixed
    --profile runs/fusion/profile.json [--queries 300] [--model default]

Both requests of a query use the same query vector and detected language; each is sent once to warm up,
then the two are timed alternately. Prints p50 / p95 of OpenSearch's own ``took`` (server time, ms) and
the ratio of the p50s.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from statistics import median

import numpy as np

from lacl_search.core.encoder import Encoder
from lacl_search.core.fusion_profile import FusionProfile
from lacl_search.core.langid import detect_query_language
from lacl_search.core.request import SearchRequest
from lacl_search.core.settings import ClusterSettings
from lacl_search.evaluation import beir
from lacl_search.serving import language_plan, plan
from lacl_search.serving.client import connect
from lacl_search.serving.search import Searcher


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", required=True)
    parser.add_argument("--dataset", type=Path, required=True)
    parser.add_argument("--profile", type=Path, required=True)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--model", default="default")
    args = parser.parse_args()
    client = connect(ClusterSettings.from_env())
    profile = FusionProfile.from_json(args.profile.read_text(encoding="utf-8"))
    found = beir.load_queries(args.dataset)[: args.queries]
    vectors = Encoder.load(args.model).encode_queries([q.text for q in found]).tolist()
    searcher = Searcher(client, index=args.index)
    took: dict[str, list[int]] = {"hybrid 0.5": [], "language-aware": []}
    for query, vector in zip(found, vectors, strict=True):
        request = SearchRequest(query=query.text, k=10, fusion="minmax", explain=False)
        lang = detect_query_language(query.text)
        bodies = {"hybrid 0.5": plan.hybrid_plan(request, vector, lang),
                  "language-aware": language_plan.server_plan(request, vector, lang, profile)}
        for hybrid in bodies.values():
            searcher.ensure_pipeline(hybrid.pipeline_name, hybrid.pipeline)
        for repeat in range(2):
            for name, hybrid in bodies.items():
                resp = client.search(index=args.index, body=hybrid.body, search_pipeline=hybrid.pipeline_name)
                if repeat:
                    took[name].append(int(resp["took"]))
    for name, values in took.items():
        print(f"{name}: p50 {median(values):.1f} ms, p95 {np.percentile(values, 95):.1f} ms ({len(values)} queries)")
    ratio = median(took["language-aware"]) / max(median(took["hybrid 0.5"]), 1e-9)
    print(f"ratio of p50s: {ratio:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
