"""Benchmark: every fusion method on every dev benchmark, from saved leg runs (offline, no re-querying).

Usage: python benchmarks/fusion_table.py --legs runs/legs --data data/ddtp --profile profile.json
    [--benchmarks ...] [--half report] [--leg-depth 30] [--baseline old-profile.json]

Methods per benchmark: ``bm25 most_fields`` (the BM25 mode before: base + query-language fields summed),
``bm25 plain`` (language-agnostic fields only), ``bm25`` (the BM25 mode now: language partitions fused),
``dense``, ``hybrid 0.5`` (min-max 0.5 / 0.5 over most_fields BM25 + dense, the default before),
``rrf`` (the same two legs), ``language-aware`` (the profile). nDCG@10 and R@100; on ``mixed`` the
language-bias figures too, and nDCG@10 over translation sets (``metrics.by_group``: the document-level figure
also rewards stacking one description's translations); then language-aware against the better of its legs
per benchmark (paired t-test across queries). ``--leg-depth D`` cuts every leg to its top D before fusing:
what a server-side ``hybrid`` query with ``pagination_depth`` D normalises (nDCG@10 is then the figure that
matters; R@100 needs D >= 100). ``--half report`` scores only the queries the profile was not fitted on (the fit
used ``--half fit``); benchmarks of languages without fitted weights are scored on all their queries.
Legs run with a lexicon: ``bm25`` and ``language-aware`` search the query's translations in the
other-language partition; ``--baseline PROFILE`` adds ``language-aware, untranslated`` (that profile on the
legs without translation, ``bm25_other_plain``), e.g. the profile fitted before query translation. A profile
with a learned ranker (``lacl-search fusion fit --ranker``) adds ``learned`` (``--fusion learned``), compared
with the better leg like ``language-aware``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lacl_search.commands.fusion import load_legs
from lacl_search.core import fusion
from lacl_search.core.fusion_profile import FusionProfile
from lacl_search.core.lexicon import load_lexicon
from lacl_search.evaluation import beir, metrics
from lacl_search.evaluation.fusion_fit import fuse_benchmark, rank_benchmark
from lacl_search.serving.language_plan import LEXICAL_WEIGHTS

METHODS = ("bm25 most_fields", "bm25 plain", "bm25", "dense", "hybrid 0.5", "rrf", "language-aware")
UNTRANSLATED = "language-aware, untranslated"
LEARNED = "learned"


def partitioned_bm25(legs: dict, qid: str, lang: str | None) -> dict[str, float]:
    """Today's BM25 mode: the query language's partition and the rest, min-max each, equal weights
    (``lacl_search.serving.language_plan.lexical_plan``); plain BM25 when the language is unknown."""
    if lang is None:
        return dict(legs["bm25_base"].get(qid, {}))
    parts = [legs["bm25_same"].get(qid, {}), legs["bm25_other"].get(qid, {})]
    return fusion.min_max_fusion(parts, list(LEXICAL_WEIGHTS))


def method_runs(bench, profile: FusionProfile, baseline: FusionProfile | None = None,
                covered: tuple[str, ...] = ()) -> dict[str, dict]:
    legs, qids = bench.legs, list(bench.qrels)
    out = {"bm25 most_fields": {q: legs["bm25_most"].get(q, {}) for q in qids},
           "bm25 plain": {q: legs["bm25_base"].get(q, {}) for q in qids},
           "bm25": {q: partitioned_bm25(legs, q, bench.query_langs.get(q)) for q in qids},
           "dense": {q: legs["dense"].get(q, {}) for q in qids}}
    old = out["bm25 most_fields"]
    out["hybrid 0.5"] = {q: fusion.min_max_fusion([old[q], out["dense"][q]], [0.5, 0.5]) for q in qids}
    out["rrf"] = {q: fusion.reciprocal_rank_fusion([old[q], out["dense"][q]]) for q in qids}
    out["language-aware"] = fuse_benchmark(bench, profile)
    if baseline is not None:
        out[UNTRANSLATED] = fuse_benchmark(bench.untranslated(), baseline)
    if profile.ranker is not None:
        out[LEARNED] = rank_benchmark(bench, profile, covered=covered)
    return out


def better_leg(per_query: dict[str, dict], method: str = "language-aware") -> tuple[str, dict[str, float]]:
    """The better of ``bm25`` and ``dense`` on nDCG@10, and ``method``'s paired difference to it."""
    ndcg = {m: {q: v["ndcg@10"] for q, v in per_query[m].items()} for m in ("bm25", "dense", method)}
    leg = max(("bm25", "dense"), key=lambda m: sum(ndcg[m].values()))
    return leg, metrics.paired_difference(ndcg[leg], ndcg[method])


