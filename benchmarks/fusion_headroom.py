"""Analysis: how much any weighting of the saved fusion legs could gain (oracles), and two query-adaptive
weightings fitted on the fit half, scored on the report half (offline, no re-querying, no server).

Usage:
    python benchmarks/fusion_headroom.py --data data/ddtp --output runs/headroom \
        --setup titles-base runs/legs-d30 provision/lacl_provision/models/default-fusion-profile.json \
        --setup notitle-base runs/fusion-notitle/legs runs/fusion-notitle/profile-mono.json \
        --setup titles-trained runs/fusion-trained/legs runs/fusion-trained/profile-mono.json

For every set-up (legs, fitted profile) and every benchmark, each judged query's nDCG@10 is computed once
for every point of the weight grid the fitter uses (``fusion_fit.simplex``: (same, other, dense) for a
detected query language, (bm25, dense) for an undetected one, step 0.1), over legs cut to ``--leg-depth``
(30, the serving depth), with ``fusion_fit.fuse_query`` and ``metrics.per_query``. From that matrix:

- ``better leg``: per benchmark the better of ``bm25`` (the BM25 mode, ``fusion_table.partitioned_bm25``)
  and ``dense`` on the report queries (as ``fusion_table.better_leg``);
- ``profile``: the shipped / fitted profile (``fusion_fit.fuse_benchmark``), as ``fusion_table.py`` prints it;
- ``oracle: per benchmark``: the single best grid vector per benchmark (one for detected-language queries,
  one for undetected), **chosen on the report half itself**: an upper bound, not a method;
- ``oracle: per query``: each query's best grid vector (an upper bound for any weighting of these legs);
- ``oracle: profile or dense``: per query the better of the profile's weights and dense alone (the ceiling
  of a switch between the two);
- query-adaptive weightings (``--features``): a feature computed from the legs at query time (or, for
  ``name_like``, ``translated_share`` and ``n_words``, from the query text and the profile's lexicon
  alone, before anything is searched), cut into bins at the
  fit half's quantiles, each bin with its own per-language weights fitted (the ``fit_profile`` rule:
  best mean nDCG@10 over the grid, a language of its own from 30 queries, ``*`` pooled over the training
  languages, ``unknown`` on undetected queries) on the **fit half of the training-language benchmarks
  only** (``profile.fitted_on``), then scored on the report half of every benchmark.

Report queries follow ``fusion_table.py --half report``: the report half of the benchmarks the profile was
fitted on, all queries of the others. The per-query grid matrices are cached under
``OUTPUT/<set-up>/cache`` (delete to recompute).
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
from pathlib import Path

import numpy as np

from lacl_search.commands.fusion import TRAIN_LANGS, in_half, load_legs
from lacl_search.core import fusion
from lacl_search.core.fusion_profile import FALLBACK, FusionProfile
from lacl_search.core.lexicon import Lexicon, load_lexicon, source_words, tokens
from lacl_search.evaluation import beir, metrics
from lacl_search.evaluation.fusion_fit import fuse_benchmark, fuse_query, simplex

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fusion_table import partitioned_bm25  # noqa: E402

log = logging.getLogger("fusion_headroom")
MIN_QUERIES = 30  # fit_profile's default: fewer queries in a language -> it uses '*'


# --------------------------------------------------------------------------------------------- features
def _top(run: dict[str, float], k: int) -> list[tuple[str, float]]:
    return fusion.top_k(run, k)


def query_features(legs: dict, qid: str, lang: str | None) -> dict[str, float]:
    """Features of one query computed from its (depth-cut) legs alone, as available at query time on the
    client-side fusion path (one ``_msearch`` of the legs): no relevance information."""
    lexical = partitioned_bm25(legs, qid, lang)
    dense = legs["dense"].get(qid, {})
    base = legs["bm25_base"].get(qid, {})
    lex10 = {d for d, _ in _top(lexical, 10)}
    dense10 = [d for d, _ in _top(dense, 10)]
    base_top = [s for _, s in _top(base, 10)]
    dense_top = [s for _, s in _top(dense, 10)]
    return {
        # agreement of the BM25 mode's top 10 with the dense top 10
        "overlap10": len(lex10 & set(dense10)) / 10.0,
        # is dense's top-1 in BM25's top 10
        "dense1_in_lex10": float(bool(dense10) and dense10[0] in lex10),
        # peakedness of plain BM25 (raw scores): a distinctive lexical match (a name, a number)
        "bm25_gap": (base_top[0] - base_top[-1]) / base_top[0] if base_top and base_top[0] > 0 else 0.0,
        "bm25_top1": base_top[0] if base_top else 0.0,
        "dense_top1": dense_top[0] if dense_top else 0.0,
        "dense_gap": dense_top[0] - dense_top[-1] if dense_top else 0.0,
    }


_NAME_LIKE = re.compile(r"\w*(\d|[A-Z]{2}|[a-z][A-Z]|\w[-._+]\w)")
_LATIN = re.compile(r"[A-Za-z]")


def text_features(text: str, lang: str | None, lexicon: Lexicon | None) -> dict[str, float]:
    """Features of the query text alone, known before anything is searched (the server-side path could use
    them: one ``hybrid`` request with weights chosen per query)."""
    words = tokens(text)
    stems = source_words(text, lang, lexicon.stemmer) if lexicon is not None else words
    table = lexicon.tables.get(lang or "", {}) if lexicon is not None else {}
    latin_in_other_script = lang in {"ja", "zh", "ko", "ru", "uk"} and bool(_LATIN.search(text))
    return {
        # a package-name-like token (digits, CamelCase, acronyms, joined by - . _ +) or Latin in a
        # non-Latin-script query: what the other-language BM25 partition can match without translation
        "name_like": float(bool(_NAME_LIKE.search(text)) or latin_in_other_script),
        "translated_share": sum(w in table for w in stems) / len(stems) if stems else 0.0,
        "n_words": float(len(words)),
    }


# ------------------------------------------------------------------------------------------ the matrices
def benchmark_matrix(legs_dir: Path, data: Path, name: str, depth: int, step: float, cache: Path,
                     lexicon_name: str | None = None) -> dict:
    """Per judged query: half, language, nDCG@10 at every grid point, at the profile-free reference runs
    (bm25 mode, dense) and the features. Cached as JSON."""
    path = cache / f"{name}.json"
    if path.is_file():
        return json.loads(path.read_text(encoding="utf-8"))
    bench = load_legs(legs_dir, data, name, "all").cut(depth)
    judged = [q for q, rels in bench.qrels.items() if any(r > 0 for r in rels.values())]
    detected = [q for q in judged if bench.query_langs.get(q) is not None]
    undetected = [q for q in judged if bench.query_langs.get(q) is None]
    grid = {}
    for group, qids, n in (("detected", detected, 3), ("undetected", undetected, 2)):
        points = simplex(n, step)
        values = {q: [] for q in qids}
        if qids:
            qrels = {q: bench.qrels[q] for q in qids}
            for weights in points:
                run = {q: fuse_query(bench.legs, q, bench.query_langs.get(q), weights) for q in qids}
                per = metrics.per_query(qrels, run)
                for q in qids:
                    values[q].append(per[q]["ndcg@10"])
        grid[group] = values
    texts = {q.query_id: q.text for q in beir.load_queries(data / name)}
    lexicon = load_lexicon(lexicon_name) if lexicon_name else None
    refs = {"bm25": {q: partitioned_bm25(bench.legs, q, bench.query_langs.get(q)) for q in judged},
            "dense": {q: dict(bench.legs["dense"].get(q, {})) for q in judged}}
    ref_ndcg = {m: metrics.per_query({q: bench.qrels[q] for q in judged}, run) for m, run in refs.items()}
    out = {"queries": {q: {"half": "fit" if in_half(q, "fit") else "report",
                           "lang": bench.query_langs.get(q),
                           "grid": grid["detected"][q] if q in grid["detected"] else grid["undetected"][q],
                           "bm25": ref_ndcg["bm25"][q]["ndcg@10"], "dense": ref_ndcg["dense"][q]["ndcg@10"],
                           "features": {**query_features(bench.legs, q, bench.query_langs.get(q)),
                                        **text_features(texts[q], bench.query_langs.get(q), lexicon)}}
                       for q in judged}}
    cache.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out), encoding="utf-8")
    return out


def grid_index(points: list[tuple[float, ...]], weights: tuple[float, ...]) -> int:
    """The grid point equal (to 1e-6) to ``weights``."""
    for i, p in enumerate(points):
        if all(abs(a - b) < 1e-6 for a, b in zip(p, weights, strict=True)):
            return i
    raise ValueError(f"weights {weights} are not on the grid")


# ------------------------------------------------------------------------ fitting over the matrix
def fit_weights(rows: list[dict], languages: set[str]) -> dict[str, int]:
    """``fit_profile``'s rule over precomputed grid values: per training language with >= MIN_QUERIES
    queries the grid index of the best mean nDCG@10 (first best on ties), ``*`` over all training-language
    queries, ``unknown`` over undetected queries. Returns language -> grid index (``unknown`` on the 2-leg
    grid)."""
    def best(sel: list[dict], default: int) -> int:
        if not sel:
            return default
        means = np.asarray([r["grid"] for r in sel], dtype=float).mean(axis=0)
        top = means.max()
        return int(np.flatnonzero(means > top - 1e-12)[0])

    by_lang: dict[str, list[dict]] = {}
    for r in rows:
        if r["lang"] is not None and r["lang"] in languages:
            by_lang.setdefault(r["lang"], []).append(r)
    out = {lang: best(sel, 0) for lang, sel in by_lang.items() if len(sel) >= MIN_QUERIES}
    out[FALLBACK] = best([r for sel in by_lang.values() for r in sel], 0)
    out["unknown"] = best([r for r in rows if r["lang"] is None], 5)
    return out


def apply_weights(row: dict, fitted: dict[str, int]) -> float:
    if row["lang"] is None:
        return row["grid"][fitted["unknown"]]
    return row["grid"][fitted.get(row["lang"], fitted[FALLBACK])]


def cut_points(values: list[float], bins: int) -> list[float]:
    """Quantile cut points (bins - 1 of them) of the fit half's feature values; ties collapse bins."""
    qs = [float(np.quantile(values, i / bins)) for i in range(1, bins)]
    return sorted(set(qs))


