"""Benchmark: translations grouped and a language preference on ``mixed``, offline from saved leg runs.

Usage: python benchmarks/grouping_table.py --legs runs/legs --data data/ddtp --profile profile.json
    [--benchmark mixed] [--half report] [--leg-depth 30]

``mixed`` holds every translation of a description as its own document (``group`` = the DDTP md5), and
its qrels judge each translation of the query's description relevant. For each retrieval method of
``benchmarks/fusion_table.py`` (its fused runs, cut to each query's top 100; the learned one too when the
profile has a ranker) and each search option of the library (:func:`lacl_search.serving.postprocess.apply`,
the code the searchers run): none, ``group_by`` the group, ``prefer_langs`` = the query's language, both.
Figures per row:

- ``doc nDCG@10``: document-level, the qrels as they are (grouping leaves one relevant document per
  group, so it is expected to fall);
- ``group nDCG@10``: qrels and run mapped to groups (a group is relevant when any member is; a run keeps
  each group at its best rank): whether the right *descriptions* come first;
- ``groups in top 10``: distinct descriptions a user sees on the first page;
- ``top-10 share in query language``: what the preference moves.
"""

from __future__ import annotations

import argparse
import sys
from statistics import fmean

from fusion_table import LEARNED, leg_arguments, method_runs

from lacl_search.commands.fusion import load_legs
from lacl_search.core import fusion
from lacl_search.core.fusion_profile import FusionProfile
from lacl_search.core.lexicon import load_lexicon
from lacl_search.core.request import SearchRequest
from lacl_search.core.types import Hit
from lacl_search.evaluation import beir, metrics
from lacl_search.serving import postprocess

METHODS = ("dense", "hybrid 0.5", "language-aware")
OPTIONS = ("none", "grouped", "prefer", "grouped + prefer")
CANDIDATES = 100


def page(run: dict[str, float], option: str, lang: str | None, langs: dict, groups: dict) -> list[str]:
    """The first page (10 ids) the searcher returns for ``run``'s candidates with ``option``."""
    hits = [Hit(doc_id=d, score=s, lang=langs.get(d), metadata={"group": groups.get(d, d)})
            for d, s in fusion.top_k(run, CANDIDATES)]
    prefer = (lang,) if "prefer" in option and lang else ()
    request = SearchRequest(query="-", k=10, group_by="group" if "grouped" in option else None, prefer_langs=prefer)
    return [h.doc_id for h in postprocess.apply(request, hits)]


def main() -> int:
    parser = leg_arguments(argparse.ArgumentParser(description=__doc__.splitlines()[0]))
    parser.add_argument("--benchmark", default="mixed")
    args = parser.parse_args()
    profile = FusionProfile.from_json(args.profile.read_text(encoding="utf-8"))
    dataset = args.data / args.benchmark
    half = args.half if args.benchmark in profile.fitted_on else "all"
    bench = load_legs(args.legs, args.data, args.benchmark, half).cut(args.leg_depth)
    covered = load_lexicon(profile.lexicon).languages if profile.lexicon and profile.ranker else ()
    runs = method_runs(bench, profile, covered=covered)
    langs, groups = beir.document_languages(dataset), beir.document_groups(dataset)
    qlang = beir.query_languages([q for q in beir.load_queries(dataset) if q.query_id in bench.qrels])
    w = sys.stdout.write
    w(f"{args.benchmark}: {len(bench.qrels)} queries ({half})\n\n| method | option | doc nDCG@10 | group nDCG@10 | "
      "groups in top 10 | top-10 share in query language |\n|---|---|---|---|---|---|\n")
    for method in METHODS + ((LEARNED,) if profile.ranker else ()):
        for option in OPTIONS:
            pages = {q: page(runs[method].get(q, {}), option, qlang.get(q), langs, groups) for q in bench.qrels}
            scored = {q: {d: float(len(ids) - r) for r, d in enumerate(ids)} for q, ids in pages.items()}
            doc = metrics.aggregate(metrics.per_query(bench.qrels, scored))["ndcg@10"]
            distinct = fmean(len({groups.get(d, d) for d in ids}) for ids in pages.values())
            share = fmean(sum(langs.get(d) == qlang.get(q) for d in ids) / len(ids)
                          for q, ids in pages.items() if ids and qlang.get(q))
            group = metrics.aggregate(metrics.per_query(*metrics.by_group(bench.qrels, scored, groups)))["ndcg@10"]
            w(f"| {method} | {option} | {doc:.3f} | {group:.3f} | {distinct:.2f} | "
              f"{share:.3f} |\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
