"""Runs: ranked lists per query, written and read as TREC run files (``qid Q0 docid rank score tag``).

Evaluation is runs, then scores (the pyserini habit): :func:`search_run` (OpenSearch, any mode) and
:func:`exact_run` (its exact in-memory dense twin) produce runs; :func:`fuse_runs` fuses saved runs
offline; :mod:`lacl_search.evaluation.scoring` scores a run against qrels. Nothing here mutates what
the caller passes in.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from lacl_search.core import fusion
from lacl_search.core.encoder import Encoder
from lacl_search.core.request import SearchRequest
from lacl_search.core.types import Document, Fusion
from lacl_search.errors import ArtifactMissing, BadInput
from lacl_search.evaluation.beir import Query
from lacl_search.evaluation.exact import exact_search
from lacl_search.serving.search import Searcher

log = logging.getLogger(__name__)

Run = dict[str, dict[str, float]]


def write_trec_run(path: str | Path, run: Mapping[str, Mapping[str, float]], tag: str) -> Path:
    """Write ``run`` as a TREC run file, queries sorted, documents by descending score then id."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        for qid in sorted(run):
            ranked = sorted(run[qid].items(), key=lambda kv: (-kv[1], kv[0]))
            for rank, (doc_id, score) in enumerate(ranked, start=1):
                fh.write(f"{qid} Q0 {doc_id} {rank} {score:.6f} {tag}\n")
    return path


def read_trec_run(path: str | Path) -> Run:
    """Read a TREC run file into ``{qid: {doc_id: score}}``; a malformed line is a one-line error."""
    path = Path(path)
    if not path.is_file():
        raise ArtifactMissing(f"run file not found: {path}")
    run: Run = {}
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) != 6:
                raise BadInput(f"{path}:{lineno}: a TREC run line has 6 columns (qid Q0 docid rank score tag)")
            try:
                score = float(parts[4])
            except ValueError:
                raise BadInput(f"{path}:{lineno}: score {parts[4]!r} is not a number") from None
            run.setdefault(parts[0], {})[parts[2]] = score
    return run


def search_run(searcher: Searcher, queries: Sequence[Query], template: SearchRequest,
               *, use_query_lang: bool = False) -> tuple[Run, list[float]]:
    """Search every query with ``template``'s settings; return the run and per-query seconds.

    Queries are encoded in batches; ``use_query_lang`` passes each query's ``lang`` field as a hint
    instead of detecting it.
    """
    requests = [template.with_changes(query=q.text, query_lang=q.lang if use_query_lang else None) for q in queries]
    run: Run = {}
    latencies: list[float] = []
    start = time.perf_counter()
    for query, found in zip(queries, searcher.run_many(requests), strict=True):
        now = time.perf_counter()
        latencies.append(now - start)
        start = now
        run[query.query_id] = {h.doc_id: h.score for h in found}
    return run, latencies


def exact_run(encoder: Encoder, queries: Sequence[Query], corpus: Sequence[Document], *, depth: int = 100,
              batch_size: int = 32) -> Run:
    """Exact dense retrieval in memory: the same encoder, every document scored (no index)."""
    if not corpus:
        raise BadInput("the corpus is empty")
    d_emb = encoder.encode_documents(list(corpus), batch_size=batch_size, show_progress=len(corpus) > 2000)
    q_emb = encoder.encode_queries([q.text for q in queries], batch_size=batch_size)
    return exact_search(q_emb, d_emb, [d.doc_id for d in corpus], [q.query_id for q in queries], k=depth)


def fuse_runs(runs: Sequence[Mapping[str, Mapping[str, float]]], *, method: Fusion | str = Fusion.MINMAX,
              weights: Sequence[float] | None = None, depth: int = 100) -> Run:
    """Fuse saved runs per query (min-max + weighted mean, or RRF), keeping the top ``depth``."""
    method = Fusion.parse(method)
    if len(runs) < 2:
        raise BadInput("fusion takes at least two runs")
    # RRF sums 1 / (k + rank) per run (weight 1 each, Cormack et al.); min-max takes a weighted mean
    rank_based = method in (Fusion.RRF, Fusion.WRRF)
    weights = list(weights) if weights is not None else [1.0 if rank_based else 1.0 / len(runs)] * len(runs)
    if len(weights) != len(runs):
        raise BadInput(f"{len(weights)} weights for {len(runs)} runs")
    out: Run = {}
    for qid in sorted(set().union(*runs)):
        per_query = [run.get(qid, {}) for run in runs]
        if method in (Fusion.RRF, Fusion.WRRF):
            fused = fusion.reciprocal_rank_fusion(per_query, weights=weights)
        elif method is Fusion.ZSCORE:
            fused = fusion.z_score_fusion(per_query, weights)
        elif method is Fusion.MINMAX:
            fused = fusion.min_max_fusion(per_query, weights)
        else:
            raise BadInput(f"offline fusion takes minmax, rrf, wrrf or zscore, not {method}")
        out[qid] = dict(fusion.top_k(fused, depth))
    return out
