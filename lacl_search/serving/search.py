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
import time
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING

import numpy as np
from opensearchpy import OpenSearch

from lacl_search.core import induced
from lacl_search.core.fusion_profile import FusionProfile
from lacl_search.core.langid import detect_query_language
from lacl_search.core.lexicon import Lexicon
from lacl_search.core.request import SearchRequest
from lacl_search.core.types import Fusion, Hit, Mode
from lacl_search.errors import BadInput, ClusterError, ClusterUnavailable, ConfigError
from lacl_search.serving import cluster, language_plan, plan, postprocess, profiles
from lacl_search.serving.client import translate_errors

if TYPE_CHECKING:  # either backend (torch Encoder or OnnxEncoder); importing torch here would tax BM25
    from lacl_search.core.encoder import Encoder

log = logging.getLogger(__name__)
# A search answered by only some shards is sent again this many times (backoff doubling from 0.1 s).
PARTIAL_RETRIES = 3
PARTIAL_BACKOFF = 0.1

FUSION_SIDES = ("auto", "server", "client")
NEURAL_PLUGIN = cluster.NEURAL_PLUGIN


def check_fusion_side(fusion_side: str) -> str:
    if fusion_side not in FUSION_SIDES:
        raise BadInput(f"fusion_side must be one of {FUSION_SIDES}, got {fusion_side!r}")
    return fusion_side


def query_language(request: SearchRequest) -> str | None:
    """The query's language: the caller's hint, else detected (None when unsure)."""
    return request.query_lang or detect_query_language(request.query)


PROFILE_FUSIONS = (Fusion.LANGUAGE, Fusion.LEARNED, Fusion.AUTO)