def bin_of(value: float, cuts: list[float]) -> int:
    return int(np.searchsorted(cuts, value, side="right"))


# ----------------------------------------------------------------------------------------- one set-up
def analyse(name: str, legs_dir: Path, profile_path: Path, args: argparse.Namespace) -> dict:
    profile = FusionProfile.from_json(profile_path.read_text(encoding="utf-8"))
    fitted_on = set(profile.fitted_on)
    points3, points2 = simplex(3, args.step), simplex(2, args.step)
    benches = args.benchmarks or sorted(p.name for p in legs_dir.iterdir() if p.is_dir())
    cache = args.output / name / "cache"
    matrices = {}
    for bench in benches:
        log.info("%s: %s", name, bench)
        matrices[bench] = benchmark_matrix(legs_dir, args.data, bench, args.leg_depth, args.step, cache,
                                           profile.lexicon)

    def report_rows(bench: str) -> list[tuple[str, dict]]:
        qs = matrices[bench]["queries"].items()
        return [(q, r) for q, r in qs if bench not in fitted_on or r["half"] == "report"]

    # the profile: fuse_benchmark (as fusion_table.py), cross-checked against the grid lookup
    prof_idx = {lang: grid_index(points3, w) for lang, w in profile.languages.items()}
    prof_idx["unknown"] = grid_index(points2, profile.unknown)
    dense_idx = {FALLBACK: grid_index(points3, (0.0, 0.0, 1.0)), "unknown": grid_index(points2, (0.0, 1.0))}
    for bench in benches:
        half = "report" if bench in fitted_on else "all"
        legs = load_legs(legs_dir, args.data, bench, half).cut(args.leg_depth)
        per = metrics.per_query(legs.qrels, fuse_benchmark(legs, profile))
        rows = dict(report_rows(bench))
        assert set(per) == set(rows), bench
        worst = max(abs(per[q]["ndcg@10"] - apply_weights(r, prof_idx)) for q, r in rows.items())
        if worst > 1e-9:
            raise AssertionError(f"{name}/{bench}: grid lookup differs from fuse_benchmark by {worst}")
        for q, r in rows.items():
            r["profile"] = per[q]["ndcg@10"]

    # the fitter over the matrix must give the profile back (same rule, same fit half)
    fit_rows = [r for b in benches if b in fitted_on for r in matrices[b]["queries"].values() if r["half"] == "fit"]
    languages = set(TRAIN_LANGS)
    refit = fit_weights(fit_rows, languages)
    same = all(refit.get(k) == v for k, v in prof_idx.items()) and set(refit) == set(prof_idx)
    log.info("%s: matrix refit on the fit half %s the profile", name, "reproduces" if same else "DIFFERS FROM")
    if not same:
        log.warning("refit %s vs profile %s",
                    {k: points3[v] if k != "unknown" else points2[v] for k, v in refit.items()},
                    {k: points3[v] if k != "unknown" else points2[v] for k, v in prof_idx.items()})

    # adaptive variants: bins of one feature on the fit half, per-bin per-language weights
    variants = {}
    for feature in args.features:
        values = [r["features"][feature] for r in fit_rows]
        cuts = cut_points(values, args.bins)
        per_bin = {}
        for b in range(len(cuts) + 1):
            sel = [r for r in fit_rows if bin_of(r["features"][feature], cuts) == b]
            per_bin[b] = fit_weights(sel, languages)
            log.info("%s / %s bin %d (%d fit queries): * %s unknown %s", name, feature, b, len(sel),
                     points3[per_bin[b][FALLBACK]], points2[per_bin[b]["unknown"]])
        variants[feature] = {"cuts": cuts, "weights": {
            b: {k: (points2 if k == "unknown" else points3)[v] for k, v in w.items()} for b, w in per_bin.items()}}
        for bench in benches:
            for _, r in report_rows(bench):
                r[f"adaptive:{feature}"] = apply_weights(r, per_bin[bin_of(r["features"][feature], cuts)])

    # in-sample on the fit half (pooled over its queries): how much each binning gains where it was fitted,
    # an optimistic figure for the variant (no report query involved)
    in_sample = {"dense": mean_of(fit_rows, lambda r: apply_weights(r, dense_idx)),
                 "profile": mean_of(fit_rows, lambda r: apply_weights(r, prof_idx)),
                 "oracle_query": mean_of(fit_rows, lambda r: max(r["grid"]))}
    for feature, v in variants.items():
        bins = {int(b): {k: (points2 if k == "unknown" else points3).index(tuple(w)) for k, w in ws.items()}
                for b, ws in v["weights"].items()}
        in_sample[f"adaptive:{feature}"] = mean_of(
            fit_rows, lambda r, f=feature, c=v["cuts"], b=bins: apply_weights(r, b[bin_of(r["features"][f], c)]))
    log.info("%s: fit half, in-sample, %d queries: %s", name, len(fit_rows),
             ", ".join(f"{k} {x:.4f}" for k, x in in_sample.items()))

    # per benchmark figures
    methods = ["profile"] + [f"adaptive:{f}" for f in args.features]
    table = []
    for bench in benches:
        rows = [r for _, r in report_rows(bench)]
        mean = lambda key, rows=rows: float(np.mean([r[key] for r in rows]))  # noqa: E731
        legs_mean = {"bm25": mean("bm25"), "dense": mean("dense")}
        better = max(legs_mean, key=legs_mean.get)
        det = [r for r in rows if r["lang"] is not None]
        und = [r for r in rows if r["lang"] is None]
        bench_oracle = sum(np.asarray([r["grid"] for r in grp]).mean(axis=0).max() * len(grp)
                           for grp in (det, und) if grp) / len(rows)
        entry = {"benchmark": bench, "unseen": bench not in fitted_on, "queries": len(rows),
                 "bm25": legs_mean["bm25"], "dense": legs_mean["dense"], "better_leg": better,
                 "better": legs_mean[better],
                 "oracle_benchmark": float(bench_oracle),
                 "oracle_query": mean_of(rows, lambda r: max(r["grid"])),
                 "oracle_profile_or_dense": mean_of(rows, lambda r: max(r["profile"], apply_weights(r, dense_idx)))}
        for m in methods:
            entry[m] = mean(m)
            diff = [r[m] - r[better] for r in rows]
            entry[f"{m} p"] = float(metrics.paired_difference({i: r[better] for i, r in enumerate(rows)},
                                                              {i: r[m] for i, r in enumerate(rows)})["p"])
            entry[f"{m} diff"] = float(np.mean(diff))
        table.append(entry)
    return {"setup": name, "legs": str(legs_dir), "profile": str(profile_path), "refit_reproduces_profile": same,
            "variants": variants, "fit_half_in_sample": in_sample, "benchmarks": table}


