"""What a search sends and how its answers become hits: pure functions shared by both searchers.

:class:`~lacl_search.serving.search.Searcher` (blocking) and
:class:`~lacl_search.serving.async_search.AsyncSearcher` (asyncio) differ only in how they send
requests; every request body, pipeline and fusion step comes from here, so the two cannot drift.
"""

from __future__ import annotations

from dataclasses import dataclass

from lacl_search.core import fusion, queries, schema
from lacl_search.core.fusion_profile import FALLBACK, FusionProfile
from lacl_search.core.request import SearchRequest
from lacl_search.core.types import Fusion, Hit, Mode
from lacl_search.errors import ClusterError


def hit_from_response(raw: dict) -> Hit:
    """Build a :class:`Hit` from one ``hits.hits`` entry."""
    src = raw.get("_source", {})
    fragments = [frag for frags in raw.get("highlight", {}).values() for frag in frags]
    return Hit(
        doc_id=src.get(schema.DOC_ID, raw["_id"]),
        score=float(raw.get("_score") or 0.0),
        lang=src.get(schema.LANG),
        title=src.get(schema.TITLE),
        text=src.get(schema.TEXT, ""),
        highlights=fragments,
        metadata=src.get(schema.METADATA, {}),
    )


def partial_failure(responses: list[dict]) -> str | None:
    """Why a search answer is incomplete (some shards did not answer), or None when every shard answered.

    OpenSearch returns partial results by default when a shard copy fails, e.g. when its node dies between
    the query and the fetch phase of a multi-shard search: the hits of that shard are silently missing."""
    for response in responses:
        shards = response.get("_shards") or {}
        if shards.get("failed"):
            reason = ((shards.get("failures") or [{}])[0].get("reason")) or {}
            detail = str(reason.get("reason") or reason.get("type") or "")[:200]
            problem = f"{shards['failed']} of {shards.get('total', '?')} shards did not answer"
            return f"{problem}: {detail}" if detail else problem
    return None


def hits(response: dict) -> list[Hit]:
    """The hits of one search response (an ``_msearch`` item with ``error`` raises :class:`ClusterError`)."""
    if "error" in response:
        error = response["error"]
        reason = error.get("reason") if isinstance(error, dict) else error
        raise ClusterError(f"search failed: {reason}")
    return [hit_from_response(h) for h in response["hits"]["hits"]]


def with_parts(found: list[Hit], bm25: bool, dense: bool) -> list[Hit]:
    """Label each hit's score as the BM25 or dense part."""
    for hit in found:
        hit.scores = {"bm25": hit.score if bm25 else None, "dense": hit.score if dense else None, "fused": None}
    return found


RANKING_SOURCE = (schema.DOC_ID, schema.LANG, schema.METADATA)  # a hit without its document: grouping reads these


def shaped(body: dict, request: SearchRequest) -> dict:
    """``body`` as ``request`` fetches its hits: whole documents with highlights, or (``fetch=False``) only
    what ranking reads (id, language, metadata): no text to send, parse or highlight."""
    if request.fetch:
        return body
    return {**{k: v for k, v in body.items() if k != "highlight"}, "_source": {"includes": list(RANKING_SOURCE)}}


def bm25_body(request: SearchRequest, lang: str | None) -> dict:
    return shaped(queries.bm25_query(request.query, request.k, lang, request.filter_clauses(), highlight=True,
                                     offset=request.offset), request)


def knn_body(request: SearchRequest, vector: list[float]) -> dict:
    return shaped(queries.knn_query(vector, request.k, request.filter_clauses(), offset=request.offset), request)


@dataclass(frozen=True)
class HybridPlan:
    """A server-side hybrid search: the pipeline it runs through and the request body."""

    pipeline_name: str
    pipeline: dict
    body: dict


def hybrid_plan(request: SearchRequest, vector: list[float], lang: str | None) -> HybridPlan:
    """The ``hybrid`` query (BM25 + k-NN) and its normalisation or RRF pipeline."""
    filters = request.filter_clauses()
    depth = request.hybrid_depth
    subqueries = [queries.bm25_clause(request.query, lang), queries.knn_clause(vector, depth, filters)]
    weights = [1.0 - request.dense_weight, request.dense_weight]
    if request.fusion is Fusion.RRF:
        name, pipeline = queries.pipeline_name("rrf"), queries.rrf_pipeline()
    elif request.fusion is Fusion.ZSCORE:
        name, pipeline = queries.pipeline_name("zscore", weights), queries.normalization_pipeline(weights, "z_score")
    elif request.fusion is Fusion.WRRF:
        name, pipeline = queries.pipeline_name("wrrf", weights), queries.rrf_pipeline(weights=weights)
    else:
        name, pipeline = queries.pipeline_name("minmax", weights), queries.normalization_pipeline(weights)
    body = queries.hybrid_query(subqueries, request.k, filters, highlight=True, offset=request.offset, depth=depth)
    return HybridPlan(name, pipeline, shaped(body, request))