def check_profile(fusion: Fusion, profile: FusionProfile | None, index: str) -> FusionProfile | None:
    """``profile`` for ``language`` / ``learned`` / ``auto`` fusion; ``language`` without one, or ``learned``
    without a ranker in it, is a one-line error."""
    if fusion in (Fusion.LANGUAGE, Fusion.LEARNED) and profile is None:
        raise ConfigError(f"index {index!r} has no fusion profile fitted for this encoder: "
                          "run `lacl-search fusion fit` and `lacl-search fusion apply`, or choose another --fusion")
    if fusion is Fusion.LEARNED and profile.ranker is None:
        raise ConfigError(f"the fusion profile of index {index!r} has no learned ranker: fit it with "
                          "`lacl-search fusion fit --ranker` and apply it, or choose another --fusion")
    return profile


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
        lexicon: translates queries for the other-language BM25 partition and, with a learned ranker that
            reads it, the translated dense leg (None: the one the index's fusion profile names, if any;
            :mod:`lacl_search.core.lexicon`).
        fusion_side: ``"server"`` (hybrid query + pipeline), ``"client"`` (``_msearch`` + Python fusion),
            or ``"auto"`` (server where the cluster's line and plugins can run the request's fusion; see
            :mod:`lacl_search.serving.cluster`). ``"server"`` raises :class:`ClusterError` where they cannot.
    """

    def __init__(self, client: OpenSearch, *, index: str, encoder: Encoder | None = None,
                 fusion_side: str = "auto", lexicon: Lexicon | None = None) -> None:
        self.client = client
        self._lexicon = lexicon
        self.encoder = encoder
        self.index = index
        self._fusion_side = check_fusion_side(fusion_side)
        self._pipelines: set[str] = set()
        self._client_fused: set[Fusion] = set()
        # the index's fusion profile and lexicon, looked up once, on the first search that needs them
        self._stored_parts: tuple[FusionProfile | None, Lexicon | None] | None = None
        self._induced: dict[str, induced.InducedLexicon] = {}  # by lexicon name, loaded on first use

    # ------------------------------------------------------------------------------- public API
    def search(self, query: str, **options: object) -> list[Hit]:
        """Search ``query`` (any language); ``options`` are the other fields of
        :class:`~lacl_search.core.request.SearchRequest` (``mode``, ``k``, ``offset``, ``langs``, ``filter``,
        ``fusion``, ``weight``, ``query_lang``, ``explain``, ``group_by``, ``prefer_langs``, ``prefer_boost``,
        ``depth``)."""
        return self.run(SearchRequest(query=query, **options))  # type: ignore[arg-type]

    def run(self, request: SearchRequest, *, vector: Sequence[float] | None = None) -> list[Hit]:
        """Execute ``request``; ``vector`` is its query embedding when already computed (batch searches)."""
        if plan.needs_vector(request) and vector is None:
            vector = self._encode([request.query])[0]
        vector = [float(x) for x in vector] if vector is not None else []
        with translate_errors(self.index):
            if request.reranks:
                return self._reranked(request, vector)
            return self._run(request, vector)

    def run_many(self, requests: Sequence[SearchRequest], *, batch_size: int = 64) -> Iterator[list[Hit]]:
        """Execute many requests, encoding their queries in batches (one hit list per request)."""
        for start in range(0, len(requests), batch_size):
            chunk = requests[start : start + batch_size]
            dense = [r for r in chunk if plan.needs_vector(r)]
            vectors = dict(zip(map(id, dense), self._encode([r.query for r in dense]), strict=True)) if dense else {}
            for request in chunk:
                yield self.run(request, vector=vectors.get(id(request)))

    def index_info(self) -> dict:
        """Index name(s), document count, documents per language, the model in the mapping, and what hybrid
        search fuses with by default for this searcher's encoder (``fusion``: :func:`plan.fusion_info`)."""
        with translate_errors(self.index):
            mapping = self.client.indices.get_mapping(index=self.index)
            info = plan.index_info(self.index, mapping, self.client.search(index=self.index, body=plan.LANGS_AGG))
            info["fusion"] = plan.fusion_info(self._stored(mapping)[0])
            return info

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

    def _reranked(self, request: SearchRequest, vector: list[float]) -> list[Hit]:
        """Grouping / preference over a candidate window, widened while groups leave the block short."""
        k: int | None = postprocess.candidates_request(request).k
        while k is not None:
            candidates = self._run(postprocess.candidates_request(request, k), vector)
            ranked = postprocess.rank(request, candidates)
            k = postprocess.wider_window(request, k, len(candidates), len(ranked))
        page = ranked[request.offset : request.window]
        if (body := postprocess.variants_body(request, page)) is not None:
            postprocess.attach_variants(page, request.group_by, self._search(body))
        return page

    def _run(self, request: SearchRequest, vector: list[float]) -> list[Hit]:
        lang = None if request.mode is Mode.DENSE else query_language(request)  # dense needs no language
        if request.mode is Mode.BM25:
            return self._bm25(request, lang)
        if request.mode is Mode.DENSE:
            return plan.with_parts(plan.hits(self._search(plan.knn_body(request, vector))), bm25=False, dense=True)
        profile = self._profile(request.fusion)
        if profile is not None:
            return self._language_hybrid(request, vector, lang, profile)
        if request.fusion is Fusion.AUTO:
            request = request.with_changes(fusion=Fusion.MINMAX)
        if not self._server_fusion(request.fusion):
            return plan.fuse_on_client(request, self._msearch(plan.client_fusion_bodies(request, vector, lang)))
        hybrid = plan.hybrid_plan(request, vector, lang)
        self.ensure_pipeline(hybrid.pipeline_name, hybrid.pipeline)
        found = plan.fused_hits(plan.hits(self._search(hybrid.body, search_pipeline=hybrid.pipeline_name)))
        if request.explain and found:
            plan.attach_parts(found, self._msearch(plan.parts_bodies(found, request, vector, lang)))
        return found

    def _bm25(self, request: SearchRequest, lang: str | None) -> list[Hit]:
        """Plain BM25 when the language is unknown; else the language partitions fused (language_plan)."""
        if lang is None:
            return plan.with_parts(plan.hits(self._search(plan.bm25_body(request, lang))), bm25=True, dense=False)
        translated = self._translations(request, lang)
        if not self._server_fusion(Fusion.MINMAX):
            responses = self._msearch(language_plan.lexical_bodies(request, lang, translated))
            return language_plan.fuse_lexical_on_client(request, responses)
        lexical = language_plan.lexical_plan(request, lang, translated)
        self.ensure_pipeline(lexical.pipeline_name, lexical.pipeline)
        found = plan.hits(self._search(lexical.body, search_pipeline=lexical.pipeline_name))
        return plan.with_parts(found, bm25=True, dense=False)

    def _profile(self, fusion: Fusion) -> FusionProfile | None:
        """The index's fusion profile for this encoder when ``fusion`` asks for it (``language``, ``learned``,
        ``auto``)."""
        if fusion not in PROFILE_FUSIONS:
            return None
        return check_profile(fusion, self._stored()[0], self.index)

    def _stored(self, mapping: dict | None = None) -> tuple[FusionProfile | None, Lexicon | None]:
        """``(the profile for this encoder, the lexicon the index's profile names)``, read once (from
        ``mapping`` when the caller holds the index's ``GET _mapping`` answer already)."""
        if self._stored_parts is None:
            fingerprint = self.encoder.fingerprint() if self.encoder is not None else None
            mapping = mapping if mapping is not None else self.client.indices.get_mapping(index=self.index)
            self._stored_parts = profiles.stored(mapping, fingerprint)
        return self._stored_parts

    def _translations(self, request: SearchRequest, lang: str | None) -> tuple[tuple[str, float], ...]:
        """The query's translations from the searcher's lexicon, else from the one the index's profile names."""
        if lang is None:
            return ()
        return language_plan.translations(request, lang, self._query_lexicon())

    def _query_lexicon(self) -> Lexicon | None:
        """The searcher's lexicon, else the one the index's profile names."""
        return self._lexicon or self._stored()[1]

    def _induced_lexicon(self, lexicon: Lexicon) -> induced.InducedLexicon:
        """The encoder's translations over ``lexicon``'s target words (vectors encoded once, then read)."""
        if lexicon.name not in self._induced:
            encoder = self.encoder
            if encoder is None:
                raise BadInput("dense and hybrid search need an encoder")
            self._induced[lexicon.name] = induced.load_induced(lexicon, fingerprint=encoder.fingerprint(),
                                                               encode=encoder.encode_queries)
        return self._induced[lexicon.name]

    def _language_hybrid(self, request: SearchRequest, vector: list[float], lang: str | None,
                         profile: FusionProfile) -> list[Hit]:
        translated = self._translations(request, lang)
        if request.fusion is Fusion.LEARNED and not self._server_fusion(Fusion.LEARNED):
            lexicon = self._query_lexicon()
            if words := language_plan.induced_words(profile, lang, lexicon, request.query):
                translated = self._induced_lexicon(lexicon).translate(words, np.asarray(self._encode(words)))
            text = language_plan.translated_query(profile, translated)
            names, bodies = language_plan.ranker_bodies(
                request, vector, lang, translated, translated_vector=self._encode([text])[0] if text else None,
                target=lexicon.target if lexicon is not None else None)
            fused, legs = language_plan.learned_scores(names, self._msearch(bodies), lang, profile,
                                                       covered=language_plan.covered(lang, lexicon),
                                                       induced=bool(words and translated))
            if not (ids := language_plan.page_ids(request, fused)):
                return []
            fetched = self._search(language_plan.fetch_body(request, ids, lang, translated))
            return language_plan.learned_page(ids, fused, legs, fetched)
        if not self._server_fusion(Fusion.MINMAX):
            responses = self._msearch(language_plan.client_bodies(request, vector, lang, profile, translated))
            return language_plan.fuse_on_client(request, responses, lang, profile)
        hybrid = language_plan.server_plan(request, vector, lang, profile, translated)
        self.ensure_pipeline(hybrid.pipeline_name, hybrid.pipeline)
        found = plan.fused_hits(plan.hits(self._search(hybrid.body, search_pipeline=hybrid.pipeline_name)))
        if request.explain and found:
            plan.attach_parts(found, self._msearch(plan.parts_bodies(found, request, vector, lang)))
        return found

    def _search(self, body: dict, **params: object) -> dict:
        return self._complete(lambda: [self.client.search(index=self.index, body=body, **params)])[0]

    def _msearch(self, bodies: list[dict]) -> list[dict]:
        return self._complete(lambda: self.client.msearch(body=plan.msearch_lines(self.index, bodies))["responses"])

    def _complete(self, send: Callable[[], list[dict]]) -> list[dict]:
        """``send()``'s responses once every shard answered: a partial answer (a shard copy failed, e.g. its
        node died mid-search) is retried, never returned with hits missing."""
        for attempt in range(PARTIAL_RETRIES + 1):
            responses = send()
            if (problem := plan.partial_failure(responses)) is None:
                return responses
            if attempt < PARTIAL_RETRIES:
                log.warning("partial answer from index %s (%s); retrying", self.index, problem)
                time.sleep(PARTIAL_BACKOFF * 2**attempt)
        raise ClusterUnavailable(f"index {self.index!r}: {problem} after {PARTIAL_RETRIES} retries")

    def _server_fusion(self, fusion: Fusion) -> bool:
        """Whether ``fusion`` runs server-side here (:mod:`lacl_search.serving.cluster`; version read once)."""
        side = cluster.fusion_side(self._fusion_side, fusion, cluster.capabilities(self.client))
        if side == "client" and self._fusion_side == "auto" and fusion not in self._client_fused:
            self._client_fused.add(fusion)
            log.info("hybrid %s search fuses on the client on this cluster", fusion.value)
        return side == "server"
