"""The few-parallel-pairs study's tables: seeds aggregated, paired tests across queries, seed-level deltas.

``python -m lacl_trainer.study RESULTS.json [MORE.json ...] [--reference ir-only] [--markdown OUT.md]``

Reads the JSON of ``lacl-search eval models`` whose model names follow ``scripts/study_few_pairs.sh``:
``<variant>-<size>-s<seed>`` (``ir-sem-500-s1``, ``lacl-all-s2``), ``ir-only-s<seed>`` and ``base``. A
*group* is a model name without its seed. Per group and benchmark category (X -> en for training languages,
X -> en for languages without parallel data, monolingual, mixed), it reports:

- mean +/- sample standard deviation over seeds of nDCG@10 (the category's mean over its benchmarks), and
  the mixed corpus's language-bias figures (recall@100 same / other language, top-10 share in the query's
  language);
- a paired t-test across queries against the reference group: each query's nDCG@10 averaged over seeds in
  both groups, all queries of the category pooled (Smucker et al., CIKM 2007, for the test);
- a seed-level comparison: the category difference from the reference computed seed by seed (same seed =
  same IR batches), next to the reference's own seed-to-seed spread as the yardstick of training noise.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
from collections import defaultdict
from pathlib import Path

from lacl_search.evaluation.metrics import paired_difference

SEEDED = re.compile(r"^(?P<group>.+)-s(?P<seed>\d+)$")
UNSEEN_LANGS = ("da", "sk", "ko", "uk", "pl", "cs")  # no parallel data (data/ddtp rules)
BIAS_KEYS = ("recall@100_same_lang", "recall@100_other_lang", "top10_share_query_lang")


def category(benchmark: str) -> str | None:
    """``xling-train``, ``xling-unseen``, ``mono`` or ``mixed`` (None for anything else)."""
    if benchmark.startswith("xling-"):
        return "xling-unseen" if benchmark.split("-")[1] in UNSEEN_LANGS else "xling-train"
    if benchmark.startswith("mono-"):
        return "mono"
    return "mixed" if benchmark == "mixed" else None


def by_group(results: dict[str, dict]) -> dict[str, dict[int, dict]]:
    """``{group: {seed: model results}}``; unseeded models (``base``) form a group with seed 0."""
    groups: dict[str, dict[int, dict]] = defaultdict(dict)
    for name, value in results.items():
        match = SEEDED.match(name)
        group, seed = (match["group"], int(match["seed"])) if match else (name, 0)
        groups[group][seed] = value
    return dict(groups)


def category_score(model: dict, benchmarks: list[str], cat: str, key: str = "ndcg@10") -> float:
    """Mean of ``key`` over the model's benchmarks of category ``cat``."""
    return statistics.fmean(model[b][key] for b in benchmarks if category(b) == cat)


def mean_sd(values: list[float]) -> str:
    if len(values) < 2:
        return f"{values[0]:.3f}"
    return f"{statistics.fmean(values):.3f} ± {statistics.stdev(values):.3f}"


def pooled_queries(seeds: dict[int, dict], benchmarks: list[str], cat: str) -> dict[str, float]:
    """``{benchmark/query: nDCG@10 averaged over seeds}`` for the category's benchmarks."""
    out: dict[str, float] = {}
    for bench in (b for b in benchmarks if category(b) == cat):
        per_seed = [model["_per_query"][bench] for model in seeds.values()]
        for query in per_seed[0]:
            out[f"{bench}/{query}"] = statistics.fmean(values[query] for values in per_seed)
    return out


def summary_table(groups: dict[str, dict[int, dict]], benchmarks: list[str], cats: list[str]) -> list[str]:
    has_mixed = "mixed" in benchmarks
    head = [f"{c} nDCG@10" for c in cats] + (["mixed " + k for k in BIAS_KEYS] if has_mixed else [])
    lines = ["| model (seeds) | " + " | ".join(head) + " |", "|---|" + "---|" * len(head)]
    for group, seeds in groups.items():
        cells = [mean_sd([category_score(m, benchmarks, c) for m in seeds.values()]) for c in cats]
        if has_mixed:
            cells += [mean_sd([m["mixed"][k] for m in seeds.values()]) for k in BIAS_KEYS]
        lines.append(f"| {group} ({len(seeds)}) | " + " | ".join(cells) + " |")
    return lines


