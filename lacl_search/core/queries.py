"""Pure builders of OpenSearch request bodies: BM25, k-NN, hybrid, and the hybrid search pipelines.

Every function returns a fresh ``dict`` and has no side effects; executing them lives in
:mod:`lacl_search.serving.search`. The user's text only ever goes into ``multi_match`` as query text (never
``query_string``), so query syntax in it is not interpreted.

References: OpenSearch docs "Hybrid search", "Normalization processor", "Score ranker processor"
(neural-search plugin, 2.19), and "k-NN search with filters" (Lucene engine, efficient filtering).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from lacl_search.core import schema

MAX_HYBRID_SUBQUERIES = 5
# HNSW explores at least this many candidates per query (Lucene uses k as its search-time beam):
# with k = 4 the graph search missed neighbours scoring higher than the ones it returned.
MIN_KNN_CANDIDATES = 100
# A hybrid query keeps each sub-query's top ``pagination_depth`` hits per shard and normalises over them;
# the server's time grows with it (dev-mixed, 2 cores: depth 100 took ~2.8x depth 30) while the first
# page's nDCG@10 moves little (dev mean: -0.004 at 30 against 100; docs/fusion.md, "Hybrid depth"). Pages
# share one depth per block of this many hits, so consecutive pages of one query keep one ranking.
HYBRID_DEPTH = 30
TITLE_BOOST = 2.0
HIGHLIGHT_FIELDS = (schema.TEXT, schema.TITLE)
NORMALIZATION_TECHNIQUES = ("min_max", "l2", "z_score")  # z_score: OpenSearch >= 3.0
COMBINATION_TECHNIQUES = ("arithmetic_mean", "geometric_mean", "harmonic_mean")


def filter_clauses(langs: Sequence[str] | None = None, metadata: Mapping[str, object] | None = None) -> list[dict]:
    """Filter clauses: documents in any of ``langs`` and matching every ``metadata`` key exactly."""
    clauses: list[dict] = []
    if langs:
        clauses.append({"terms": {schema.LANG: list(langs)}})
    for key, value in (metadata or {}).items():
        field = f"{schema.METADATA}.{key}"
        if isinstance(value, (list, tuple)):
            clauses.append({"terms": {field: list(value)}})
        else:
            clauses.append({"term": {field: value}})
    return clauses


def bm25_fields(lang: str | None) -> list[str]:
    """Fields a BM25 query searches: the base fields plus the query language's own fields."""
    fields = [f"{schema.TITLE}^{TITLE_BOOST:g}", schema.TEXT]
    if lang in schema.LANGUAGE_ANALYZERS:
        fields += [f"{schema.i18n_field(schema.TITLE, lang)}^{TITLE_BOOST:g}", schema.i18n_field(schema.TEXT, lang)]
    return fields


def bm25_clause(query: str, lang: str | None = None) -> dict:
    """A ``multi_match`` (``most_fields``) over :func:`bm25_fields`; the text is never parsed as syntax."""
    if not query.strip():
        raise ValueError("query text is empty")
    return {"multi_match": {"query": query, "fields": bm25_fields(lang), "type": "most_fields"}}


def translation_clause(terms: Sequence[tuple[str, float]], target: str) -> list[dict]:
    """One ``multi_match`` per translated term over the base fields and ``target``'s analysed fields, boosted
    by the term's translation weight (a flattened probabilistic structured query, see
    :mod:`lacl_search.core.lexicon`)."""
    fields = bm25_fields(target)
    return [{"multi_match": {"query": term, "fields": fields, "type": "most_fields", "boost": float(weight)}}
            for term, weight in terms if weight > 0]


