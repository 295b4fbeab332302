"""Scoring a run: nDCG@10, R@100 and MRR@10 overall and per query language, plus language bias.

One function, :func:`score_run`, takes a run and a BEIR folder and returns the JSON report that
``lacl-search eval`` writes. Document languages come from one source
(:func:`lacl_search.evaluation.beir.document_languages`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from lacl_search.errors import BadInput
from lacl_search.evaluation import beir, metrics


def score_run(run: Mapping[str, Mapping[str, float]], dataset: str | Path, *, split: str = "test",
              depth: int = 100) -> dict:
    """Score ``run`` against ``dataset``'s qrels.

    Returns:
        ``ndcg@10``, ``recall@100``, ``mrr@10`` (means over judged queries), ``queries``, ``docs``,
        ``by_query_lang`` and ``language_bias``, and ``per_query`` (``{qid: {metric: value}}``).
    """
    dataset = Path(dataset)
    qrels = beir.load_qrels(dataset, split)
    queries = [q for q in beir.load_queries(dataset) if q.query_id in qrels]
    if not queries:
        raise BadInput(f"no query of {dataset} has judgements in qrels/{split}.tsv")
    unknown = sorted(set(run) - set(qrels))
    if unknown and len(unknown) == len(run):
        raise BadInput(f"the run's query ids match none of {dataset}'s judged queries (e.g. {unknown[0]!r})")
    doc_lang = beir.document_languages(dataset)
    query_lang = beir.query_languages(queries)
    judged = {q.query_id: qrels[q.query_id] for q in queries}
    values = metrics.per_query(judged, run)
    return {
        "dataset": str(dataset), **metrics.aggregate(values), "queries": len(values), "docs": len(doc_lang),
        "by_query_lang": metrics.by_language(values, query_lang),
        "language_bias": metrics.language_bias(judged, run, query_lang, doc_lang, depth),
        "per_query": values,
    }