def mean_of(rows: list[dict], fn) -> float:
    return float(np.mean([fn(r) for r in rows]))


# ----------------------------------------------------------------------------------------------- output
def render(result: dict, features: list[str]) -> str:
    methods = ["profile"] + [f"adaptive:{f}" for f in features]
    cols = ["bm25", "dense", "better"] + methods + ["oracle_benchmark", "oracle_profile_or_dense", "oracle_query"]
    head = ("| benchmark | n | BM25 | dense | better leg | profile | " + " | ".join(f"adaptive {f}" for f in features)
            + " | oracle: per benchmark | oracle: profile or dense | oracle: per query |")
    lines = [f"### {result['setup']} ({result['legs']}, {result['profile']})", "", head, "|---" * (len(cols) + 2) + "|"]
    for e in result["benchmarks"]:
        cells = [f"{e[c]:.3f}" for c in cols]
        for i, m in enumerate(methods):
            cells[3 + i] += "*" if e[f"{m} diff"] < 0 else ""
        label = f"{e['benchmark']}{' (unseen)' if e['unseen'] else ''}"
        lines.append(f"| {label} | {e['queries']} | " + " | ".join(cells) + " |")
    summary = summarise(result, features)
    lines.append("| **mean** | | " + " | ".join(f"**{summary['mean'][c]:.3f}**" for c in cols) + " |")
    lines.append("| below better leg | | | | | " + " | ".join(str(summary["below"][m]) for m in methods) + " | | | |")
    lines += ["", "`*`: below the better leg on this benchmark. Oracles are chosen on the report half itself "
              "(upper bounds, not methods).", ""]
    for f, v in result["variants"].items():
        lines.append(f"Adaptive `{f}`: cut points {[round(c, 4) for c in v['cuts']]} (fit half quantiles)")
        for b, w in v["weights"].items():
            lines.append(f"- bin {b}: "
                         + ", ".join(f"{k} {tuple(round(x, 2) for x in ws)}" for k, ws in sorted(w.items())))
        lines.append("")
    return "\n".join(lines) + "\n"


