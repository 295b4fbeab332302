"""Fitting language-aware fusion weights offline, from saved per-leg runs (no re-querying per candidate).

Input per benchmark: one TREC run per leg (``bm25_same``, ``bm25_other``, ``bm25_base``, ``dense``, and for
the ranker ``dense_translated``; see ``benchmarks/fusion_legs.py``), each query's detected language, and the
qrels. For every query language of the training languages, a grid over the weight simplex picks the ``(same,
other, dense)`` weights with the best mean nDCG@10 over that language's queries (pooled across benchmarks);
the ``*`` fallback is fitted on all training-language queries together, and the ``unknown`` ``(bm25, dense)``
weights on the queries whose language was not detected. Weights are fitted only on benchmarks and languages
the caller passes (the training languages), never on the evaluation sets. Legs run with query translation (a
lexicon) also hold ``bm25_other_plain``, the other-language leg without it: the ``*`` fallback serves
languages the lexicon does not cover, so it is fitted on that leg.

:func:`fit_ranker` fits the learned fusion (:mod:`lacl_search.core.fusion_ranker`) on the same runs and
queries, with LightGBM's LambdaMART; the queries of languages the lexicon covers are seen twice, with and
without their translations, so the ranker also learns what an uncovered language's legs look like. Legs run
with induced translations (``bm25_other_induced``, ``dense_translated_induced``:
:mod:`lacl_search.core.induced`) make that second copy the induced one, as search then translates the
languages the lexicon lacks with the encoder.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from lacl_search.core import fusion, fusion_ranker
from lacl_search.core.fusion_profile import FALLBACK, FusionProfile
from lacl_search.evaluation import metrics

log = logging.getLogger(__name__)

Run = Mapping[str, Mapping[str, float]]
PLAIN_OTHER = "bm25_other_plain"
# the legs of a query translated by the encoder instead of the lexicon, and the legs they stand in for
INDUCED_LEGS = {"bm25_other": "bm25_other_induced", fusion_ranker.TRANSLATED_DENSE: "dense_translated_induced"}


@dataclass(frozen=True)
class LegRuns:
    """One benchmark's per-leg runs, query languages and qrels."""

    name: str
    legs: Mapping[str, Run]
    query_langs: Mapping[str, str | None]
    qrels: Mapping[str, Mapping[str, int]]

    def cut(self, depth: int | None) -> LegRuns:
        """These runs with every leg cut to each query's top ``depth`` (unchanged when ``depth`` is None): what
        a server-side ``hybrid`` query with ``pagination_depth`` ``depth`` normalises over."""
        if depth is None:
            return self
        legs = {name: {q: dict(fusion.top_k(run, depth)) for q, run in leg.items()} for name, leg in self.legs.items()}
        return dataclasses.replace(self, legs=legs)

    def untranslated(self) -> LegRuns:
        """These runs as they are without query translation: the other-language BM25 leg without the
        translations (``bm25_other_plain``, written when the legs were run with a lexicon) and no translated
        dense leg. What a query language the lexicon has no table for gets, so the ``*`` fallback weights are
        fitted on it."""
        if PLAIN_OTHER not in self.legs:
            return self
        legs = {**self.legs, "bm25_other": self.legs[PLAIN_OTHER]}
        legs.pop(fusion_ranker.TRANSLATED_DENSE, None)
        return dataclasses.replace(self, legs=legs)

    @property
    def has_induced(self) -> bool:
        """Whether these legs were run with induced translations (``fusion_legs.py``, with a lexicon)."""
        return INDUCED_LEGS["bm25_other"] in self.legs

    def induced_queries(self, keep: Collection[str]) -> set[str]:
        """The queries search translates with the encoder when the lexicon has tables for ``keep``: those of
        another language (not the target: it has no induced legs) that got induced translations."""
        return {qid for qid in self.legs.get(INDUCED_LEGS["bm25_other"], {})
                if self.query_langs.get(qid) not in keep}

    def induced(self, keep: Collection[str]) -> LegRuns:
        """These runs as search has them when the lexicon translates only ``keep``: the other queries' other-
        language BM25 leg and translated dense leg are those of their induced translations (without any, the
        untranslated leg and no translated dense leg)."""
        swapped = {qid for qid, lang in self.query_langs.items() if lang not in keep}
        chosen = self.induced_queries(keep)
        plain = self.untranslated().legs
        legs = dict(self.legs)
        for leg, induced in INDUCED_LEGS.items():
            run = {q: r for q, r in self.legs.get(leg, {}).items() if q not in swapped}
            run |= {q: r for q, r in plain.get(leg, {}).items() if q in swapped}
            run |= {q: r for q, r in self.legs.get(induced, {}).items() if q in chosen}
            legs[leg] = run
        return dataclasses.replace(self, legs=legs)


