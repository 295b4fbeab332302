"""Retrieval metrics (through ``ir_measures``) and the language-bias figures of the mixed corpus.

Metrics: nDCG@10, Recall@100 and MRR@10 (``RR@10`` averaged), computed per query by ir_measures
(pytrec_eval underneath) and averaged over the queries that have relevance judgements.

Language bias (Hu et al. 2023 motivate the method with it): for a query in language L,
- ``recall@100_same_lang``: recall@100 of its relevant documents written in L;
- ``recall@100_other_lang``: recall@100 of its relevant documents written in other languages;
- ``top10_share_query_lang``: the share of its top-10 hits written in L.
A language-agnostic retriever has the first two equal and a share equal to L's share of the corpus.

On a corpus of translation sets (``mixed``: every translation of a description is a document, and all are
judged relevant) document-level nDCG@10 also rewards stacking one description's translations at the top;
:func:`by_group` maps qrels and run to the sets, so nDCG over them says whether the right *descriptions* come
first (docs/fusion.md, "Twelfth session").
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from statistics import fmean

import ir_measures
from ir_measures import RR, R, nDCG

Qrels = Mapping[str, Mapping[str, int]]
Run = Mapping[str, Mapping[str, float]]
MEASURES = {"ndcg@10": nDCG @ 10, "recall@100": R @ 100, "mrr@10": RR @ 10}


def per_query(qrels: Qrels, run: Run) -> dict[str, dict[str, float]]:
    """``{query_id: {metric: value}}`` for every judged query (a query without hits scores 0)."""
    judged = {q: dict(d) for q, d in qrels.items() if any(r > 0 for r in d.values())}
    full_run = {q: dict(run.get(q, {})) for q in judged}
    names = {str(m): name for name, m in MEASURES.items()}
    out: dict[str, dict[str, float]] = {q: {name: 0.0 for name in MEASURES} for q in judged}
    for metric in ir_measures.iter_calc(list(MEASURES.values()), judged, full_run):
        out[metric.query_id][names[str(metric.measure)]] = float(metric.value)
    return out


def aggregate(values: Mapping[str, Mapping[str, float]], query_ids: list[str] | None = None) -> dict[str, float]:
    """Mean of each metric over ``query_ids`` (default: all)."""
    ids = list(values) if query_ids is None else query_ids
    if not ids:
        return {name: 0.0 for name in MEASURES}
    return {name: fmean(values[q][name] for q in ids) for name in MEASURES}


def paired_difference(reference: Mapping[str, float], other: Mapping[str, float]) -> dict[str, float]:
    """Mean per-query difference ``other - reference`` over their shared queries, and the two-sided
    paired t-test p-value (the test Smucker et al., CIKM 2007, found to agree with randomisation tests).
    """
    from scipy.stats import ttest_rel

    shared = sorted(set(reference) & set(other))
    if len(shared) < 2:
        raise ValueError(f"a paired test needs at least 2 shared queries, got {len(shared)}")
    a = [reference[q] for q in shared]
    b = [other[q] for q in shared]
    diff = fmean(y - x for x, y in zip(a, b, strict=True))
    p = 1.0 if a == b else float(ttest_rel(b, a).pvalue)
    return {"diff": diff, "p": p, "queries": len(shared)}


def by_language(values: Mapping[str, Mapping[str, float]], query_lang: Mapping[str, str | None]) -> dict[str, dict]:
    """Metrics per query language (queries of unknown language under ``"und"``)."""
    groups: dict[str, list[str]] = defaultdict(list)
    for qid in values:
        groups[query_lang.get(qid) or "und"].append(qid)
    return {lang: {**aggregate(values, ids), "queries": len(ids)} for lang, ids in sorted(groups.items())}


def language_bias(
    qrels: Qrels, run: Run, query_lang: Mapping[str, str | None], doc_lang: Mapping[str, str | None], depth: int = 100
) -> dict[str, float | int | None]:
    """Same- vs other-language recall@depth and the top-10 share of the query's language."""
    same, other, share = [], [], []
    for qid, rels in qrels.items():
        lang = query_lang.get(qid)
        relevant = [d for d, r in rels.items() if r > 0]
        if lang is None or not relevant:
            continue
        ranked = sorted(run.get(qid, {}).items(), key=lambda kv: (-kv[1], kv[0]))
        retrieved = {d for d, _ in ranked[:depth]}
        same_rel = [d for d in relevant if doc_lang.get(d) == lang]
        other_rel = [d for d in relevant if doc_lang.get(d) != lang]
        if same_rel:
            same.append(sum(d in retrieved for d in same_rel) / len(same_rel))
        if other_rel:
            other.append(sum(d in retrieved for d in other_rel) / len(other_rel))
        top = [d for d, _ in ranked[:10]]
        if top:
            share.append(sum(doc_lang.get(d) == lang for d in top) / len(top))
    return {
        f"recall@{depth}_same_lang": fmean(same) if same else None,
        f"recall@{depth}_other_lang": fmean(other) if other else None,
        "top10_share_query_lang": fmean(share) if share else None,
        "queries_with_same_lang_relevant": len(same),
        "queries_with_other_lang_relevant": len(other),
    }


def by_group(qrels: Qrels, run: Run, groups: Mapping[str, str]) -> tuple[dict[str, dict[str, int]],
                                                                       dict[str, dict[str, float]]]:
    """``qrels`` and ``run`` mapped to groups (e.g. translation sets; a document without one is its own): a
    group's relevance and score are its best member's."""
    return _best_per_group(qrels, groups), _best_per_group(run, groups)


def _best_per_group(values: Mapping[str, Mapping[str, float]], groups: Mapping[str, str]) -> dict[str, dict]:
    """Per query, each group's best value among its members'."""
    out: dict[str, dict] = {}
    for qid, per_doc in values.items():
        mapped = out.setdefault(qid, {})
        for doc, value in per_doc.items():
            key = groups.get(doc, doc)
            mapped[key] = max(mapped.get(key, value), value)
    return out
