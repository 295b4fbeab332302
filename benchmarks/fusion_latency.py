"""Benchmark: server time of today's hybrid query (min-max 0.5 / 0.5) against the language-aware one.

Usage: python benchmarks/fusion_latency.py --index dev-mixed-default --dataset data/ddtp/mixed
    --profile runs/fusion/profile.json [--queries 300] [--model default] [--depths 30 100] [--shards 1 2]
    [--repeats 10]

Every request of a query (each method at each hybrid ``pagination_depth``) uses the same query vector and
detected language; each is sent once to warm up, then all are timed alternately. Prints p50 / p95 of
OpenSearch's own ``took`` (server time, ms) and the ratios of the p50s to the hybrid request of version one
(min-max 0.5 / 0.5, no ``pagination_depth``, k-NN ``k`` 100), the baseline the latency goal refers to.
A profile that names a lexicon is timed with and without the query's translations. ``took`` counts whole
milliseconds, so on a fast index most requests take 2 or 3 ms; ``--repeats N`` times every request N times
(alternately, after the warm-up) and uses each query's mean, which gives the p50 a resolution of 1/N ms.
A profile with a learned ranker (``fusion fit --ranker``) is also timed as search runs it: its legs in one
``_msearch`` (ids and scores only; with the translated dense leg when the ranker reads it) and the fetch of
the page (the sum of the two ``took``), and, apart, the client's time to compute the features and score them
and to encode the translations (for a language the lexicon lacks, with a ranker fitted with induced
translations, also the query's words and their translation: :mod:`lacl_search.core.induced`).
``--shards 1 2`` times force-merged copies of the index with 1 and 2 primary shards (one shard makes the
neural-search plugin fetch and highlight every collected hit before normalising; see ``schema.DEFAULT_SHARDS``).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from statistics import fmean, median

import numpy as np
from opensearchpy import helpers

from lacl_search.core import induced, queries
from lacl_search.core.encoding import load_encoder
from lacl_search.core.fusion_profile import FusionProfile
from lacl_search.core.langid import detect_query_language
from lacl_search.core.request import SearchRequest
from lacl_search.core.settings import ClusterSettings
from lacl_search.evaluation import beir
from lacl_search.serving import language_plan, plan
from lacl_search.serving.client import connect
from lacl_search.serving.profiles import lexicon_named
from lacl_search.serving.search import Searcher

V1 = "hybrid 0.5 as in v1 (no pagination depth, k-NN k 100)"
FUSE = "learned: client-side features + ranker (not server time)"
ENCODE = "learned: encoding the translations (induced ones: and the words), translated queries (client time)"


def shard_copy(client, index: str, shards: int) -> str:
    """A force-merged copy of ``index`` with ``shards`` primaries (same mapping, analysis and documents)."""
    source = next(iter(client.indices.get(index=index).values()))
    name = f"{source['settings']['index']['provided_name']}-latency-{shards}sh"
    client.indices.delete(index=name, ignore_unavailable=True)
    settings = {"index": {"number_of_shards": shards, "number_of_replicas": 0, "knn": True,
                          "analysis": source["settings"]["index"].get("analysis", {})}}
    client.indices.create(index=name, body={"settings": settings, "mappings": source["mappings"]})
    helpers.reindex(client, index, name, chunk_size=200)
    client.indices.refresh(index=name)
    client.indices.forcemerge(index=name, max_num_segments=1)
    return name


def time_index(client, index: str, found, vectors, profile: FusionProfile, depths: list[int],
               repeats: int = 1, encoder=None) -> dict[str, list[float]]:
    """Server ``took`` per method for every query on ``index`` (each request once to warm up, then timed
    ``repeats`` times; a query's time is the mean of those)."""
    searcher = Searcher(client, index=index)
    lexicon = lexicon_named(profile.lexicon)  # the profile's query translation, timed as its own method
    table = None
    if profile.ranker is not None and profile.ranker.induces and lexicon is not None:
        table = induced.load_induced(lexicon, fingerprint=encoder.fingerprint(), encode=encoder.encode_queries)
    took: dict[str, list[float]] = {}
    for query, vector in zip(found, vectors, strict=True):
        lang = detect_query_language(query.text)
        v1 = queries.hybrid_query([queries.bm25_clause(query.text, lang), queries.knn_clause(vector, 100)], 10,
                                  highlight=True)  # the hybrid request before language-aware fusion
        weights = [0.5, 0.5]
        bodies = {V1: plan.HybridPlan(queries.pipeline_name("minmax", weights),
                                      queries.normalization_pipeline(weights), v1)}
        for depth in depths:
            request = SearchRequest(query=query.text, k=10, fusion="minmax", explain=False, depth=depth)
            bodies[f"hybrid 0.5, depth {depth}"] = plan.hybrid_plan(request, vector, lang)
            bodies[f"language-aware, depth {depth}"] = language_plan.server_plan(request, vector, lang, profile)
            if lexicon is not None:
                translated = language_plan.translations(request, lang, lexicon)
                bodies[f"language-aware + translation, depth {depth}"] = language_plan.server_plan(
                    request, vector, lang, profile, translated)
        learned, encode_ms = {}, []
        if profile.ranker is not None:
            # the translations do not depend on the depth: encoded once per query (and timed)
            start = time.perf_counter()
            translated = language_plan.translations(SearchRequest(query=query.text), lang, lexicon)
            if words := language_plan.induced_words(profile, lang, lexicon, query.text):
                translated = table.translate(words, encoder.encode_queries(words))
            text = language_plan.translated_query(profile, translated)
            translated_vector = None
            if text:
                translated_vector = encoder.encode_queries([text])[0].tolist()
                encode_ms.append((time.perf_counter() - start) * 1000)
            for depth in depths:
                request = SearchRequest(query=query.text, k=10, explain=False, depth=depth)
                names, legs = language_plan.ranker_bodies(request, vector, lang, translated,
                                                          translated_vector=translated_vector,
                                                          target=lexicon.target if lexicon is not None else None)
                learned[f"learned: _msearch of the legs + fetch of the page, depth {depth}"] = (
                    request, translated, names, plan.msearch_lines(index, legs))
        for hybrid in bodies.values():
            searcher.ensure_pipeline(hybrid.pipeline_name, hybrid.pipeline)
        times: dict[str, list[float]] = {name: [] for name in [*bodies, *learned, *([FUSE] if learned else [])]}
        covered = language_plan.covered(lang, lexicon)
        for repeat in range(1 + repeats):
            for name, hybrid in bodies.items():
                resp = client.search(index=index, body=hybrid.body, search_pipeline=hybrid.pipeline_name)
                if repeat:
                    times[name].append(int(resp["took"]))
            for name, (request, translated, names, lines) in learned.items():
                resp = client.msearch(body=lines)
                start = time.perf_counter()
                fused, _ = language_plan.learned_scores(names, resp["responses"], lang, profile, covered=covered,
                                                        induced=bool(words and translated))
                ids = language_plan.page_ids(request, fused)
                spent = (time.perf_counter() - start) * 1000
                fetched = client.search(index=index, body=language_plan.fetch_body(request, ids, lang, translated))
                if repeat:
                    times[name].append(int(resp["took"]) + int(fetched["took"]))
                    if name.endswith(f"depth {depths[0]}"):
                        times[FUSE].append(spent)
        if encode_ms:
            times[ENCODE] = encode_ms
        for name, values in times.items():
            took.setdefault(name, []).append(fmean(values))
    return took


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", required=True)
    parser.add_argument("--dataset", type=Path, required=True)
    parser.add_argument("--profile", type=Path, required=True)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--model", default="default")
    parser.add_argument("--depths", type=int, nargs="+", default=[30], help="hybrid pagination depths to time")
    parser.add_argument("--shards", type=int, nargs="+", default=[],
                        help="time force-merged copies of --index with these primary shard counts instead "
                             "(made here, deleted after)")
    parser.add_argument("--repeats", type=int, default=1,
                        help="time each request this many times and use each query's mean (finer p50)")
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    client = connect(ClusterSettings.from_env())
    profile = FusionProfile.from_json(args.profile.read_text(encoding="utf-8"))
    found = beir.load_queries(args.dataset)[: args.queries]
    encoder = load_encoder(args.model)
    vectors = encoder.encode_queries([q.text for q in found]).tolist()
    targets = {f"{n} shard(s)": shard_copy(client, args.index, n) for n in args.shards} or {args.index: args.index}
    try:
        for label, index in targets.items():
            took = time_index(client, index, found, vectors, profile, args.depths, args.repeats, encoder)
            reference = median(took[V1])
            print(f"## {label}")
            for name, values in took.items():
                times = 1 if name == ENCODE else args.repeats  # a query's translations are encoded once
                print(f"{name}: p50 {median(values):.2f} ms, mean {fmean(values):.2f} ms, "
                      f"p95 {np.percentile(values, 95):.1f} ms ({len(values)} queries x {times}), "
                      f"p50 / v1's: {median(values) / max(reference, 1e-9):.2f}, "
                      f"mean / v1's: {fmean(values) / max(fmean(took[V1]), 1e-9):.2f}")
    finally:
        if args.shards:
            client.indices.delete(index=",".join(targets.values()), ignore_unavailable=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