def simplex(n: int, step: float) -> list[tuple[float, ...]]:
    """Every weight vector of ``n`` non-negative multiples of ``step`` summing to 1."""
    units = round(1 / step)
    return [tuple(c / units for c in combo) + ((units - sum(combo)) / units,)
            for combo in itertools.product(range(units + 1), repeat=n - 1) if sum(combo) <= units]


def fuse_query(legs: Mapping[str, Run], qid: str, lang: str | None, weights: Sequence[float]) -> dict[str, float]:
    """The language-aware fusion of one query's legs (min-max per leg, weighted mean; absent legs = 0)."""
    names = ("bm25_same", "bm25_other", "dense") if lang is not None else ("bm25_base", "dense")
    return fusion.min_max_fusion([legs[name].get(qid, {}) for name in names], list(weights))


def fuse_benchmark(bench: LegRuns, profile: FusionProfile, depth: int = 100) -> dict[str, dict[str, float]]:
    """The run language-aware fusion gives on ``bench`` with ``profile``."""
    out = {}
    for qid in bench.qrels:
        lang = bench.query_langs.get(qid)
        out[qid] = dict(fusion.top_k(fuse_query(bench.legs, qid, lang, profile.weights_for(lang)), depth))
    return out


def rank_benchmark(bench: LegRuns, profile: FusionProfile, *, covered: Collection[str] = (),
                   depth: int = 100) -> dict[str, dict[str, float]]:
    """The run the profile's learned ranker gives on ``bench`` (``covered``: the languages whose queries were
    translated in these legs, i.e. the lexicon's; none for :meth:`LegRuns.untranslated` legs)."""
    if profile.ranker is None:
        raise ValueError("the profile has no ranker (fit it with --ranker)")
    induced: set[str] = set()
    if profile.ranker.induces:  # search translates the languages the lexicon lacks with the encoder
        if not bench.has_induced:
            raise ValueError(f"{bench.name}: the ranker reads induced translations; run the legs with a lexicon")
        induced, bench = bench.induced_queries(covered), bench.induced(covered)
    out = {}
    for qid in bench.qrels:
        lang = bench.query_langs.get(qid)
        legs = {name: leg.get(qid, {}) for name, leg in bench.legs.items()}
        fused = profile.ranker.fuse(legs, lang, covered=lang in covered, weights=profile.weights_for(lang),
                                    induced=qid in induced)
        out[qid] = dict(fusion.top_k(fused, depth))
    return out


def _best(benches: Sequence[LegRuns], selected: Mapping[str, list[str]], unknown: bool, step: float,
          metric: str) -> tuple[tuple[float, ...], float]:
    """The grid point with the best mean ``metric`` over the selected queries (ties: the first found)."""
    best, best_value = None, -1.0
    for weights in simplex(2 if unknown else 3, step):
        values = []
        for bench in benches:
            qids = selected.get(bench.name, [])
            if not qids:
                continue
            run = {q: fuse_query(bench.legs, q, None if unknown else bench.query_langs[q], weights) for q in qids}
            per = metrics.per_query({q: bench.qrels[q] for q in qids}, run)
            values += [v[metric] for v in per.values()]
        value = sum(values) / len(values) if values else 0.0
        if value > best_value + 1e-12:
            best, best_value = weights, value
    return best or ((1.0, 0.0, 0.0) if not unknown else (0.5, 0.5)), best_value


def fit_profile(benches: Sequence[LegRuns], *, languages: Sequence[str], encoder_fingerprint: str,
                step: float = 0.1, metric: str = "ndcg@10", min_queries: int = 30,
                lexicon: str | None = None) -> FusionProfile:
    """Fit per-language weights on ``benches`` for the query languages in ``languages``.

    Languages with fewer than ``min_queries`` queries get no entry of their own (they use ``*``).
    ``lexicon``: the query-translation lexicon the legs were run with (recorded in the profile).
    """
    allowed = set(languages)
    by_lang: dict[str, dict[str, list[str]]] = {}
    unknown: dict[str, list[str]] = {}
    for bench in benches:
        for qid in bench.qrels:
            lang = bench.query_langs.get(qid)
            if lang is None:
                unknown.setdefault(bench.name, []).append(qid)
            elif lang in allowed:
                by_lang.setdefault(lang, {}).setdefault(bench.name, []).append(qid)
    weights: dict[str, tuple[float, ...]] = {}
    notes: dict[str, float] = {}
    pooled: dict[str, list[str]] = {}
    for lang, selected in sorted(by_lang.items()):
        for name, qids in selected.items():
            pooled.setdefault(name, []).extend(qids)
        if sum(map(len, selected.values())) >= min_queries:
            weights[lang], notes[lang] = _best(benches, selected, False, step, metric)
            log.info("%s: weights %s, %s %.4f", lang, weights[lang], metric, notes[lang])
    weights[FALLBACK], notes[FALLBACK] = _best([b.untranslated() for b in benches], pooled, False, step, metric)
    unknown_weights, notes["unknown"] = _best(benches, unknown, True, step, metric)
    return FusionProfile(encoder_fingerprint=encoder_fingerprint, languages=weights, unknown=unknown_weights,
                         fitted_on=tuple(sorted(b.name for b in benches)), metric=metric, notes=notes,
                         lexicon=lexicon)


