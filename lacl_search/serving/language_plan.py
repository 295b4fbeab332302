"""Language-aware search: the requests and the fusion, shared by both searchers (pure functions).

With a detected query language, three legs: BM25 over documents in the query's language (its analyzer),
BM25 over all other documents (language-agnostic fields), and k-NN over all; without one, two legs
(BM25 over all documents, k-NN). Each leg is min-max normalised on its own and combined with the weights
of the index's fusion profile for that language (:class:`~lacl_search.core.fusion_profile.FusionProfile`).
Server-side this is one ``hybrid`` query with 3 (or 2) sub-queries and a normalisation pipeline; on the
client, the same legs in one ``_msearch`` and the same arithmetic (:func:`lacl_search.core.fusion.min_max_fusion`).

With a :class:`~lacl_search.core.lexicon.Lexicon` (the profile's), the other-language partition also
searches the query's translations into English (:func:`translations`), in the same sub-query.

``learned`` fusion uses the profile's ranker (:mod:`lacl_search.core.fusion_ranker`) on the client: it reads
every leg's hits, which a ``hybrid`` query does not return. All legs are requested, whatever their weights,
ids and scores only (:func:`ranker_bodies`), with one more when the ranker reads it and the query was
translated: k-NN of the encoded translations over the target language's documents; the ranker scores the
candidates (:func:`learned_scores`), and only the page's documents are fetched (:func:`fetch_body`,
:func:`learned_page`). A ranker fitted with induced translations (:mod:`lacl_search.core.induced`) has the
query of a language the lexicon lacks translated by the encoder instead (:func:`induces`).
"""

from __future__ import annotations

from collections.abc import Sequence

from lacl_search.core import fusion, fusion_ranker, induced, queries
from lacl_search.core.fusion_profile import FusionProfile
from lacl_search.core.lexicon import Lexicon
from lacl_search.core.request import SearchRequest
from lacl_search.core.types import Hit
from lacl_search.serving.plan import HybridPlan, fused_page, hits, leg_runs, shaped

Translations = Sequence[tuple[str, float]]


def translations(request: SearchRequest, lang: str | None, lexicon: Lexicon | None) -> tuple[tuple[str, float], ...]:
    """The query's weighted translations for the other-language partition (empty: no lexicon, no language,
    or a language the lexicon has no table for)."""
    if lexicon is None or lang is None:
        return ()
    return lexicon.translate(request.query, lang)


def covered(lang: str | None, lexicon: Lexicon | None) -> bool:
    """Whether a query of ``lang`` is translated (the lexicon has a table for it): a ranker feature."""
    return lexicon is not None and lang is not None and lang in lexicon.tables


def induces(profile: FusionProfile, lang: str | None, lexicon: Lexicon | None) -> bool:
    """Whether learned fusion translates this query with the encoder: the profile's ranker was fitted with
    induced translations, and the lexicon has no table for the (known, non-target) language."""
    return (profile.ranker is not None and profile.ranker.induces and lexicon is not None and lang is not None
            and lang != lexicon.target and lang not in lexicon.tables)


def induced_words(profile: FusionProfile, lang: str | None, lexicon: Lexicon | None, query: str) -> list[str]:
    """The query's words learned fusion translates with the encoder (:func:`induces`; else none)."""
    return induced.source_words(query) if induces(profile, lang, lexicon) else []


def lexical_clauses(request: SearchRequest, lang: str | None, translated: Translations = ()) -> list[dict]:
    """The BM25 sub-queries: the query language's partition and the rest (with the query's ``translated``
    terms), or one over all documents."""
    if lang is None:
        return [queries.bm25_clause(request.query, None)]
    return [queries.bm25_partition_clause(request.query, lang, same=True),
            queries.bm25_partition_clause(request.query, lang, same=False, translations=translated)]


def weighted_lexical(request: SearchRequest, lang: str | None, profile: FusionProfile,
                     translated: Translations = ()) -> tuple[list[dict], list[float]]:
    """The lexical clauses the profile gives a weight to, and the weights of the legs sent (lexical, then dense).

    A leg weighted 0 adds nothing to any document's fused score, so it is neither requested nor normalised
    (a trained encoder's profile often gives one BM25 partition nothing). A ``hybrid`` query needs two
    sub-queries, so when no lexical leg has weight the last one stays, weighted 0.
    """
    kept, weights = _sent_legs(profile.weights_for(lang))
    clauses = lexical_clauses(request, lang, translated)
    return [clauses[i] for i in kept], weights