def bm25_partition_clause(query: str, lang: str, *, same: bool,
                          translations: Sequence[tuple[str, float]] = (), target: str = "en") -> dict:
    """BM25 over one language partition of the index: the documents in ``lang`` (searched with its own
    analyzer's fields too) or every other document (language-agnostic fields only).

    Language-aware fusion normalises each partition on its own, so a same-language document's analyzer
    bonus (stemming, stop words) is never compared with an other-language document's score. The other
    partition also searches the query's ``translations`` into ``target`` (weighted terms from a
    :class:`~lacl_search.core.lexicon.Lexicon`), so that a German query finds English documents by more than
    the names and numbers both share.
    """
    lang_filter = {"term": {schema.LANG: lang}}
    if same:
        return {"bool": {"must": [bm25_clause(query, lang)], "filter": [lang_filter]}}
    if not translations:
        return {"bool": {"must": [bm25_clause(query, None)], "must_not": [lang_filter]}}
    should = [bm25_clause(query, None), *translation_clause(translations, target)]
    return {"bool": {"should": should, "minimum_should_match": 1, "must_not": [lang_filter]}}


def knn_clause(vector: Sequence[float], k: int, filters: Sequence[dict] = ()) -> dict:
    """A Lucene-engine ``knn`` clause on the vector field, with efficient filtering when ``filters``."""
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    body: dict = {"vector": [float(x) for x in vector], "k": k}
    if filters:
        body["filter"] = {"bool": {"filter": list(filters)}}
    return {"knn": {schema.VECTOR: body}}


def _with_filters(clause: dict, filters: Sequence[dict]) -> dict:
    return {"bool": {"must": [clause], "filter": list(filters)}} if filters else clause


def _request(query: dict, size: int, highlight: bool, offset: int = 0) -> dict:
    body: dict = {"size": size, "query": query, "_source": {"excludes": [schema.VECTOR]}}
    if offset:
        body["from"] = offset
    if highlight:
        body["highlight"] = {
            "fields": {f: {} for f in HIGHLIGHT_FIELDS},
            "pre_tags": ["<em>"],
            "post_tags": ["</em>"],
            "fragment_size": 160,
            "number_of_fragments": 2,
        }
    return body


def bm25_query(
    query: str, size: int = 10, lang: str | None = None, filters: Sequence[dict] = (), highlight: bool = False,
    *, offset: int = 0,
) -> dict:
    """A BM25 search request body for hits ``offset`` to ``offset + size``."""
    return _request(_with_filters(bm25_clause(query, lang), filters), size, highlight, offset)


def clause_query(clause: dict, size: int = 10, filters: Sequence[dict] = (), highlight: bool = False,
                 *, offset: int = 0) -> dict:
    """A search request body for any (non-k-NN) ``clause``, with ``filters`` applied in filter context."""
    return _request(_with_filters(clause, filters), size, highlight, offset)


def knn_query(vector: Sequence[float], size: int = 10, filters: Sequence[dict] = (), k: int | None = None,
              *, offset: int = 0) -> dict:
    """A dense k-NN search request body: ``k`` candidates (default ``max(offset + size, MIN_KNN_CANDIDATES)``)."""
    k = k or max(offset + size, MIN_KNN_CANDIDATES)
    if k < offset + size:
        raise ValueError(f"k-NN candidates ({k}) must cover offset + size ({offset + size})")
    return _request(knn_clause(vector, k, filters), size, False, offset)