def fused_hits(found: list[Hit]) -> list[Hit]:
    for hit in found:
        hit.scores = {"bm25": None, "dense": None, "fused": hit.score}
    return found


def parts_bodies(found: list[Hit], request: SearchRequest, vector: list[float], lang: str | None) -> list[dict]:
    """BM25 and k-NN requests restricted to ``found``'s ids: the score parts of hybrid hits."""
    only = [queries.ids_filter([h.doc_id for h in found])]
    n = len(found)
    return [{**queries.bm25_query(request.query, n, lang, only), "_source": False},
            {**queries.knn_query(vector, n, only, k=n), "_source": False}]  # scores only


def attach_parts(found: list[Hit], responses: list[dict]) -> list[Hit]:
    for key, resp in zip(("bm25", "dense"), responses, strict=True):
        scores = {h.doc_id: h.score for h in hits(resp)}
        for hit in found:
            hit.scores[key] = scores.get(hit.doc_id)
    return found


def client_fusion_bodies(request: SearchRequest, vector: list[float], lang: str | None) -> list[dict]:
    """One BM25 and one k-NN request for client-side fusion (``_msearch``)."""
    n = request.hybrid_depth  # each leg's hits, as deep as the server-side hybrid query normalises
    filters = request.filter_clauses()
    return [shaped(queries.bm25_query(request.query, n, lang, filters, highlight=True), request),
            shaped(queries.knn_query(vector, n, filters), request)]


def leg_runs(responses: list[dict]) -> tuple[list[dict[str, float]], dict[str, Hit]]:
    """Each leg's run (``{doc_id: score}``) and every hit by id (first seen), from ``_msearch`` responses."""
    by_id: dict[str, Hit] = {}
    runs = []
    for resp in responses:
        leg = hits(resp)
        runs.append({h.doc_id: h.score for h in leg})
        for h in leg:
            by_id.setdefault(h.doc_id, h)
    return runs, by_id


def fused_page(request: SearchRequest, fused: dict[str, float], runs: list[dict[str, float]],
               by_id: dict[str, Hit]) -> list[Hit]:
    """The requested page of a client-side fusion; the last run is the dense leg, the others lexical."""
    out = []
    for doc_id, score in fusion.top_k(fused, request.window)[request.offset:]:
        hit = by_id[doc_id]
        bm25 = next((run[doc_id] for run in runs[:-1] if doc_id in run), None)
        hit.scores = {"bm25": bm25, "dense": runs[-1].get(doc_id), "fused": score}
        hit.score = score
        out.append(hit)
    return out


def fuse_on_client(request: SearchRequest, responses: list[dict]) -> list[Hit]:
    """Fuse the two legs' responses (:mod:`lacl_search.core.fusion`) and cut the requested page."""
    runs, by_id = leg_runs(responses)
    weights = [1.0 - request.dense_weight, request.dense_weight]
    if request.fusion is Fusion.RRF:
        fused = fusion.reciprocal_rank_fusion(runs)
    elif request.fusion is Fusion.WRRF:
        fused = fusion.reciprocal_rank_fusion(runs, weights=weights)
    elif request.fusion is Fusion.ZSCORE:
        fused = fusion.z_score_fusion(runs, weights)
    else:
        fused = fusion.min_max_fusion(runs, weights)
    return fused_page(request, fused, runs, by_id)


def needs_vector(request: SearchRequest) -> bool:
    return request.mode is not Mode.BM25


def msearch_lines(index: str, bodies: list[dict]) -> list[dict]:
    lines: list[dict] = []
    for body in bodies:
        lines += [{"index": index}, body]
    return lines


def index_info(index: str, mapping: dict, response: dict) -> dict:
    """Index name(s), document count, documents per language and the model in the mapping's ``_meta``."""
    concrete = sorted(mapping)
    meta = mapping[concrete[0]]["mappings"].get("_meta", {})
    total = response["hits"]["total"]
    docs = total["value"] if isinstance(total, dict) else total
    langs = {b["key"]: b["doc_count"] for b in response["aggregations"]["langs"]["buckets"]}
    return {"index": index, "indices": concrete, "docs": int(docs), "langs": langs, "model": meta.get("model"),
            "meta": meta}


def fusion_info(profile: FusionProfile | None) -> dict:
    """What ``auto`` hybrid search fuses with on an index: ``{"auto": "language" | "minmax", "learned": the
    profile has a learned ranker, "languages": query languages with weights of their own, "lexicon": name}``."""
    if profile is None:
        return {"auto": Fusion.MINMAX.value, "learned": False, "languages": [], "lexicon": None}
    langs = sorted(lang for lang in profile.languages if lang != FALLBACK)
    return {"auto": Fusion.LANGUAGE.value, "learned": profile.ranker is not None, "languages": langs,
            "lexicon": profile.lexicon}


LANGS_AGG = {"size": 0, "aggs": {"langs": {"terms": {"field": schema.LANG, "size": 100}}}}