def _sent_legs(weights: tuple[float, ...]) -> tuple[list[int], list[float]]:
    """Which lexical legs are sent (their indices) and the weights of the legs sent, dense last."""
    lexical = weights[:-1]
    kept = [i for i, w in enumerate(lexical) if w > 0] or [len(lexical) - 1]
    return kept, [lexical[i] for i in kept] + [weights[-1]]


def server_plan(request: SearchRequest, vector: list[float], lang: str | None, profile: FusionProfile,
                translated: Translations = ()) -> HybridPlan:
    """The ``hybrid`` query and its min-max pipeline with the profile's weights for ``lang``."""
    lexical, weights = weighted_lexical(request, lang, profile, translated)
    filters = request.filter_clauses()
    depth = request.hybrid_depth
    subqueries = [*lexical, queries.knn_clause(vector, depth, filters)]
    name = queries.pipeline_name("minmax", weights)
    body = queries.hybrid_query(subqueries, request.k, filters, highlight=True, offset=request.offset, depth=depth)
    return HybridPlan(name, queries.normalization_pipeline(weights), shaped(body, request))


def client_bodies(request: SearchRequest, vector: list[float], lang: str | None,
                  profile: FusionProfile, translated: Translations = ()) -> list[dict]:
    """The weighted legs as separate requests (one ``_msearch``): lexical clause(s), then k-NN."""
    n = request.hybrid_depth  # as deep as the server-side hybrid query normalises
    filters = request.filter_clauses()
    lexical, _ = weighted_lexical(request, lang, profile, translated)
    bm25 = [queries.clause_query(c, n, filters, highlight=True) for c in lexical]
    return [shaped(body, request) for body in (*bm25, queries.knn_query(vector, n, filters))]


def fuse_on_client(request: SearchRequest, responses: list[dict], lang: str | None,
                   profile: FusionProfile) -> list[Hit]:
    """Min-max per leg, the profile's weighted mean, and the requested page; ``scores`` keeps each part."""
    legs, by_id = leg_runs(responses)
    _, weights = _sent_legs(profile.weights_for(lang))
    return fused_page(request, fusion.min_max_fusion(legs, weights), legs, by_id)


def translation_text(translated: Translations) -> str:
    """The query's translations as one text, heaviest first: what the translated dense leg encodes."""
    return " ".join(term for term, _ in translated)


def translated_query(profile: FusionProfile, translated: Translations) -> str | None:
    """The text the translated dense leg encodes, when the profile's ranker reads that leg and the query was
    translated (else None: the leg is not sent)."""
    if profile.ranker is None or not profile.ranker.uses_translated_dense or not translated:
        return None
    return translation_text(translated)


def ranker_bodies(request: SearchRequest, vector: list[float], lang: str | None, translated: Translations = (),
                  *, translated_vector: list[float] | None = None,
                  target: str | None = None) -> tuple[list[str], list[dict]]:
    """Every leg (weighted or not: the ranker reads them all) as one ``_msearch``, ids and scores only, and the
    legs' names: fetching and highlighting every leg's hits would cost more server time than the whole
    ``hybrid`` query, so only the page's documents are fetched (:func:`fetch_body`).

    With ``translated_vector`` (the encoded :func:`translation_text`) also the translated dense leg: k-NN over
    the documents in the lexicon's ``target`` language."""
    n = request.hybrid_depth  # the depth the ranker was fitted at
    filters = request.filter_clauses()
    names = ["bm25_same", "bm25_other"] if lang is not None else ["bm25_base"]
    bodies = [queries.clause_query(c, n, filters) for c in lexical_clauses(request, lang, translated)]
    names.append("dense")
    bodies.append(queries.knn_query(vector, n, filters))
    if translated_vector is not None and lang is not None:
        if target is None:
            raise ValueError("the translated dense leg needs the lexicon's target language")
        names.append(fusion_ranker.TRANSLATED_DENSE)
        bodies.append(translated_knn_query(translated_vector, n, target, filters))
    return names, [{**body, "_source": False} for body in bodies]


def translated_knn_query(vector: Sequence[float], size: int, target: str, filters: Sequence[dict] = ()) -> dict:
    """The translated dense leg's request: k-NN of the encoded translations over the documents in the
    lexicon's ``target`` language (and ``filters``)."""
    return queries.knn_query(vector, size, [*filters, *queries.filter_clauses([target])])


