"""Searching an index: BM25, dense k-NN and hybrid, returning :class:`Hit` objects with score parts.

Hybrid search runs server-side through OpenSearch's ``hybrid`` query and a search pipeline that this
module creates and verifies itself (a ``hybrid`` query sent without its pipeline returns
un-normalised per-clause hits silently: neural-search issue #1011). Clusters without the
neural-search plugin get client-side fusion over one ``_msearch`` (:mod:`lacl_search.fusion`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from opensearchpy import NotFoundError, OpenSearch

from lacl_search import fusion, queries, schema
from lacl_search.encoder import Encoder
from lacl_search.langid import detect_language, normalize_lang

log = logging.getLogger(__name__)

MODES = ("bm25", "dense", "hybrid")
FUSIONS = ("minmax", "rrf")
MAX_QUERY_CHARS = 2000
CANDIDATES_FACTOR = 4  # client-side fusion fetches this many times k from each retriever


class IndexMissing(LookupError):
    """The index or alias does not exist."""


@dataclass
class Hit:
    """One search result.

    Attributes:
        doc_id: the document's id.
        score: the score the ranking used (BM25, cosine-derived k-NN score, or fused).
        lang: the document's language code, if known.
        title: the document's title, if any.
        text: the document's text.
        scores: score parts: ``bm25``, ``dense`` (raw, per retriever) and ``fused`` (None when absent).
        highlights: BM25 highlight fragments with ``<em>`` tags.
        metadata: the document's metadata.
    """

    doc_id: str
    score: float
    lang: str | None = None
    title: str | None = None
    text: str = ""
    scores: dict[str, float | None] = field(default_factory=dict)
    highlights: list[str] = field(default_factory=list)
    metadata: dict = field(default_factory=dict)


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


def _hits(response: dict) -> list[Hit]:
    if "error" in response:
        raise RuntimeError(f"search failed: {response['error']}")
    return [hit_from_response(h) for h in response["hits"]["hits"]]


class Searcher:
    """Runs searches against one index or alias.

    Args:
        client: an OpenSearch client (:func:`lacl_search.client.make_client`).
        encoder: encodes queries for dense and hybrid search (None: BM25 only).
        index: index name or alias.
        fusion_side: ``"server"`` (hybrid query + pipeline), ``"client"`` (``_msearch`` + Python fusion),
            or ``"auto"`` (server when the neural-search plugin is installed).
    """

    def __init__(self, client: OpenSearch, encoder: Encoder | None, index: str, fusion_side: str = "auto") -> None:
        if fusion_side not in ("auto", "server", "client"):
            raise ValueError(f"fusion_side must be auto, server or client, got {fusion_side!r}")
        self.client = client
        self.encoder = encoder
        self.index = index
        self._fusion_side = fusion_side
        self._pipelines: set[str] = set()

    # ------------------------------------------------------------------------------- public API
    def search(
        self,
        query: str,
        mode: str = "hybrid",
        k: int = 10,
        langs: Sequence[str] | None = None,
        weight: float = 0.5,
        fusion_method: str = "minmax",
        metadata: dict | None = None,
        explain: bool = True,
    ) -> list[Hit]:
        """Search ``query`` (any language) and return the top ``k`` hits.

        Args:
            query: query text; its language is detected to pick the language-specific BM25 fields.
            mode: ``bm25``, ``dense`` or ``hybrid``.
            k: number of hits.
            langs: only documents in these languages.
            weight: hybrid weight of the dense side (BM25 gets ``1 - weight``), for ``minmax`` fusion.
            fusion_method: ``minmax`` (min-max + weighted arithmetic mean) or ``rrf``.
            metadata: exact-match metadata filters.
            explain: attach the BM25 and dense score parts to hybrid hits (one extra request).
        """
        query = self._check_query(query, mode, k)
        filters = queries.filter_clauses([normalize_lang(x) for x in langs or []], metadata)
        if mode == "bm25":
            return self._bm25(query, k, filters)
        vector = self.encoder.encode_queries([query])[0].tolist()
        return self.search_vector(query, vector, mode, k, filters, weight, fusion_method, explain)

    def search_vector(self, query: str, vector: list[float], mode: str, k: int, filters: list[dict],
                      weight: float = 0.5, fusion_method: str = "minmax", explain: bool = True) -> list[Hit]:
        """Like :meth:`search` with an already-encoded query vector (batch evaluation encodes once)."""
        if mode == "dense":
            hits = _hits(self._search(queries.knn_query(vector, k, filters)))
            for hit in hits:
                hit.scores = {"bm25": None, "dense": hit.score, "fused": None}
            return hits
        if mode == "bm25":
            return self._bm25(query, k, filters)
        if fusion_method not in FUSIONS:
            raise ValueError(f"fusion must be one of {FUSIONS}, got {fusion_method!r}")
        if self._server_fusion():
            hits = self._hybrid_server(query, vector, k, filters, weight, fusion_method)
            if explain and hits:
                self._attach_parts(hits, query, vector)
            return hits
        return self._hybrid_client(query, vector, k, filters, weight, fusion_method)

    def index_info(self) -> dict:
        """Index name(s), document count, documents per language, and the model in the mapping."""
        try:
            mapping = self.client.indices.get_mapping(index=self.index)
        except NotFoundError:
            raise IndexMissing(f"index or alias {self.index!r} does not exist") from None
        concrete = sorted(mapping)
        meta = mapping[concrete[0]]["mappings"].get("_meta", {})
        body = {"size": 0, "aggs": {"langs": {"terms": {"field": schema.LANG, "size": 100}}}}
        resp = self.client.search(index=self.index, body=body)
        langs = {b["key"]: b["doc_count"] for b in resp["aggregations"]["langs"]["buckets"]}
        return {"index": self.index, "indices": concrete, "docs": int(self._total(resp)), "langs": langs,
                "model": meta.get("model"), "meta": meta}

    # ------------------------------------------------------------------------------- internals
    def _check_query(self, query: str, mode: str, k: int) -> str:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        if not isinstance(query, str) or not query.strip():
            raise ValueError("query is empty")
        if len(query) > MAX_QUERY_CHARS:
            raise ValueError(f"query is {len(query)} characters long; the limit is {MAX_QUERY_CHARS}")
        if not 1 <= k <= 10_000:
            raise ValueError(f"k must be between 1 and 10000, got {k}")
        if mode != "bm25" and self.encoder is None:
            raise ValueError(f"mode {mode!r} needs an encoder")
        return query.strip()

    @staticmethod
    def _total(resp: dict) -> int:
        total = resp["hits"]["total"]
        return total["value"] if isinstance(total, dict) else total

    def _search(self, body: dict, **params: object) -> dict:
        try:
            return self.client.search(index=self.index, body=body, **params)
        except NotFoundError:
            raise IndexMissing(f"index or alias {self.index!r} does not exist") from None

    def _bm25(self, query: str, k: int, filters: list[dict]) -> list[Hit]:
        body = queries.bm25_query(query, k, detect_language(query), filters, highlight=True)
        hits = _hits(self._search(body))
        for hit in hits:
            hit.scores = {"bm25": hit.score, "dense": None, "fused": None}
        return hits

    def _server_fusion(self) -> bool:
        if self._fusion_side == "auto":
            plugins = {p["component"] for p in self.client.cat.plugins(format="json")}
            self._fusion_side = "server" if "opensearch-neural-search" in plugins else "client"
            if self._fusion_side == "client":
                log.warning("neural-search plugin not installed: hybrid search fuses on the client")
        return self._fusion_side == "server"

    def ensure_pipeline(self, name: str, body: dict) -> None:
        """Create search pipeline ``name`` and verify the cluster stored exactly its processors."""
        if name in self._pipelines:
            return
        self.client.transport.perform_request("PUT", f"/_search/pipeline/{name}", body=body)
        stored = self.client.transport.perform_request("GET", f"/_search/pipeline/{name}")
        got = stored.get(name, {}).get("phase_results_processors")
        if got != body["phase_results_processors"]:
            raise RuntimeError(f"search pipeline {name!r} was not stored as sent: {got}")
        self._pipelines.add(name)

    def _hybrid_server(self, query: str, vector: list[float], k: int, filters: list[dict],
                       weight: float, fusion_method: str) -> list[Hit]:
        lang = detect_language(query)
        candidates = max(k, queries.MIN_KNN_CANDIDATES)
        subqueries = [queries.bm25_clause(query, lang), queries.knn_clause(vector, candidates, filters)]
        if fusion_method == "rrf":
            name, pipeline = queries.pipeline_name("rrf"), queries.rrf_pipeline()
        else:
            weights = [1.0 - weight, weight]
            name, pipeline = queries.pipeline_name("minmax", weights), queries.normalization_pipeline(weights)
        self.ensure_pipeline(name, pipeline)
        body = queries.hybrid_query(subqueries, k, filters, highlight=True)
        hits = _hits(self._search(body, search_pipeline=name))
        for hit in hits:
            hit.scores = {"bm25": None, "dense": None, "fused": hit.score}
        return hits

    def _attach_parts(self, hits: list[Hit], query: str, vector: list[float]) -> None:
        """Fill the BM25 and dense score parts of ``hits`` with one ``_msearch`` restricted to their ids."""
        only = [queries.ids_filter([h.doc_id for h in hits])]
        lang = detect_language(query)
        bm25 = queries.bm25_query(query, len(hits), lang, only)
        dense = queries.knn_query(vector, len(hits), only, k=len(hits))
        parts = self._msearch([bm25, dense])
        for key, resp in zip(("bm25", "dense"), parts, strict=True):
            scores = {h.doc_id: h.score for h in _hits(resp)}
            for hit in hits:
                hit.scores[key] = scores.get(hit.doc_id)

    def _msearch(self, bodies: list[dict]) -> list[dict]:
        lines: list[dict] = []
        for body in bodies:
            lines += [{"index": self.index}, body]
        try:
            return self.client.msearch(body=lines)["responses"]
        except NotFoundError:
            raise IndexMissing(f"index or alias {self.index!r} does not exist") from None

    def _hybrid_client(self, query: str, vector: list[float], k: int, filters: list[dict],
                       weight: float, fusion_method: str) -> list[Hit]:
        n = k * CANDIDATES_FACTOR
        bm25_resp, dense_resp = self._msearch([
            queries.bm25_query(query, n, detect_language(query), filters, highlight=True),
            queries.knn_query(vector, n, filters),
        ])
        by_id: dict[str, Hit] = {}
        runs = []
        for resp in (bm25_resp, dense_resp):
            hits = _hits(resp)
            runs.append({h.doc_id: h.score for h in hits})
            for h in hits:
                by_id.setdefault(h.doc_id, h)
        if fusion_method == "rrf":
            fused = fusion.reciprocal_rank_fusion(runs)
        else:
            fused = fusion.min_max_fusion(runs, [1.0 - weight, weight])
        out = []
        for doc_id, score in fusion.top_k(fused, k):
            hit = by_id[doc_id]
            hit.scores = {"bm25": runs[0].get(doc_id), "dense": runs[1].get(doc_id), "fused": score}
            hit.score = score
            out.append(hit)
        return out
