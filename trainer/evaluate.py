"""Exact in-memory dense retrieval on a BEIR folder, for dev evaluation without OpenSearch.

Encodes the corpus and the queries with the :class:`Encoder`, ranks every document by cosine with
torch (exact top-k, no index), and scores the run with ``ir_measures`` (nDCG@10, R@100). On a
mixed-language corpus whose rows carry a ``lang`` field it also measures language bias: recall@100 of
relevant documents in the query's language vs in other languages, and the share of the top 10 that is
in the query's language.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import ir_measures
import numpy as np
import torch
from ir_measures import R, nDCG

from lacl_search.encoder import Encoder, compose_document

log = logging.getLogger(__name__)

MEASURES = (nDCG @ 10, R @ 100)
Run = dict[str, dict[str, float]]
Qrels = dict[str, dict[str, int]]


@dataclass
class Benchmark:
    """A BEIR benchmark in memory (queries limited to those with judgements)."""

    name: str
    doc_ids: list[str]
    documents: list[str]
    doc_langs: list[str | None]
    query_ids: list[str]
    queries: list[str]
    query_langs: list[str | None]
    qrels: Qrels
    corpus_key: str


def _lang(row: dict) -> str | None:
    return row.get("lang") or (row.get("metadata") or {}).get("lang")


def _read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def read_qrels(path: Path) -> Qrels:
    """BEIR qrels TSV (``query-id corpus-id score`` with a header) as nested dicts."""
    qrels: Qrels = {}
    with path.open(encoding="utf-8") as f:
        for row in csv.reader(f, delimiter="\t"):
            if len(row) < 3 or row[0] == "query-id":
                continue
            qrels.setdefault(row[0], {})[row[1]] = int(row[2])
    return qrels


def load_benchmark(folder: str | Path, max_queries: int = 0, split: str = "test") -> Benchmark:
    """Read ``corpus.jsonl``, ``queries.jsonl`` and ``qrels/<split>.tsv``; keep judged queries only."""
    folder = Path(folder)
    corpus_path = folder / "corpus.jsonl"
    corpus = _read_jsonl(corpus_path)
    qrels = read_qrels(folder / "qrels" / f"{split}.tsv")
    queries = [q for q in _read_jsonl(folder / "queries.jsonl") if str(q["_id"]) in qrels]
    if max_queries:
        queries = queries[:max_queries]
        qrels = {str(q["_id"]): qrels[str(q["_id"])] for q in queries}
    return Benchmark(
        name=folder.name,
        doc_ids=[str(d["_id"]) for d in corpus],
        documents=[compose_document(d.get("title"), d.get("text", "")) for d in corpus],
        doc_langs=[_lang(d) for d in corpus],
        query_ids=[str(q["_id"]) for q in queries],
        queries=[q["text"] for q in queries],
        query_langs=[_lang(q) for q in queries],
        qrels=qrels,
        corpus_key=hashlib.sha1(corpus_path.read_bytes()).hexdigest(),
    )


def exact_search(q_emb: np.ndarray, d_emb: np.ndarray, doc_ids: list[str], query_ids: list[str], k: int = 100) -> Run:
    """Top-``k`` documents per query by inner product (cosine for normalised embeddings).

    Args:
        q_emb: ``[Q, D]`` query embeddings. d_emb: ``[N, D]`` document embeddings.
        doc_ids / query_ids: ids in row order.
    """
    docs = torch.from_numpy(d_emb)  # [N, D]
    run: Run = {}
    for start in range(0, len(query_ids), 256):
        scores = torch.from_numpy(q_emb[start : start + 256]) @ docs.T  # [q, N]
        top = torch.topk(scores, k=min(k, docs.shape[0]), dim=1)
        for row, qid in enumerate(query_ids[start : start + 256]):
            run[qid] = {
                doc_ids[j]: float(s) for s, j in zip(top.values[row].tolist(), top.indices[row].tolist(), strict=True)
            }
    return run


def score_run(qrels: Qrels, run: Run) -> dict[str, float]:
    """nDCG@10 and R@100 averaged over the judged queries (ir_measures)."""
    return {str(m): float(v) for m, v in ir_measures.calc_aggregate(MEASURES, qrels, run).items()}


def language_bias(bench: Benchmark, run: Run) -> dict[str, float]:
    """Recall@100 of same- vs other-language relevant documents, and the top-10 query-language share."""
    lang_of = dict(zip(bench.doc_ids, bench.doc_langs, strict=True))
    same = [0, 0]  # found, relevant
    other = [0, 0]
    shares = []
    for qid, qlang in zip(bench.query_ids, bench.query_langs, strict=True):
        ranked = sorted(run.get(qid, {}).items(), key=lambda kv: -kv[1])
        top100 = {doc for doc, _ in ranked[:100]}
        for doc, rel in bench.qrels.get(qid, {}).items():
            if rel > 0:
                bucket = same if lang_of.get(doc) == qlang else other
                bucket[0] += doc in top100
                bucket[1] += 1
        top10 = [lang_of.get(doc) for doc, _ in ranked[:10]]
        if top10:
            shares.append(sum(lang == qlang for lang in top10) / len(top10))
    return {
        "R@100_same_lang": same[0] / same[1] if same[1] else float("nan"),
        "R@100_other_lang": other[0] / other[1] if other[1] else float("nan"),
        "top10_query_lang_share": float(np.mean(shares)) if shares else float("nan"),
    }


class DenseEvaluator:
    """Evaluates one encoder on BEIR benchmarks, caching corpus embeddings shared between them.

    Args:
        encoder: the model under test.
        batch_size: encoding batch size.
    """

    def __init__(self, encoder: Encoder, batch_size: int = 32) -> None:
        self.encoder, self.batch_size = encoder, batch_size
        self._corpus_cache: dict[str, np.ndarray] = {}

    def evaluate(self, bench: Benchmark) -> dict[str, float]:
        """Metrics of ``bench``; language-bias figures too when queries and documents carry ``lang``."""
        if bench.corpus_key not in self._corpus_cache:
            self._corpus_cache[bench.corpus_key] = self.encoder.encode_documents(bench.documents, self.batch_size)
        d_emb = self._corpus_cache[bench.corpus_key]
        q_emb = self.encoder.encode_queries(bench.queries, self.batch_size)
        run = exact_search(q_emb, d_emb, bench.doc_ids, bench.query_ids, k=100)
        metrics = score_run(bench.qrels, run)
        has_langs = all(bench.query_langs) and all(bench.doc_langs) and len(set(bench.doc_langs)) > 1
        if has_langs:
            metrics.update(language_bias(bench, run))
        metrics["queries"] = float(len(bench.queries))
        return metrics


def subsample_corpus(bench: Benchmark, max_docs: int, seed: int = 0) -> Benchmark:
    """A copy of ``bench`` whose corpus keeps every judged document plus random distractors up to
    ``max_docs`` (a cheaper, easier benchmark: compare models on the same subsample only)."""
    if max_docs <= 0 or len(bench.doc_ids) <= max_docs:
        return bench
    judged = {doc for rels in bench.qrels.values() for doc in rels}
    keep = [i for i, doc in enumerate(bench.doc_ids) if doc in judged]
    rest = [i for i, doc in enumerate(bench.doc_ids) if doc not in judged]
    rng = np.random.default_rng(seed)
    extra = rng.choice(len(rest), size=max(0, max_docs - len(keep)), replace=False) if rest else []
    rows = sorted(keep + [rest[j] for j in extra])
    return Benchmark(
        name=bench.name,
        doc_ids=[bench.doc_ids[i] for i in rows],
        documents=[bench.documents[i] for i in rows],
        doc_langs=[bench.doc_langs[i] for i in rows],
        query_ids=list(bench.query_ids),
        queries=list(bench.queries),
        query_langs=list(bench.query_langs),
        qrels={q: dict(r) for q, r in bench.qrels.items()},
        corpus_key=f"{bench.corpus_key}:{max_docs}:{seed}",
    )