def learned_scores(names: Sequence[str], responses: list[dict], lang: str | None, profile: FusionProfile, *,
                   covered: bool, induced: bool = False) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """The ranker's score of every candidate of :func:`ranker_bodies`' answers (``names``: its legs;
    ``covered``: the query was translated by the lexicon; ``induced``: by the encoder), and the legs' runs by
    name."""
    if profile.ranker is None:
        raise ValueError("the profile has no ranker")
    runs, _ = leg_runs(responses)
    legs = dict(zip(names, runs, strict=True))
    fused = profile.ranker.fuse(legs, lang, covered=covered, weights=profile.weights_for(lang), induced=induced)
    return fused, legs


def page_ids(request: SearchRequest, fused: dict[str, float]) -> list[str]:
    """The ids of the requested page of a fused run."""
    return [doc_id for doc_id, _ in fusion.top_k(fused, request.window)[request.offset:]]


def fetch_body(request: SearchRequest, ids: Sequence[str], lang: str | None, translated: Translations = ()) -> dict:
    """The page's documents by id, highlighted for the query's words (and translations) as the lexical legs
    match them."""
    body = queries.clause_query(queries.ids_filter(ids), len(ids), highlight=True)
    body["highlight"]["highlight_query"] = {"bool": {"should": lexical_clauses(request, lang, translated)}}
    return shaped(body, request)


def learned_page(ids: Sequence[str], fused: dict[str, float], legs: dict[str, dict[str, float]],
                 response: dict) -> list[Hit]:
    """The page (``ids``, :func:`page_ids`) in the ranker's order from the fetched documents (one deleted in
    between is left out); ``scores`` keeps each part (``bm25``: the first lexical leg that found it;
    ``dense``: the query's own k-NN)."""
    fetched = {h.doc_id: h for h in hits(response)}
    lexical = [run for name, run in legs.items() if name.startswith("bm25_")]
    out = []
    for doc_id in ids:
        if (hit := fetched.get(doc_id)) is None:
            continue
        hit.score = fused[doc_id]
        hit.scores = {"bm25": next((run[doc_id] for run in lexical if doc_id in run), None),
                      "dense": legs.get("dense", {}).get(doc_id), "fused": fused[doc_id]}
        out.append(hit)
    return out


LEXICAL_WEIGHTS = (0.5, 0.5)  # the two lexical partitions, equally (measured: >= plain BM25 on every dev set)


def lexical_plan(request: SearchRequest, lang: str, translated: Translations = ()) -> HybridPlan:
    """BM25 mode for a query of known language: the two partitions, each min-max normalised, equally weighted.

    Plain ``most_fields`` over all documents adds the language analyzer's score only to documents in the
    query's language, so on a mixed-language index they crowd out relevant translations; normalising each
    partition on its own removes that bias while keeping the analyzer's gain within the language.
    """
    filters = request.filter_clauses()
    depth = request.hybrid_depth
    body = queries.hybrid_query(lexical_clauses(request, lang, translated), request.k, filters, highlight=True,
                                offset=request.offset, depth=depth)
    weights = list(LEXICAL_WEIGHTS)
    return HybridPlan(queries.pipeline_name("minmax", weights), queries.normalization_pipeline(weights),
                      shaped(body, request))


def lexical_bodies(request: SearchRequest, lang: str, translated: Translations = ()) -> list[dict]:
    """The two lexical partitions as separate requests (client-side fusion)."""
    n = request.hybrid_depth  # as deep as the server-side hybrid query normalises
    filters = request.filter_clauses()
    return [shaped(queries.clause_query(c, n, filters, highlight=True), request)
            for c in lexical_clauses(request, lang, translated)]


def fuse_lexical_on_client(request: SearchRequest, responses: list[dict]) -> list[Hit]:
    """Min-max per partition, equal weights, the requested page; ``scores['bm25']`` is the fused score."""
    legs, by_id = leg_runs(responses)
    fused = fusion.min_max_fusion(legs, list(LEXICAL_WEIGHTS))
    out = []
    for doc_id, score in fusion.top_k(fused, request.window)[request.offset:]:
        hit = by_id[doc_id]
        hit.score = score
        hit.scores = {"bm25": score, "dense": None, "fused": None}
        out.append(hit)
    return out
