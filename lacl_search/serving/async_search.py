"""The asyncio twin of :class:`~lacl_search.serving.search.Searcher`, on ``opensearchpy.AsyncOpenSearch``.

Same requests, same pipelines, same fusion and the same hits: every body comes from
:mod:`lacl_search.serving.plan`. Query encoding (CPU-bound) runs in a worker thread so the event loop
stays free. Needs ``opensearch-py[async]`` (aiohttp).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from lacl_search.core import induced
from lacl_search.core.fusion_profile import FusionProfile
from lacl_search.core.lexicon import Lexicon
from lacl_search.core.request import SearchRequest
from lacl_search.core.settings import ClusterSettings
from lacl_search.core.types import Fusion, Hit, Mode
from lacl_search.errors import BadInput, ClusterUnavailable
from lacl_search.serving import cluster, language_plan, plan, postprocess, profiles
from lacl_search.serving.client import translate_errors, warn_insecure
from lacl_search.serving.search import (
    PARTIAL_BACKOFF,
    PARTIAL_RETRIES,
    PROFILE_FUSIONS,
    check_fusion_side,
    check_pipeline,
    check_profile,
    query_language,
)

if TYPE_CHECKING:  # either backend (torch Encoder or OnnxEncoder); importing torch here would tax start-up
    from lacl_search.core.encoder import Encoder

log = logging.getLogger(__name__)


def make_async_client(settings: ClusterSettings | None = None):  # -> opensearchpy.AsyncOpenSearch
    """An ``AsyncOpenSearch`` client for ``settings`` (default: from the environment)."""
    from opensearchpy import AsyncOpenSearch

    settings = settings or ClusterSettings.from_env()
    kwargs: dict[str, object] = {"hosts": settings.hosts, "timeout": settings.timeout,
                                 "max_retries": max(3, len(settings.hosts)), "retry_on_timeout": True}
    if settings.user is not None:
        kwargs["http_auth"] = (settings.user, settings.password or "")
    if settings.use_ssl:
        kwargs.update(use_ssl=True, verify_certs=settings.verify_certs, ssl_show_warn=False)
        if settings.ca_certs:
            kwargs["ca_certs"] = settings.ca_certs
        if not settings.verify_certs:
            warn_insecure(settings.safe_url())
    return AsyncOpenSearch(**kwargs)


class AsyncSearcher:
    """Runs searches against one index or alias from asyncio code.

    Args:
        client: an ``opensearchpy.AsyncOpenSearch`` (:func:`make_async_client`).
        index: index name or alias.
        encoder: encodes queries for dense and hybrid search (None: BM25 only).
        lexicon: translates queries for the other-language BM25 partition and, with a learned ranker that
            reads it, the translated dense leg (None: the one the index's fusion profile names, if any;
            :mod:`lacl_search.core.lexicon`).
        fusion_side: ``"server"``, ``"client"`` or ``"auto"``, as for the blocking searcher.
    """

    def __init__(self, client: object, *, index: str, encoder: Encoder | None = None,
                 fusion_side: str = "auto", lexicon: Lexicon | None = None) -> None:
        self.client = client
        self._lexicon = lexicon
        self.encoder = encoder
        self.index = index
        self._fusion_side = check_fusion_side(fusion_side)
        self._pipelines: set[str] = set()
        self._stored_parts: tuple[FusionProfile | None, Lexicon | None] | None = None
        self._induced: dict[str, induced.InducedLexicon] = {}  # by lexicon name, loaded on first use

    async def search(self, query: str, **options: object) -> list[Hit]:
        """Search ``query``; ``options`` are the other fields of :class:`SearchRequest` (see ``Searcher.search``)."""
        return await self.run(SearchRequest(query=query, **options))  # type: ignore[arg-type]

    async def run(self, request: SearchRequest, *, vector: Sequence[float] | None = None) -> list[Hit]:
        """Execute ``request``; ``vector`` is its query embedding when already computed."""
        if plan.needs_vector(request) and vector is None:
            vector = (await self._encode([request.query]))[0]
        vector = [float(x) for x in vector] if vector is not None else []
        with translate_errors(self.index):
            if request.reranks:
                return await self._reranked(request, vector)
            return await self._run(request, vector)

    async def close(self) -> None:
        await self.client.close()

    async def _encode(self, texts: list[str]) -> list[list[float]]:
        """Query vectors, encoded off the event loop."""
        if self.encoder is None:
            raise BadInput("dense and hybrid search need an encoder")
        return (await asyncio.to_thread(self.encoder.encode_queries, texts)).tolist()

    async def _reranked(self, request: SearchRequest, vector: list[float]) -> list[Hit]:
        """Grouping / preference over a candidate window, widened while groups leave the block short."""
        k: int | None = postprocess.candidates_request(request).k
        while k is not None:
            candidates = await self._run(postprocess.candidates_request(request, k), vector)
            ranked = postprocess.rank(request, candidates)
            k = postprocess.wider_window(request, k, len(candidates), len(ranked))
        page = ranked[request.offset : request.window]
        if (body := postprocess.variants_body(request, page)) is not None:
            postprocess.attach_variants(page, request.group_by, await self._search(body))
        return page

    async def _run(self, request: SearchRequest, vector: list[float]) -> list[Hit]:
        lang = None if request.mode is Mode.DENSE else query_language(request)  # dense needs no language
        if request.mode is Mode.BM25:
            return await self._bm25(request, lang)
        if request.mode is Mode.DENSE:
            return plan.with_parts(plan.hits(await self._search(plan.knn_body(request, vector))), bm25=False,
                                   dense=True)
        profile = await self._profile(request.fusion)
        if profile is not None:
            return await self._language_hybrid(request, vector, lang, profile)
        if request.fusion is Fusion.AUTO:
            request = request.with_changes(fusion=Fusion.MINMAX)
        if not await self._server_fusion(request.fusion):
            return plan.fuse_on_client(request, await self._msearch(plan.client_fusion_bodies(request, vector, lang)))
        hybrid = plan.hybrid_plan(request, vector, lang)
        await self._ensure_pipeline(hybrid.pipeline_name, hybrid.pipeline)
        found = plan.fused_hits(plan.hits(await self._search(hybrid.body, search_pipeline=hybrid.pipeline_name)))
        if request.explain and found:
            plan.attach_parts(found, await self._msearch(plan.parts_bodies(found, request, vector, lang)))
        return found

    async def _bm25(self, request: SearchRequest, lang: str | None) -> list[Hit]:
        if lang is None:
            found = plan.hits(await self._search(plan.bm25_body(request, lang)))
            return plan.with_parts(found, bm25=True, dense=False)
        translated = await self._translations(request, lang)
        if not await self._server_fusion(Fusion.MINMAX):
            responses = await self._msearch(language_plan.lexical_bodies(request, lang, translated))
            return language_plan.fuse_lexical_on_client(request, responses)
        lexical = language_plan.lexical_plan(request, lang, translated)
        await self._ensure_pipeline(lexical.pipeline_name, lexical.pipeline)
        found = plan.hits(await self._search(lexical.body, search_pipeline=lexical.pipeline_name))
        return plan.with_parts(found, bm25=True, dense=False)

    async def _profile(self, fusion: Fusion) -> FusionProfile | None:
        if fusion not in PROFILE_FUSIONS:
            return None
        return check_profile(fusion, (await self._stored())[0], self.index)

    async def _stored(self) -> tuple[FusionProfile | None, Lexicon | None]:
        """``(the profile for this encoder, the lexicon the index's profile names)``, read once."""
        if self._stored_parts is None:
            fingerprint = self.encoder.fingerprint() if self.encoder is not None else None
            mapping = await self.client.indices.get_mapping(index=self.index)
            # reading the lexicon file takes a moment: off the event loop, like encoding
            self._stored_parts = await asyncio.to_thread(profiles.stored, mapping, fingerprint)
        return self._stored_parts

    async def _translations(self, request: SearchRequest, lang: str | None) -> tuple[tuple[str, float], ...]:
        """The query's translations from the searcher's lexicon, else from the one the index's profile names."""
        if lang is None:
            return ()
        return language_plan.translations(request, lang, await self._query_lexicon())

    async def _query_lexicon(self) -> Lexicon | None:
        """The searcher's lexicon, else the one the index's profile names."""
        return self._lexicon or (await self._stored())[1]

    async def _induced_lexicon(self, lexicon: Lexicon) -> induced.InducedLexicon:
        """The encoder's translations over ``lexicon``'s target words, loaded (or encoded once) off the loop."""
        if lexicon.name not in self._induced:
            encoder = self.encoder
            if encoder is None:
                raise BadInput("dense and hybrid search need an encoder")
            self._induced[lexicon.name] = await asyncio.to_thread(
                induced.load_induced, lexicon, fingerprint=encoder.fingerprint(), encode=encoder.encode_queries)
        return self._induced[lexicon.name]

    async def _language_hybrid(self, request: SearchRequest, vector: list[float], lang: str | None,
                               profile: FusionProfile) -> list[Hit]:
        translated = await self._translations(request, lang)
        if request.fusion is Fusion.LEARNED and not await self._server_fusion(Fusion.LEARNED):
            lexicon = await self._query_lexicon()
            if words := language_plan.induced_words(profile, lang, lexicon, request.query):
                table = await self._induced_lexicon(lexicon)
                translated = table.translate(words, np.asarray(await self._encode(words)))
            text = language_plan.translated_query(profile, translated)
            translated_vector = (await self._encode([text]))[0] if text else None
            names, bodies = language_plan.ranker_bodies(request, vector, lang, translated,
                                                        translated_vector=translated_vector,
                                                        target=lexicon.target if lexicon is not None else None)
            fused, legs = language_plan.learned_scores(names, await self._msearch(bodies), lang, profile,
                                                       covered=language_plan.covered(lang, lexicon),
                                                       induced=bool(words and translated))
            if not (ids := language_plan.page_ids(request, fused)):
                return []
            fetched = await self._search(language_plan.fetch_body(request, ids, lang, translated))
            return language_plan.learned_page(ids, fused, legs, fetched)
        if not await self._server_fusion(Fusion.MINMAX):
            responses = await self._msearch(language_plan.client_bodies(request, vector, lang, profile, translated))
            return language_plan.fuse_on_client(request, responses, lang, profile)
        hybrid = language_plan.server_plan(request, vector, lang, profile, translated)
        await self._ensure_pipeline(hybrid.pipeline_name, hybrid.pipeline)
        found = plan.fused_hits(plan.hits(await self._search(hybrid.body, search_pipeline=hybrid.pipeline_name)))
        if request.explain and found:
            plan.attach_parts(found, await self._msearch(plan.parts_bodies(found, request, vector, lang)))
        return found

    async def _search(self, body: dict, **params: object) -> dict:
        async def send() -> list[dict]:
            return [await self.client.search(index=self.index, body=body, **params)]

        return (await self._complete(send))[0]

    async def _msearch(self, bodies: list[dict]) -> list[dict]:
        async def send() -> list[dict]:
            return (await self.client.msearch(body=plan.msearch_lines(self.index, bodies)))["responses"]

        return await self._complete(send)

    async def _complete(self, send) -> list[dict]:
        """As :meth:`lacl_search.serving.search.Searcher._complete`: partial answers are retried."""
        for attempt in range(PARTIAL_RETRIES + 1):
            responses = await send()
            if (problem := plan.partial_failure(responses)) is None:
                return responses
            if attempt < PARTIAL_RETRIES:
                log.warning("partial answer from index %s (%s); retrying", self.index, problem)
                await asyncio.sleep(PARTIAL_BACKOFF * 2**attempt)
        raise ClusterUnavailable(f"index {self.index!r}: {problem} after {PARTIAL_RETRIES} retries")

    async def _ensure_pipeline(self, name: str, body: dict) -> None:
        if name in self._pipelines:
            return
        await self.client.transport.perform_request("PUT", f"/_search/pipeline/{name}", body=body)
        check_pipeline(name, body, await self.client.transport.perform_request("GET", f"/_search/pipeline/{name}"))
        self._pipelines.add(name)

    async def _server_fusion(self, fusion: Fusion) -> bool:
        caps = await cluster.async_capabilities(self.client)
        return cluster.fusion_side(self._fusion_side, fusion, caps) == "server"