RANKER_PARAMS = {  # chosen by two-fold cross-validation on the fit half (docs/fusion.md, "Ninth session")
    "objective": "lambdarank", "learning_rate": 0.1, "num_leaves": 7, "min_data_in_leaf": 50,
    "feature_fraction": 0.8, "bagging_fraction": 0.8, "bagging_freq": 1, "lambdarank_truncation_level": 20,
    "deterministic": True, "force_row_wise": True, "num_threads": 2, "verbose": -1,
}
RANKER_TREES = 100


def ranker_features(induce: bool) -> tuple[str, ...]:
    """The ranker's columns: every feature, ``lang_induced`` only when it is fitted with induced translations."""
    return tuple(f for f in fusion_ranker.FEATURES if induce or f != fusion_ranker.INDUCED)


def ranker_examples(benches: Sequence[LegRuns], profile: FusionProfile, *, languages: Sequence[str],
                    covered: Sequence[str], induce: bool = False) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """The ranker's training set: per judged query of a training language (or of undetected language) its
    candidates' features (:func:`fusion_ranker.features`), their relevance, and the group sizes. Queries of a
    ``covered`` language (the lexicon has a table for it) come twice: translated, and as a language without a
    table gets them: untranslated (``bm25_other_plain``), or with ``induce`` translated by the encoder
    (:meth:`LegRuns.induced`). With ``induce`` the matrix has the ``lang_induced`` column, else not."""
    allowed, tables = set(languages), set(covered)
    columns = [fusion_ranker.FEATURES.index(f) for f in ranker_features(induce)]
    matrices, labels, groups = [], [], []
    for bench in benches:
        if induce:
            variants = [(bench.induced(tables), True, bench.induced_queries(tables)),
                        (bench.induced(()), False, bench.induced_queries(()))]
        else:
            variants = [(bench, True, set())] + ([(bench.untranslated(), False, set())]
                                                 if PLAIN_OTHER in bench.legs else [])
        for runs, translated, induced in variants:
            for qid, qrel in bench.qrels.items():
                lang = bench.query_langs.get(qid)
                if (lang is not None and lang not in allowed) or (not translated and lang not in tables):
                    continue
                legs = {name: leg.get(qid, {}) for name, leg in runs.legs.items()}
                docs, matrix = fusion_ranker.features(legs, lang, covered=translated and lang in tables,
                                                      weights=profile.weights_for(lang), induced=qid in induced)
                matrix = matrix[:, columns]
                if not docs:
                    continue
                matrices.append(matrix)
                labels.append(np.asarray([qrel.get(d, 0) for d in docs], dtype=np.float32))
                groups.append(len(docs))
    if not groups:
        raise ValueError("no judged query of the training languages has candidates to fit a ranker on")
    return np.vstack(matrices), np.concatenate(labels), groups


def fit_ranker(benches: Sequence[LegRuns], profile: FusionProfile, *, languages: Sequence[str],
               covered: Sequence[str] = (), trees: int = RANKER_TREES, seed: int = 1) -> fusion_ranker.TreeRanker:
    """Fit the learned fusion on ``benches`` (legs cut to the serving depth) with ``profile``'s weights as a
    feature; ``covered``: the languages the profile's lexicon translates. When every benchmark's legs have
    induced translations, the ranker is fitted with them (and search then induces them)."""
    import lightgbm  # fitting only: search evaluates the exported trees with numpy

    induce = bool(benches) and all(bench.has_induced for bench in benches)
    names = ranker_features(induce)
    matrix, labels, groups = ranker_examples(benches, profile, languages=languages, covered=covered, induce=induce)
    data = lightgbm.Dataset(matrix, labels, group=groups, feature_name=[f.replace(":", "_") for f in names])
    booster = lightgbm.train({**RANKER_PARAMS, "seed": seed}, data, num_boost_round=trees)
    log.info("ranker: %d trees on %d queries (%d candidates)%s", trees, len(groups), len(labels),
             ", induced translations for the languages the lexicon lacks" if induce else "")
    return fusion_ranker.from_lightgbm(booster.dump_model(), names)