def pagination_depth(window: int, block: int = HYBRID_DEPTH) -> int:
    """The hybrid ``pagination_depth`` for pages reaching down to hit ``window``: a multiple of ``block``,
    so that consecutive pages of one query share one depth (and therefore one ranking)."""
    if window < 1:
        raise ValueError(f"window must be at least 1, got {window}")
    return -(-window // block) * block


def hybrid_query(subqueries: Sequence[dict], size: int = 10, filters: Sequence[dict] = (),
                 highlight: bool = False, *, offset: int = 0, depth: int | None = None) -> dict:
    """A top-level ``hybrid`` query over ``subqueries`` (at most 5), run through a search pipeline.

    ``filters`` are added to every non-k-NN sub-query; a ``knn`` sub-query carries its own (built with
    ``knn_clause(..., filters)``) so that the Lucene engine filters during the graph search. ``depth`` is
    the hybrid query's ``pagination_depth`` (results per sub-query and shard; required with ``offset``,
    OpenSearch 2.19+).
    """
    if not 2 <= len(subqueries) <= MAX_HYBRID_SUBQUERIES:
        raise ValueError(f"a hybrid query takes 2 to {MAX_HYBRID_SUBQUERIES} sub-queries, got {len(subqueries)}")
    if offset and depth is None:
        raise ValueError("a hybrid query with an offset needs a pagination depth")
    if depth is not None and depth < offset + size:
        raise ValueError(f"pagination depth {depth} is smaller than offset + size ({offset + size})")
    queries = [q if "knn" in q else _with_filters(q, filters) for q in subqueries]
    hybrid: dict = {"queries": queries}
    if depth is not None:
        hybrid["pagination_depth"] = depth
    return _request({"hybrid": hybrid}, size, highlight, offset)


def check_weights(weights: Sequence[float], n_subqueries: int) -> list[float]:
    """Validate hybrid weights: one per sub-query, each in [0, 1], summing to 1."""
    weights = [float(w) for w in weights]
    if len(weights) != n_subqueries:
        raise ValueError(f"{len(weights)} weights for {n_subqueries} sub-queries")
    if any(w < 0 or w > 1 for w in weights) or abs(sum(weights) - 1.0) > 1e-6:
        raise ValueError(f"hybrid weights must lie in [0, 1] and sum to 1, got {weights}")
    return weights


def normalization_pipeline(
    weights: Sequence[float], normalization: str = "min_max", combination: str = "arithmetic_mean"
) -> dict:
    """A search pipeline with a ``normalization-processor`` (score normalisation + weighted combination)."""
    if normalization not in NORMALIZATION_TECHNIQUES:
        raise ValueError(f"normalization must be one of {NORMALIZATION_TECHNIQUES}")
    if combination not in COMBINATION_TECHNIQUES:
        raise ValueError(f"combination must be one of {COMBINATION_TECHNIQUES}")
    weights = check_weights(weights, len(weights))
    return {
        "description": f"lacl-search hybrid: {normalization} + weighted {combination}",
        "phase_results_processors": [
            {
                "normalization-processor": {
                    "normalization": {"technique": normalization},
                    "combination": {"technique": combination, "parameters": {"weights": weights}},
                }
            }
        ],
    }


def rrf_pipeline(rank_constant: int = 60, weights: Sequence[float] | None = None) -> dict:
    """A search pipeline with a ``score-ranker-processor`` doing reciprocal rank fusion, with per-leg
    ``weights`` when given (weighted RRF, OpenSearch 3.x)."""
    if rank_constant < 1:
        raise ValueError(f"rank_constant must be at least 1, got {rank_constant}")
    combination: dict = {"technique": "rrf", "rank_constant": rank_constant}
    kind = "reciprocal rank fusion"
    if weights is not None:
        combination["parameters"] = {"weights": check_weights(weights, len(weights))}
        kind = "weighted reciprocal rank fusion"
    return {
        "description": f"lacl-search hybrid: {kind} (k={rank_constant})",
        "phase_results_processors": [{"score-ranker-processor": {"combination": combination}}],
    }


def pipeline_name(fusion: str, weights: Sequence[float] = (), rank_constant: int = 60) -> str:
    """A stable pipeline id for a fusion setting: ``lacl-minmax-0.30-0.70``, ``lacl-zscore-0.30-0.70``,
    ``lacl-rrf-60`` or ``lacl-wrrf-60-0.30-0.70``."""
    if fusion == "rrf":
        return f"lacl-rrf-{rank_constant}"
    prefix = {"wrrf": f"wrrf-{rank_constant}", "zscore": "zscore"}.get(fusion, "minmax")
    return f"lacl-{prefix}-" + "-".join(f"{w:.2f}" for w in weights)


def ids_filter(doc_ids: Sequence[str]) -> dict:
    """A filter clause selecting documents by ``_id``."""
    return {"ids": {"values": list(doc_ids)}}


def group_languages_query(field: str, groups: Sequence[object], filters: Sequence[dict] = ()) -> dict:
    """The languages of each of ``groups`` (values of the keyword or numeric ``field``), among the documents
    ``filters`` let through: one terms aggregation, no hits."""
    return {"size": 0, "query": {"bool": {"filter": [*filters, {"terms": {field: list(groups)}}]}},
            "aggs": {"groups": {"terms": {"field": field, "size": len(groups)},
                                "aggs": {"langs": {"terms": {"field": schema.LANG, "size": 100}}}}}}
