"""Request builders against golden tables (input -> expected JSON)."""

import pytest

from lacl_search.core import queries

SRC = {"excludes": ["vector"]}
BASE_FIELDS = ["title^2", "text"]
DE_FIELDS = ["title^2", "text", "title_i18n.de^2", "text_i18n.de"]

GOLDEN = [
    (
        "bm25 without language",
        lambda: queries.bm25_query("xml parser", size=5),
        {"size": 5, "_source": SRC,
         "query": {"multi_match": {"query": "xml parser", "fields": BASE_FIELDS, "type": "most_fields"}}},
    ),
    (
        "bm25 german with language filter",
        lambda: queries.bm25_query("XML Parser", 3, "de", queries.filter_clauses(["en", "de"])),
        {"size": 3, "_source": SRC,
         "query": {"bool": {
             "must": [{"multi_match": {"query": "XML Parser", "fields": DE_FIELDS, "type": "most_fields"}}],
             "filter": [{"terms": {"lang": ["en", "de"]}}]}}},
    ),
    (
        "bm25 language without analyzer uses base fields",
        lambda: queries.bm25_query("x", 1, "sk"),
        {"size": 1, "_source": SRC,
         "query": {"multi_match": {"query": "x", "fields": BASE_FIELDS, "type": "most_fields"}}},
    ),
    (
        "knn with metadata filter",
        lambda: queries.knn_query([1, 0.5], 4, queries.filter_clauses(None, {"section": "net"})),
        {"size": 4, "_source": SRC,
         "query": {"knn": {"vector": {"vector": [1.0, 0.5], "k": 100,
                                      "filter": {"bool": {"filter": [{"term": {"metadata.section": "net"}}]}}}}}},
    ),
    (
        "hybrid: filters go into the text clause, knn keeps its own",
        lambda: queries.hybrid_query(
            [queries.bm25_clause("q"), queries.knn_clause([0.0, 1.0], 2, [{"terms": {"lang": ["fr"]}}])],
            2, [{"terms": {"lang": ["fr"]}}]),
        {"size": 2, "_source": SRC, "query": {"hybrid": {"queries": [
            {"bool": {"must": [{"multi_match": {"query": "q", "fields": BASE_FIELDS, "type": "most_fields"}}],
                      "filter": [{"terms": {"lang": ["fr"]}}]}},
            {"knn": {"vector": {"vector": [0.0, 1.0], "k": 2,
                                "filter": {"bool": {"filter": [{"terms": {"lang": ["fr"]}}]}}}}},
        ]}}},
    ),
    (
        "min-max normalization pipeline",
        lambda: queries.normalization_pipeline([0.3, 0.7]),
        {"description": "lacl-search hybrid: min_max + weighted arithmetic_mean",
         "phase_results_processors": [{"normalization-processor": {
             "normalization": {"technique": "min_max"},
             "combination": {"technique": "arithmetic_mean", "parameters": {"weights": [0.3, 0.7]}}}}]},
    ),
    (
        "rrf pipeline",
        lambda: queries.rrf_pipeline(60),
        {"description": "lacl-search hybrid: reciprocal rank fusion (k=60)",
         "phase_results_processors": [{"score-ranker-processor": {"combination": {"technique": "rrf",
                                                                                   "rank_constant": 60}}}]},
    ),
    ("pipeline names", lambda: [queries.pipeline_name("minmax", [0.3, 0.7]), queries.pipeline_name("rrf")],
     ["lacl-minmax-0.30-0.70", "lacl-rrf-60"]),
]


@pytest.mark.parametrize(("name", "build", "expected"), GOLDEN, ids=[g[0] for g in GOLDEN])
def test_golden(name, build, expected):
    assert build() == expected


def test_knn_candidates_can_be_set():
    assert queries.knn_query([0.0], 5, k=7)["query"]["knn"]["vector"]["k"] == 7
    assert queries.knn_query([0.0], 500)["query"]["knn"]["vector"]["k"] == 500


def test_highlight_only_when_asked():
    assert "highlight" not in queries.bm25_query("a")
    body = queries.bm25_query("a", highlight=True)
    assert body["highlight"]["pre_tags"] == ["<em>"] and set(body["highlight"]["fields"]) == {"text", "title"}


@pytest.mark.parametrize("n", [1, 6])
def test_hybrid_subquery_limits(n):
    with pytest.raises(ValueError, match="2 to 5 sub-queries"):
        queries.hybrid_query([queries.bm25_clause("q")] * n)


@pytest.mark.parametrize("weights", [[0.5, 0.6], [1.2, -0.2], [1.0]])
def test_weights_must_match_and_sum_to_one(weights):
    with pytest.raises(ValueError):
        queries.check_weights(weights, 2)


def test_empty_query_text_rejected():
    with pytest.raises(ValueError, match="empty"):
        queries.bm25_clause("   ")


def test_query_text_goes_verbatim_into_multi_match():
    """The user's text is the ``query`` of a ``multi_match`` (which analyses it, never parses it); the
    server-side half of this claim is tests/lacl_search/serving/test_search.py::test_query_syntax_is_text."""
    body = queries.bm25_query('title:(a OR b) AND "x', 1)
    assert body["query"] == {"multi_match": {"query": 'title:(a OR b) AND "x', "fields": ["title^2", "text"],
                                             "type": "most_fields"}}


def test_builders_do_not_share_state():
    a = queries.filter_clauses(["de"])
    a.append({"x": 1})
    assert queries.filter_clauses(["de"]) == [{"terms": {"lang": ["de"]}}]


def test_pipeline_names_of_every_weighted_fusion():
    assert queries.pipeline_name("zscore", [0.3, 0.7]) == "lacl-zscore-0.30-0.70"
    assert queries.pipeline_name("wrrf", [0.3, 0.7]) == "lacl-wrrf-60-0.30-0.70"
    assert queries.rrf_pipeline()["description"] == "lacl-search hybrid: reciprocal rank fusion (k=60)"


def test_pagination_depth_is_one_block_for_first_pages_and_shared_within_a_block():
    block = queries.HYBRID_DEPTH
    assert queries.pagination_depth(10) == block  # a first page of 10 normalises over the top HYBRID_DEPTH
    assert {queries.pagination_depth(w) for w in range(1, block + 1)} == {block}  # pages within a block: one ranking
    assert queries.pagination_depth(block + 1) == 2 * block
    assert queries.pagination_depth(100) >= 100  # evaluation windows (R@100) see every hit they score
    with pytest.raises(ValueError, match="window"):
        queries.pagination_depth(0)