def paired_lines(groups: dict[str, dict[int, dict]], benchmarks: list[str], cats: list[str], ref: str) -> list[str]:
    lines = ["| model | " + " | ".join(cats) + " |", "|---|" + "---|" * len(cats)]
    reference = {c: pooled_queries(groups[ref], benchmarks, c) for c in cats}
    for group, seeds in groups.items():
        if group == ref:
            continue
        cells = []
        for c in cats:
            test = paired_difference(reference[c], pooled_queries(seeds, benchmarks, c))
            cells.append(f"{test['diff']:+.3f} (p={test['p']:.2g}, n={test['queries']})")
        lines.append(f"| {group} | " + " | ".join(cells) + " |")
    return lines


def seed_lines(groups: dict[str, dict[int, dict]], benchmarks: list[str], cats: list[str], ref: str) -> list[str]:
    ref_seeds = groups[ref]
    noise = [
        max(s) - min(s) if len(s := [category_score(m, benchmarks, c) for m in ref_seeds.values()]) > 1 else 0.0
        for c in cats
    ]
    lines = ["| model | " + " | ".join(cats) + " |", "|---|" + "---|" * len(cats)]
    lines.append(f"| {ref}: seed-to-seed range | " + " | ".join(f"{n:.3f}" for n in noise) + " |")
    for group, seeds in groups.items():
        shared = sorted(set(seeds) & set(ref_seeds))
        if group == ref or not shared:
            continue
        cells = []
        for c in cats:
            diffs = [category_score(seeds[s], benchmarks, c) - category_score(ref_seeds[s], benchmarks, c)
                     for s in shared]
            same_sign = all(d > 0 for d in diffs) or all(d < 0 for d in diffs)
            cells.append(" / ".join(f"{d:+.3f}" for d in diffs) + (" (same sign)" if same_sign else ""))
        lines.append(f"| {group} (seeds {', '.join(map(str, shared))}) | " + " | ".join(cells) + " |")
    return lines


def benchmark_table(groups: dict[str, dict[int, dict]], benchmarks: list[str]) -> list[str]:
    names = list(groups)
    lines = ["| benchmark | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for bench in benchmarks:
        cells = [mean_sd([m[bench]["ndcg@10"] for m in groups[g].values()]) for g in names]
        lines.append(f"| {bench} | " + " | ".join(cells) + " |")
    return lines


def report(payload: dict, reference: str = "ir-only") -> str:
    """The study's markdown from an ``eval models`` JSON payload (``{"settings", "results"}``)."""
    results = payload["results"]
    benchmarks = [b for b in payload["settings"]["benchmarks"] if category(b)]
    cats = [c for c in ("xling-train", "xling-unseen", "mono", "mixed") if any(category(b) == c for b in benchmarks)]
    groups = by_group(results)
    if reference not in groups:
        raise ValueError(f"reference group {reference!r} not among {sorted(groups)}")
    out = ["nDCG@10 per category (mean over its benchmarks), mean ± sd over seeds (seeds in brackets):", ""]
    out += summary_table(groups, benchmarks, cats)
    out += ["", f"Paired t-test across queries, difference from `{reference}` (per-query nDCG@10 averaged "
            "over seeds; the category's queries pooled):", ""]
    out += paired_lines(groups, benchmarks, cats, reference)
    out += ["", f"Seed-level comparison: difference from `{reference}` with the same seed, seed by seed:", ""]
    out += seed_lines(groups, benchmarks, cats, reference)
    out += ["", "nDCG@10 per benchmark, mean ± sd over seeds:", ""]
    out += benchmark_table(groups, benchmarks)
    return "\n".join(out) + "\n"


def merge(payloads: list[dict]) -> dict:
    """One payload from several ``eval models`` JSONs of the same models on different benchmarks."""
    merged: dict = {"settings": {"benchmarks": []}, "results": defaultdict(lambda: {"_per_query": {}})}
    for payload in payloads:
        merged["settings"]["benchmarks"] += [b for b in payload["settings"]["benchmarks"]
                                             if b not in merged["settings"]["benchmarks"]]
        for model, values in payload["results"].items():
            target = merged["results"][model]
            target.update({k: v for k, v in values.items() if not k.startswith("_")})
            target["_per_query"].update(values.get("_per_query", {}))
    merged["results"] = dict(merged["results"])
    return merged


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lacl_trainer.study", description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, nargs="+",
                        help="JSON written by lacl-search eval models --out (several: merged, e.g. one per benchmark)")
    parser.add_argument("--reference", default="ir-only", help="group every other group is compared with")
    parser.add_argument("--markdown", type=Path, help="also write the tables here")
    args = parser.parse_args(argv)
    text = report(merge([json.loads(path.read_text(encoding="utf-8")) for path in args.results]), args.reference)
    if args.markdown:
        args.markdown.write_text(text, encoding="utf-8")
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
