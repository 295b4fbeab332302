"""Searching an index: BM25, dense k-NN and hybrid, returning :class:`Hit` objects with score parts.

Hybrid search runs server-side through OpenSearch's ``hybrid`` query and a search pipeline that this
module creates and verifies itself (a ``hybrid`` query sent without its pipeline returns
un-normalised per-clause hits silently: neural-search issue #1011). Clusters without the
neural-search plugin get client-side fusion over one ``_msearch`` (:mod:`lacl_search.core.fusion`).
Request bodies come from :mod:`lacl_search.serving.plan`, shared with the asyncio twin
:class:`~lacl_search.serving.async_search.AsyncSearcher`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence

from opensearchpy import OpenSearch

from lacl_search.core.encoder import Encoder
from lacl_search.core.filters import Filter
from lacl_search.core.langid import detect_language
from lacl_search.core.request import SearchRequest
from lacl_search.core.types import Fusion, Hit, Mode
from lacl_search.errors import BadInput, ClusterError
from lacl_search.serving import plan
from lacl_search.serving.client import translate_errors

log = logging.getLogger(__name__)

FUSION_SIDES = ("auto", "server", "client")
NEURAL_PLUGIN = "opensearch-neural-search"


def check_fusion_side(fusion_side: str) -> str:
    if fusion_side not in FUSION_SIDES:
        raise BadInput(f"fusion_side must be one of {FUSION_SIDES}, got {fusion_side!r}")
    return fusion_side


def query_language(request: SearchRequest) -> str | None:
    """The query's language: the caller's hint, else detected (None when unsure)."""
    return request.query_lang or detect_language(request.query)


def check_pipeline(name: str, body: dict, stored: dict) -> None:
    """Raise :class:`ClusterError` unless the cluster stored pipeline ``name`` exactly as sent."""
    got = stored.get(name, {}).get("phase_results_processors")
    if got != body["phase_results_processors"]:
        raise ClusterError(f"search pipeline {name!r} was not stored as sent: {got}")


class Searcher:
    """Runs searches against one index or alias.

    Args:
        client: an OpenSearch client (:func:`lacl_search.serving.client.make_client`).
        index: index name or alias.
        encoder: encodes queries for dense and hybrid search (None: BM25 only).
        fusion_side: ``"server"`` (hybrid query + pipeline), ``"client"`` (``_msearch`` + Python fusion),
            or ``"auto"`` (server when the neural-search plugin is installed).
    """

    def __init__(self, client: OpenSearch, *, index: str, encoder: Encoder | None = None,
                 fusion_side: str = "auto") -> None:
        self.client = client
        self.encoder = encoder
        self.index = index
        self._fusion_side = check_fusion_side(fusion_side)
        self._pipelines: set[str] = set()

    # ------------------------------------------------------------------------------- public API
    def search(self, query: str, *, mode: Mode | str = Mode.HYBRID, k: int = 10, offset: int = 0,
               langs: Sequence[str] | None = (), filter: Filter | None = None, fusion: Fusion | str = Fusion.MINMAX,
               weight: float = 0.5, query_lang: str | None = None, explain: bool = True) -> list[Hit]:
        """Search ``query`` (any language) and return hits ``offset`` to ``offset + k``.

        The arguments are those of :class:`~lacl_search.core.request.SearchRequest`.
        """
        request = SearchRequest(query=query, mode=mode, k=k, offset=offset, langs=tuple(langs or ()), filter=filter,
                                fusion=fusion, weight=weight, query_lang=query_lang, explain=explain)
        return self.run(request)

    def run(self, request: SearchRequest, *, vector: Sequence[float] | None = None) -> list[Hit]:
        """Execute ``request``; ``vector`` is its query embedding when already computed (batch searches)."""
        if plan.needs_vector(request) and vector is None:
            vector = self._encode([request.query])[0]
        with translate_errors(self.index):
            return self._run(request, [float(x) for x in vector] if vector is not None else [])

    def run_many(self, requests: Sequence[SearchRequest], *, batch_size: int = 64) -> Iterator[list[Hit]]:
        """Execute many requests, encoding their queries in batches (one hit list per request)."""
        for start in range(0, len(requests), batch_size):
            chunk = requests[start : start + batch_size]
            dense = [r for r in chunk if plan.needs_vector(r)]
            vectors = dict(zip(map(id, dense), self._encode([r.query for r in dense]), strict=True)) if dense else {}
            for request in chunk:
                yield self.run(request, vector=vectors.get(id(request)))

    def index_info(self) -> dict:
        """Index name(s), document count, documents per language, and the model in the mapping."""
        with translate_errors(self.index):
            mapping = self.client.indices.get_mapping(index=self.index)
            return plan.index_info(self.index, mapping, self.client.search(index=self.index, body=plan.LANGS_AGG))

    def ensure_pipeline(self, name: str, body: dict) -> None:
        """Create search pipeline ``name`` and verify the cluster stored exactly its processors."""
        if name in self._pipelines:
            return
        self.client.transport.perform_request("PUT", f"/_search/pipeline/{name}", body=body)
        check_pipeline(name, body, self.client.transport.perform_request("GET", f"/_search/pipeline/{name}"))
        self._pipelines.add(name)

    # ------------------------------------------------------------------------------- internals
    def _encode(self, texts: list[str]) -> list[list[float]]:
        if self.encoder is None:
            raise BadInput("dense and hybrid search need an encoder")
        return self.encoder.encode_queries(texts).tolist()

    def _run(self, request: SearchRequest, vector: list[float]) -> list[Hit]:
        lang = query_language(request)
        if request.mode is Mode.BM25:
            return plan.with_parts(plan.hits(self._search(plan.bm25_body(request, lang))), bm25=True, dense=False)
        if request.mode is Mode.DENSE:
            return plan.with_parts(plan.hits(self._search(plan.knn_body(request, vector))), bm25=False, dense=True)
        if not self._server_fusion():
            return plan.fuse_on_client(request, self._msearch(plan.client_fusion_bodies(request, vector, lang)))
        hybrid = plan.hybrid_plan(request, vector, lang)
        self.ensure_pipeline(hybrid.pipeline_name, hybrid.pipeline)
        found = plan.fused_hits(plan.hits(self._search(hybrid.body, search_pipeline=hybrid.pipeline_name)))
        if request.explain and found:
            plan.attach_parts(found, self._msearch(plan.parts_bodies(found, request, vector, lang)))
        return found

    def _search(self, body: dict, **params: object) -> dict:
        return self.client.search(index=self.index, body=body, **params)

    def _msearch(self, bodies: list[dict]) -> list[dict]:
        return self.client.msearch(body=plan.msearch_lines(self.index, bodies))["responses"]

    def _server_fusion(self) -> bool:
        if self._fusion_side == "auto":
            plugins = {p["component"] for p in self.client.cat.plugins(format="json")}
            self._fusion_side = "server" if NEURAL_PLUGIN in plugins else "client"
            if self._fusion_side == "client":
                log.warning("neural-search plugin not installed: hybrid search fuses on the client")
        return self._fusion_side == "server"