def leg_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The arguments every offline table over saved leg runs takes."""
    parser.add_argument("--legs", type=Path, required=True)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--profile", type=Path, required=True)
    parser.add_argument("--half", choices=["all", "report"], default="report")
    parser.add_argument("--leg-depth", type=int, help="cut each leg to its top D before fusing (server depth)")
    return parser


def main() -> int:
    parser = leg_arguments(argparse.ArgumentParser(description=__doc__.splitlines()[0]))
    parser.add_argument("--benchmarks", nargs="+")
    parser.add_argument("--baseline", type=Path, help="a profile to score on the untranslated legs as well")
    args = parser.parse_args()
    profile = FusionProfile.from_json(args.profile.read_text(encoding="utf-8"))
    baseline = FusionProfile.from_json(args.baseline.read_text(encoding="utf-8")) if args.baseline else None
    methods = METHODS + ((UNTRANSLATED,) if baseline else ()) + ((LEARNED,) if profile.ranker else ())
    covered = load_lexicon(profile.lexicon).languages if profile.lexicon and profile.ranker else ()
    names = args.benchmarks or sorted(p.name for p in args.legs.iterdir() if p.is_dir())
    header = "| benchmark | queries | " + " | ".join(f"{m} nDCG@10 / R@100" for m in methods) + " |"
    lines = [header, "|---|---|" + "---|" * len(methods)]
    means: dict[str, list[float]] = {m: [] for m in methods}
    bias_lines, paired_lines, diffs = [], [], []
    compared = [m for m in ("language-aware", LEARNED) if m in methods]
    for name in names:
        fitted = name in profile.fitted_on
        bench = load_legs(args.legs, args.data, name, args.half if fitted else "all").cut(args.leg_depth)
        runs = method_runs(bench, profile, baseline, covered)
        cells, per_query = [], {}
        for method in methods:
            per_query[method] = metrics.per_query(bench.qrels, runs[method])
            values = metrics.aggregate(per_query[method])
            means[method].append(values["ndcg@10"])
            cells.append(f"{values['ndcg@10']:.3f} / {values['recall@100']:.3f}")
        tests = [better_leg(per_query, m) for m in compared]
        diffs.append([t["diff"] for _, t in tests])
        paired_lines.append(f"| {name} | {tests[0][0]} | "
                            + " | ".join(f"{t['diff']:+.3f} (p={t['p']:.2g})" for _, t in tests) + " |")
        lines.append(f"| {name}{'' if fitted else ' (unseen)'} | {len(bench.qrels)} | " + " | ".join(cells) + " |")
        if name == "mixed":
            doc_lang = beir.document_languages(args.data / name)
            qlang = beir.query_languages([q for q in beir.load_queries(args.data / name) if q.query_id in bench.qrels])
            groups = beir.document_groups(args.data / name)
            for method in methods:
                bias = metrics.language_bias(bench.qrels, runs[method], qlang, doc_lang)
                by_group = metrics.per_query(*metrics.by_group(bench.qrels, runs[method], groups))
                bias_lines.append(f"| {method} | {bias['recall@100_same_lang']:.3f} | "
                                  f"{bias['recall@100_other_lang']:.3f} | {bias['top10_share_query_lang']:.3f} | "
                                  f"{metrics.aggregate(by_group)['ndcg@10']:.3f} |")
    lines.append("| **mean** | | " + " | ".join(f"**{sum(v) / len(v):.3f}**" for v in means.values()) + " |")
    sys.stdout.write("\n".join(lines) + "\n")
    sys.stdout.write("\n" + " and ".join(compared).capitalize() + " minus the better of the legs (BM25 or dense, by "
                     "nDCG@10 on these queries), paired across queries:\n\n| benchmark | better leg | "
                     + " | ".join(f"{m} difference (p)" for m in compared) + " |\n|---|---|"
                     + "---|" * len(compared) + "\n" + "\n".join(paired_lines) + "\n")
    for i, method in enumerate(compared):
        column = [d[i] for d in diffs]
        sys.stdout.write(f"\n{method.capitalize()}: mean difference {sum(column) / len(column):+.4f}; below the "
                         f"better leg on {sum(d < 0 for d in column)} of {len(column)} benchmarks.\n")
    if bias_lines:
        sys.stdout.write("\nLanguage bias on mixed, and nDCG@10 by translation set (whether the right descriptions "
                         "come first):\n\n| method | R@100 same-lang | R@100 other-lang | top-10 share in query "
                         "language | group nDCG@10 |\n|---|---|---|---|---|\n" + "\n".join(bias_lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
