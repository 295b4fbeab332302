"""Exact in-memory dense retrieval on a BEIR folder: evaluation without OpenSearch.

Used by the trainer's periodic dev evaluation and the experiment report. Documents and queries are
encoded with the shared :class:`~lacl_search.core.encoder.Encoder`, every document is scored by inner
product (cosine for normalised embeddings) with torch, and the run is scored with the same metrics
as the OpenSearch evaluation (:mod:`lacl_search.evaluation.metrics`), language bias included when the
corpus holds several languages.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from lacl_search.core.encoder import Encoder
from lacl_search.core.langid import document_language
from lacl_search.core.types import Document
from lacl_search.evaluation import beir, metrics

Run = dict[str, dict[str, float]]


@dataclass(frozen=True)
class Benchmark:
    """A BEIR benchmark in memory, restricted to the judged queries."""

    name: str
    doc_ids: list[str]
    documents: list[Document]
    doc_langs: list[str | None]
    query_ids: list[str]
    queries: list[str]
    query_langs: list[str | None]
    qrels: dict[str, dict[str, int]]
    corpus_key: str


def load_benchmark(folder: str | Path, max_queries: int = 0, split: str = "test", seed: int = 0) -> Benchmark:
    """Read a BEIR folder; keep judged queries (a seeded sample of ``max_queries`` when > 0).

    The sample is random rather than the file's first lines: query files are grouped by language, so
    a prefix of the mixed benchmark would hold only its first two languages.
    """
    folder = Path(folder)
    qrels = beir.load_qrels(folder, split)
    queries = [q for q in beir.load_queries(folder) if q.query_id in qrels]
    if 0 < max_queries < len(queries):
        keep = set(random.Random(seed).sample(range(len(queries)), max_queries))
        queries = [q for i, q in enumerate(queries) if i in keep]
    docs = list(beir.iter_corpus(folder))
    query_lang = beir.query_languages(queries)
    return Benchmark(
        name=folder.name,
        doc_ids=[d.doc_id for d in docs],
        documents=docs,
        doc_langs=[document_language(d.lang, d.title, d.text) for d in docs],
        query_ids=[q.query_id for q in queries],
        queries=[q.text for q in queries],
        query_langs=[query_lang[q.query_id] for q in queries],
        qrels={q.query_id: dict(qrels[q.query_id]) for q in queries},
        corpus_key=beir.corpus_fingerprint(folder),
    )


def exact_search(q_emb: np.ndarray, d_emb: np.ndarray, doc_ids: list[str], query_ids: list[str], k: int = 100) -> Run:
    """Top-``k`` documents per query by inner product.

    Args:
        q_emb: ``[Q, D]`` query embeddings, rows in ``query_ids`` order.
        d_emb: ``[N, D]`` document embeddings, rows in ``doc_ids`` order.
    """
    docs = torch.from_numpy(d_emb)  # [N, D]
    run: Run = {}
    for start in range(0, len(query_ids), 256):
        scores = torch.from_numpy(q_emb[start : start + 256]) @ docs.T  # [q, N]
        top = torch.topk(scores, k=min(k, docs.shape[0]), dim=1)
        for row, qid in enumerate(query_ids[start : start + 256]):
            pairs = zip(top.indices[row].tolist(), top.values[row].tolist(), strict=True)
            run[qid] = {doc_ids[j]: float(s) for j, s in pairs}
    return run


class DenseEvaluator:
    """Evaluates one encoder on benchmarks, caching corpus embeddings shared between them."""

    def __init__(self, encoder: Encoder, batch_size: int = 32) -> None:
        self.encoder, self.batch_size = encoder, batch_size
        self._corpus_cache: dict[str, np.ndarray] = {}
        self.per_query: dict[str, dict[str, dict[str, float]]] = {}  # benchmark -> query -> metric -> value

    def evaluate(self, bench: Benchmark) -> dict[str, float | int | None]:
        """``ndcg@10``, ``recall@100``, ``mrr@10``, ``queries`` and, on multilingual corpora, language bias."""
        if bench.corpus_key not in self._corpus_cache:
            docs = self.encoder.encode_documents(bench.documents, batch_size=self.batch_size)
            self._corpus_cache[bench.corpus_key] = docs
        q_emb = self.encoder.encode_queries(bench.queries, batch_size=self.batch_size)
        run = exact_search(q_emb, self._corpus_cache[bench.corpus_key], bench.doc_ids, bench.query_ids)
        values = metrics.per_query(bench.qrels, run)
        self.per_query[bench.name] = values
        result: dict[str, float | int | None] = {**metrics.aggregate(values), "queries": len(values)}
        if len({lang for lang in bench.doc_langs if lang}) > 1:
            query_lang = dict(zip(bench.query_ids, bench.query_langs, strict=True))
            doc_lang = dict(zip(bench.doc_ids, bench.doc_langs, strict=True))
            bias = metrics.language_bias(bench.qrels, run, query_lang, doc_lang)
            result.update({k: v for k, v in bias.items() if not k.startswith("queries_")})
        return result


def subsample_corpus(bench: Benchmark, max_docs: int, seed: int = 0) -> Benchmark:
    """``bench`` with a corpus of every judged document plus random distractors up to ``max_docs``.

    An easier benchmark than the full one: compare models on the same subsample only.
    """
    if max_docs <= 0 or len(bench.doc_ids) <= max_docs:
        return bench
    judged = {doc for rels in bench.qrels.values() for doc in rels}
    keep = [i for i, doc in enumerate(bench.doc_ids) if doc in judged]
    rest = [i for i, doc in enumerate(bench.doc_ids) if doc not in judged]
    rng = np.random.default_rng(seed)
    extra = rng.choice(len(rest), size=max(0, max_docs - len(keep)), replace=False) if rest else []
    rows = sorted(keep + [rest[j] for j in extra])
    return replace(
        bench,
        doc_ids=[bench.doc_ids[i] for i in rows],
        documents=[bench.documents[i] for i in rows],
        doc_langs=[bench.doc_langs[i] for i in rows],
        # the kept rows depend on the benchmark's judged documents: benchmarks sharing one corpus file
        # (the X -> en sets) must not share a capped corpus's cached embeddings
        corpus_key=f"{bench.corpus_key}:{max_docs}:{seed}:{hashlib.sha256(str(rows).encode()).hexdigest()[:16]}",
    )
