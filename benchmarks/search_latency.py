"""Benchmark: where a query's time goes, per mode, in one warm process (p50 / p95 milliseconds).

Usage:
    python benchmarks/search_latency.py --index quickstart --queries data/ddtp/mixed/queries.jsonl \
        [--model default] [--backend onnx-int8] [-n 100] [--explain] [--depth 30]

For each query and mode (bm25, dense, hybrid with fixed min-max fusion, and hybrid with the index's
language-aware fusion profile when it has one) it times the parts the Searcher runs, one after the
other: language identification (uncached), query encoding, request building, the server round trip
of the search (hybrid: with its normalisation pipeline), and the extra ``_msearch`` that fetches each
leg's score for hybrid hits (``--explain``, what the CLI shows); then the end-to-end
``Searcher.run`` of the same request (query text in, hits out). Numbers depend on what else the
machine runs; they are printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections import defaultdict

import numpy as np

from lacl_search.core.encoding import BACKENDS, load_encoder
from lacl_search.core.langid import detect_query_language
from lacl_search.core.request import SearchRequest
from lacl_search.core.settings import ClusterSettings
from lacl_search.core.types import Fusion, Mode
from lacl_search.serving import language_plan, plan
from lacl_search.serving.client import connect
from lacl_search.serving.search import Searcher

log = logging.getLogger("search_latency")
PARTS = ("langid", "encode", "build", "server", "parts", "end_to_end")


def timed(times: dict[str, list[float]], part: str, fn, *args, **kwargs):
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    times[part].append(1000 * (time.perf_counter() - start))
    return out


def one_query(searcher: Searcher, request: SearchRequest, times: dict[str, list[float]]) -> None:
    """The Searcher's steps for ``request``, timed one by one, then the whole ``run``."""
    lang = None
    if request.mode is not Mode.DENSE:  # dense search detects no language
        lang = timed(times, "langid", detect_query_language.__wrapped__, request.query)
    vector = []
    if request.mode is not Mode.BM25:
        vector = timed(times, "encode", searcher.encoder.encode_queries, [request.query])[0].tolist()
    profile = searcher._profile(request.fusion) if request.mode is Mode.HYBRID else None
    if request.mode is Mode.BM25 and lang is None:
        body, params = timed(times, "build", plan.bm25_body, request, lang), {}
    elif request.mode is Mode.DENSE:
        body, params = timed(times, "build", plan.knn_body, request, vector), {}
    else:
        if request.mode is Mode.BM25:
            hybrid = timed(times, "build", language_plan.lexical_plan, request, lang)
        elif profile is not None:
            hybrid = timed(times, "build", language_plan.server_plan, request, vector, lang, profile)
        else:
            hybrid = timed(times, "build", plan.hybrid_plan, request, vector, lang)
        searcher.ensure_pipeline(hybrid.pipeline_name, hybrid.pipeline)
        body, params = hybrid.body, {"search_pipeline": hybrid.pipeline_name}
    response = timed(times, "server", searcher.client.search, index=searcher.index, body=body, **params)
    times["server_took"].append(float(response.get("took", 0)))
    if request.mode is Mode.HYBRID and request.explain:
        found = plan.fused_hits(plan.hits(response))
        timed(times, "parts", searcher._msearch, plan.parts_bodies(found, request, vector, lang))
    detect_query_language.cache_clear()
    timed(times, "end_to_end", searcher.run, request)


MODES = {  # label: (mode, fusion)
    "bm25": (Mode.BM25, Fusion.AUTO),
    "dense": (Mode.DENSE, Fusion.AUTO),
    "hybrid minmax": (Mode.HYBRID, Fusion.MINMAX),
    "hybrid language-aware": (Mode.HYBRID, Fusion.LANGUAGE),
}


def request(text: str, label: str, args: argparse.Namespace) -> SearchRequest:
    """The request of one row: BM25 (language partitions when the language is detected), dense, hybrid with
    fixed min-max fusion, hybrid with the index's language-aware profile (the default where it has one)."""
    mode, fusion = MODES[label]
    return SearchRequest(query=text, mode=mode, k=args.k, explain=args.explain, fusion=fusion, depth=args.depth)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", required=True)
    parser.add_argument("--queries", required=True, help="queries.jsonl (BEIR)")
    parser.add_argument("--model", default="default")
    parser.add_argument("--backend", choices=BACKENDS, help="default: the model's saved backend")
    parser.add_argument("-n", type=int, default=100, help="queries per mode")
    parser.add_argument("-k", type=int, default=10)
    parser.add_argument("--explain", action="store_true", help="fetch each leg's score for hybrid hits")
    parser.add_argument("--depth", type=int, help="hybrid pagination depth (default: the library's)")
    parser.add_argument("--json", help="write the raw table as JSON")
    ClusterSettings.add_arguments(parser)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    with open(args.queries, encoding="utf-8") as fh:
        texts = [json.loads(line)["text"] for line in fh if line.strip()]
    texts = [texts[i] for i in np.linspace(0, len(texts) - 1, min(args.n, len(texts))).astype(int)]  # every language
    encoder = load_encoder(args.model, backend=args.backend, latency=True)  # as the CLI and the demo load it
    searcher = Searcher(connect(ClusterSettings.from_args(args)), index=args.index, encoder=encoder,
                        fusion_side="server")
    table = {}
    labels = [label for label in MODES if label != "hybrid language-aware" or searcher._profile(Fusion.AUTO)]
    for label in labels:
        times: dict[str, list[float]] = defaultdict(list)
        for text in texts[:5]:  # warm-up: pipelines, caches
            one_query(searcher, request(text, label, args), defaultdict(list))
        for text in texts:
            one_query(searcher, request(text, label, args), times)
        table[label] = {p: [float(x) for x in np.percentile(v, [50, 95])] for p, v in times.items()}
    _print(table, args, len(texts), getattr(encoder, "backend", "torch"))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(table, fh, indent=1)
    return 0


def _print(table: dict, args: argparse.Namespace, n: int, backend: str) -> None:
    w = sys.stdout.write
    w(f"index {args.index}, {n} queries per mode, k={args.k}, backend {backend}, explain={args.explain}, "
      f"depth={args.depth or 'default'}; "
      "ms p50 / p95\n\n| mode | " + " | ".join(PARTS) + " | server took |\n|" + "---|" * (len(PARTS) + 2) + "\n")
    for mode, parts in table.items():
        cells = [f"{parts[p][0]:.1f} / {parts[p][1]:.1f}" if p in parts else "-" for p in (*PARTS, "server_took")]
        w(f"| {mode} | " + " | ".join(cells) + " |\n")


if __name__ == "__main__":
    raise SystemExit(main())