def group_of(bench: str) -> str:
    return "mono" if bench.startswith("mono-") else "xling" if bench.startswith("xling-") else bench


def summarise(result: dict, features: list[str]) -> dict:
    methods = ["profile"] + [f"adaptive:{f}" for f in features]
    cols = ["bm25", "dense", "better"] + methods + ["oracle_benchmark", "oracle_profile_or_dense", "oracle_query"]
    rows = result["benchmarks"]
    return {"setup": result["setup"],
            "mean": {c: float(np.mean([e[c] for e in rows])) for c in cols},
            "groups": {g: {c: float(np.mean([e[c] for e in rows if group_of(e["benchmark"]) == g])) for c in cols}
                       for g in sorted({group_of(e["benchmark"]) for e in rows})},
            "below": {m: sum(e[f"{m} diff"] < 0 for e in rows) for m in methods},
            "significantly_below": {m: sum(e[f"{m} diff"] < 0 and e[f"{m} p"] < 0.05 for e in rows) for m in methods}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--setup", nargs=3, action="append", metavar=("NAME", "LEGS", "PROFILE"), required=True,
                        help="a set-up: its name, its folder of leg runs, its fitted profile (repeatable)")
    parser.add_argument("--data", type=Path, required=True, help="folder of the BEIR benchmarks (qrels)")
    parser.add_argument("--output", type=Path, default=Path("runs/headroom"))
    parser.add_argument("--benchmarks", nargs="+", help="default: every benchmark with legs")
    parser.add_argument("--leg-depth", type=int, default=30)
    parser.add_argument("--step", type=float, default=0.1, help="grid step (the fitter's default)")
    parser.add_argument("--features", nargs="+", default=["overlap10", "bm25_gap"],
                        help="query-time features, one adaptive variant each (at most two were reported)")
    parser.add_argument("--bins", type=int, default=3)
    parser.add_argument("--explore", action="store_true",
                        help="also log each feature's Spearman correlation, on the fit half only, with "
                             "nDCG(profile) - nDCG(dense) and with the per-query oracle's dense weight")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    args.output.mkdir(parents=True, exist_ok=True)
    summaries, text = [], []
    for name, legs, profile in args.setup:
        result = analyse(name, Path(legs), Path(profile), args)
        if args.explore:
            explore(name, Path(legs), Path(profile), args)
        (args.output / name).mkdir(parents=True, exist_ok=True)
        (args.output / name / "result.json").write_text(json.dumps(result, indent=1), encoding="utf-8")
        rendered = render(result, args.features)
        (args.output / name / "table.md").write_text(rendered, encoding="utf-8")
        text.append(rendered)
        summaries.append(summarise(result, args.features))
    methods = ["profile"] + [f"adaptive:{f}" for f in args.features]
    cols = ["better"] + methods + ["oracle_benchmark", "oracle_profile_or_dense", "oracle_query"]
    head = ("| set-up | better leg | profile | " + " | ".join(f"adaptive {f}" for f in args.features)
            + " | oracle: per benchmark | oracle: profile or dense | oracle: per query |")
    lines = ["Mean nDCG@10 over the benchmarks' report queries (in brackets: benchmarks below the better leg)", "",
             head, "|---" * (len(cols) + 1) + "|"]
    for s in summaries:
        cells = []
        for c in cols:
            cell = f"{s['mean'][c]:.3f}"
            if c in methods:
                cell += f" ({s['below'][c]}; {s['significantly_below'][c]} p<0.05)"
            cells.append(cell)
        lines.append(f"| {s['setup']} | " + " | ".join(cells) + " |")
    lines += ["", "The same means by group of benchmarks (mixed, mono-*, xling-*-en):", "",
              "| set-up | group | " + " | ".join(c.replace("_", " ") for c in cols) + " |",
              "|---" * (len(cols) + 2) + "|"]
    for s in summaries:
        for g, means in s["groups"].items():
            lines.append(f"| {s['setup']} | {g} | " + " | ".join(f"{means[c]:.3f}" for c in cols) + " |")
    summary_md = "\n".join(lines) + "\n"
    (args.output / "summary.md").write_text(summary_md + "\n" + "\n".join(text), encoding="utf-8")
    (args.output / "summary.json").write_text(json.dumps(summaries, indent=1), encoding="utf-8")
    sys.stdout.write(summary_md)
    return 0


