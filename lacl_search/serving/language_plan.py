"""Language-aware hybrid search: the requests and the fusion, shared by both searchers (pure functions).

With a detected query language, three legs: BM25 over documents in the query's language (its analyzer),
BM25 over all other documents (language-agnostic fields), and k-NN over all; without one, two legs
(BM25 over all documents, k-NN). Each leg is min-max normalised on its own and combined with the weights
of the index's fusion profile for that language (:class:`~lacl_search.core.fusion_profile.FusionProfile`).
Server-side this is one ``hybrid`` query with 3 (or 2) sub-queries and a normalisation pipeline; on the
client, the same legs in one ``_msearch`` and the same arithmetic (:func:`lacl_search.core.fusion.min_max_fusion`).
"""

from __future__ import annotations

from lacl_search.core import fusion, queries
from lacl_search.core.fusion_profile import FusionProfile
from lacl_search.core.request import SearchRequest
from lacl_search.core.types import Hit
from lacl_search.serving.plan import CANDIDATES_FACTOR, HybridPlan, hits


def lexical_clauses(request: SearchRequest, lang: str | None) -> list[dict]:
    """The BM25 sub-queries: the query language's partition and the rest, or one over all documents."""
    if lang is None:
        return [queries.bm25_clause(request.query, None)]
    return [queries.bm25_partition_clause(request.query, lang, same=True),
            queries.bm25_partition_clause(request.query, lang, same=False)]


def server_plan(request: SearchRequest, vector: list[float], lang: str | None, profile: FusionProfile) -> HybridPlan:
    """The ``hybrid`` query and its min-max pipeline with the profile's weights for ``lang``."""
    weights = list(profile.weights_for(lang))
    filters = request.filter_clauses()
    depth = queries.pagination_depth(request.window)
    subqueries = [*lexical_clauses(request, lang), queries.knn_clause(vector, depth, filters)]
    name = queries.pipeline_name("minmax", weights)
    body = queries.hybrid_query(subqueries, request.k, filters, highlight=True, offset=request.offset, depth=depth)
    return HybridPlan(name, queries.normalization_pipeline(weights), body)


def client_bodies(request: SearchRequest, vector: list[float], lang: str | None) -> list[dict]:
    """The legs as separate requests (one ``_msearch``): lexical clause(s), then k-NN."""
    n = request.window * CANDIDATES_FACTOR
    filters = request.filter_clauses()
    lexical = [queries.clause_query(c, n, filters, highlight=True) for c in lexical_clauses(request, lang)]
    return [*lexical, queries.knn_query(vector, n, filters)]


def fuse_on_client(request: SearchRequest, responses: list[dict], lang: str | None,
                   profile: FusionProfile) -> list[Hit]:
    """Min-max per leg, the profile's weighted mean, and the requested page; ``scores`` keeps each part."""
    by_id: dict[str, Hit] = {}
    legs = []
    for resp in responses:
        found = hits(resp)
        legs.append({h.doc_id: h.score for h in found})
        for h in found:
            by_id.setdefault(h.doc_id, h)
    fused = fusion.min_max_fusion(legs, list(profile.weights_for(lang)))
    lexical = legs[:-1]
    out = []
    for doc_id, score in fusion.top_k(fused, request.window)[request.offset:]:
        hit = by_id[doc_id]
        bm25 = next((leg[doc_id] for leg in lexical if doc_id in leg), None)
        hit.scores = {"bm25": bm25, "dense": legs[-1].get(doc_id), "fused": score}
        hit.score = score
        out.append(hit)
    return out
