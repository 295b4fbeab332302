"""Evaluate a retriever on a BEIR dataset against a real OpenSearch index.

``run(config)``: ingest the corpus (re-using the index when its ``_meta`` says it already holds exactly
this corpus encoded with this model), encode all queries in batches, search each, write a TREC run
next to the output file, compute metrics (:mod:`lacl_search.evaluation.metrics`) and write them as JSON.
"""

from __future__ import annotations

import json
import logging
import re
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from opensearchpy import OpenSearch

from lacl_search import indices
from lacl_search.encoder import Encoder
from lacl_search.evaluation import beir, metrics
from lacl_search.indexing import with_language
from lacl_search.langid import detect_language, normalize_lang
from lacl_search.loader import LoadOptions, load_documents
from lacl_search.search import MODES, Searcher

log = logging.getLogger(__name__)


@dataclass
class EvalConfig:
    """What to evaluate. ``index`` defaults to ``eval-<dataset folder name>``."""

    dataset: Path
    output: Path
    mode: str = "hybrid"
    model: str = "default"
    index: str | None = None
    depth: int = 100
    weight: float = 0.5
    fusion: str = "minmax"
    split: str = "test"

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {self.mode!r}")
        self.dataset, self.output = Path(self.dataset), Path(self.output)

    @property
    def index_name(self) -> str:
        return self.index or "eval-" + re.sub(r"[^a-z0-9_.-]+", "-", self.dataset.resolve().name.lower())


def ensure_corpus_index(client: OpenSearch, config: EvalConfig, encoder: Encoder) -> tuple[dict[str, str | None], dict]:
    """Make the alias hold exactly this corpus with this model; return doc languages and ingest stats."""
    fingerprint = beir.corpus_fingerprint(config.dataset)
    docs = [with_language(d) for d in beir.iter_corpus(config.dataset)]
    doc_lang = {d.doc_id: d.lang for d in docs}
    found = indices.find_index(client, config.index_name, corpus_fingerprint=fingerprint,
                               model_fingerprint=encoder.fingerprint())
    if found and client.count(index=found)["count"] == len(docs):
        log.info("re-using index %s (same corpus, same model)", found)
        return doc_lang, {"reused": True, "index": found}
    options = LoadOptions(model_name=config.model, rebuild=True, extra_meta={"corpus_fingerprint": fingerprint})
    index, report = load_documents(client, config.index_name, encoder, docs, options)
    if report.failed:
        raise RuntimeError(f"{report.failed} corpus documents could not be indexed: {report.errors[:3]}")
    return doc_lang, {"reused": False, "index": index, **report.as_dict()}


def retrieve(searcher: Searcher, queries: list[beir.Query], config: EvalConfig) -> tuple[dict, list[float]]:
    """Search every query; return the run ``{qid: {doc_id: score}}`` and per-query latencies (s)."""
    vectors = None
    if config.mode != "bm25":
        vectors = searcher.encoder.encode_queries([q.text for q in queries], show_progress=len(queries) > 200)
    run, latencies = {}, []
    for i, query in enumerate(queries):
        start = time.perf_counter()
        if vectors is None:
            hits = searcher.search(query.text, "bm25", config.depth)
        else:
            hits = searcher.search_vector(query.text, vectors[i].tolist(), config.mode, config.depth, [],
                                          config.weight, config.fusion, explain=False)
        latencies.append(time.perf_counter() - start)
        run[query.query_id] = {h.doc_id: h.score for h in hits}
    return run, latencies


def run(config: EvalConfig, client: OpenSearch, encoder: Encoder | None = None) -> dict:
    """Evaluate and write ``config.output`` (metrics JSON) and ``<output stem>.trec`` (the run)."""
    qrels = beir.load_qrels(config.dataset, config.split)
    queries = [q for q in beir.load_queries(config.dataset) if q.query_id in qrels]
    if not queries:
        raise ValueError(f"no query of {config.dataset} has judgements in qrels/{config.split}.tsv")
    encoder = encoder or Encoder.from_pretrained(config.model)
    doc_lang, ingest = ensure_corpus_index(client, config, encoder)
    query_lang = {q.query_id: normalize_lang(q.lang) or detect_language(q.text) for q in queries}
    searcher = Searcher(client, encoder if config.mode != "bm25" else None, config.index_name)
    start = time.perf_counter()
    run_, latencies = retrieve(searcher, queries, config)
    search_seconds = time.perf_counter() - start
    values = metrics.per_query(qrels, run_)
    result = {
        "dataset": str(config.dataset), "mode": config.mode, "model": config.model, "index": config.index_name,
        **metrics.aggregate(values), "queries": len(values), "docs": len(doc_lang),
        "by_query_lang": metrics.by_language(values, query_lang),
        "language_bias": metrics.language_bias(qrels, run_, query_lang, doc_lang, config.depth),
        "latency_ms": {"p50": _pct(latencies, 50), "p95": _pct(latencies, 95),
                       "search_seconds": round(search_seconds, 2)},
        "ingest": ingest,
    }
    beir.write_trec_run(config.output.with_suffix(".trec"), run_, tag=f"lacl-{config.mode}")
    config.output.parent.mkdir(parents=True, exist_ok=True)
    config.output.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    log.info("%s %s: ndcg@10 %.4f recall@100 %.4f (%d queries)", config.dataset.name, config.mode,
             result["ndcg@10"], result["recall@100"], result["queries"])
    return result


def _pct(values: list[float], q: float) -> float:
    return round(float(np.percentile(values, q)) * 1000, 2) if values else 0.0