def explore(name: str, legs_dir: Path, profile_path: Path, args: argparse.Namespace) -> None:
    """Feature screening on the FIT half only (never the report half)."""
    from scipy.stats import spearmanr

    profile = FusionProfile.from_json(profile_path.read_text(encoding="utf-8"))
    points3 = simplex(3, args.step)
    prof_idx = {lang: grid_index(points3, w) for lang, w in profile.languages.items()}
    prof_idx["unknown"] = grid_index(simplex(2, args.step), profile.unknown)
    dense_idx = {FALLBACK: grid_index(points3, (0.0, 0.0, 1.0)),
                 "unknown": grid_index(simplex(2, args.step), (0.0, 1.0))}
    cache = args.output / name / "cache"
    rows = []
    for bench in profile.fitted_on:
        m = json.loads((cache / f"{bench}.json").read_text(encoding="utf-8"))
        rows += [r for r in m["queries"].values() if r["half"] == "fit" and r["lang"] is not None]
    gain = [apply_weights(r, prof_idx) - apply_weights(r, dense_idx) for r in rows]
    best_dense = [points3[int(np.argmax(r["grid"]))][2] for r in rows]
    all_rows = [r for bench in profile.fitted_on for r in json.loads(
        (cache / f"{bench}.json").read_text(encoding="utf-8"))["queries"].values() if r["half"] == "fit"]
    base = mean_of(all_rows, lambda r: apply_weights(r, prof_idx))
    for f in rows[0]["features"]:
        x = [r["features"][f] for r in rows]
        cuts = cut_points([r["features"][f] for r in all_rows], args.bins)
        bins = {b: fit_weights([r for r in all_rows if bin_of(r["features"][f], cuts) == b], set(TRAIN_LANGS))
                for b in range(len(cuts) + 1)}
        fitted = mean_of(all_rows, lambda r, f=f, cuts=cuts, bins=bins:
                         apply_weights(r, bins[bin_of(r["features"][f], cuts)]))
        log.info("%s explore (fit half only): %-15s rho(gain) %+.3f  rho(oracle dense w) %+.3f  "
                 "in-sample %d-bin gain over the profile %+.4f", name, f, spearmanr(x, gain).statistic,
                 spearmanr(x, best_dense).statistic, args.bins, fitted - base)


if __name__ == "__main__":
    sys.exit(main())
