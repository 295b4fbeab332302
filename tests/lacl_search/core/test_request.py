"""The search request's one validator, and the shared Mode / Fusion vocabulary."""

import pytest

from lacl_search.core import filters as F
from lacl_search.core.request import MAX_QUERY_CHARS, MAX_WINDOW, SearchRequest
from lacl_search.core.types import Fusion, Mode
from lacl_search.errors import BadInput


def test_defaults_and_normalisation():
    request = SearchRequest(query="  hello  ", mode="DENSE", fusion="rrf", langs=["pt_BR", "de", "pt"])
    assert request.query == "hello" and request.mode is Mode.DENSE and request.fusion is Fusion.RRF
    assert request.langs == ("pt", "de") and request.window == 10 and not request.explain


@pytest.mark.parametrize(("changes", "message"), [
    ({"query": "   "}, "query is empty"),
    ({"query": "x" * (MAX_QUERY_CHARS + 1)}, f"limit is {MAX_QUERY_CHARS}"),
    ({"k": 0}, "k must be a positive integer"),
    ({"k": True}, "k must be a positive integer"),
    ({"offset": -1}, "offset must be"),
    ({"offset": MAX_WINDOW, "k": 1}, "offset \\+ k"),
    ({"weight": 1.5}, "weight must lie in"),
    ({"mode": "semantic"}, "mode must be one of \\['bm25', 'dense', 'hybrid'\\]"),
    ({"fusion": "borda"}, "fusion must be one of"),
    ({"langs": "de"}, "not one string"),
    ({"weight": 0.3, "fusion": "language"}, "weight is for the fixed-weight fusions .*language fusion weighs by"),
    ({"weight": 0.3, "fusion": "learned"}, "learned fusion weighs by the index's fusion profile"),
    ({"weight": 0.3, "fusion": "rrf"}, "rrf fusion is unweighted \\(wrrf takes a weight\\)"),
])
def test_invalid_requests_are_one_line_errors(changes, message):
    with pytest.raises(BadInput, match=message):
        SearchRequest(**{"query": "q", **changes})


def test_a_weight_asks_for_a_fixed_weighting():
    """Without a weight, ``auto`` is the index's fitted profile; with one it is min-max at that weight (a weight
    that ``auto`` ignored would look like a slider that moves nothing); the default weight is 0.5."""
    assert SearchRequest(query="q").fusion is Fusion.AUTO and SearchRequest(query="q").dense_weight == 0.5
    weighted = SearchRequest(query="q", weight=0.2)
    assert weighted.fusion is Fusion.MINMAX and weighted.dense_weight == 0.2
    assert weighted.with_changes(k=3).fusion is Fusion.MINMAX
    for fusion in ("zscore", "wrrf", "minmax"):
        assert SearchRequest(query="q", fusion=fusion, weight=0.0).dense_weight == 0.0
    assert SearchRequest(query="q", fusion="language").weight is None


def test_the_request_is_keyword_only_and_immutable():
    with pytest.raises(TypeError):
        SearchRequest("q")  # type: ignore[misc]
    request = SearchRequest(query="q")
    with pytest.raises(AttributeError):
        request.k = 3  # type: ignore[misc]
    assert request.with_changes(k=3).k == 3 and request.k == 10


def test_language_and_structured_filters_are_anded():
    request = SearchRequest(query="q", langs=["de"], filter=F.Range("year", gte=2020))
    assert request.filter_clauses() == [{"bool": {"filter": [
        {"terms": {"lang": ["de"]}}, {"range": {"metadata.year": {"gte": 2020}}}]}}]
    assert SearchRequest(query="q").filter_clauses() == []
    assert SearchRequest(query="q", langs=["fr"]).filter_clauses() == [{"terms": {"lang": ["fr"]}}]


def test_enums_print_as_their_names():
    assert str(Mode.HYBRID) == "hybrid" and Mode.choices() == ["bm25", "dense", "hybrid"]
    assert Fusion.parse(" MinMax ") is Fusion.MINMAX


def test_hybrid_depth_defaults_to_one_block_and_can_be_set():
    from lacl_search.core import queries

    assert SearchRequest(query="q").hybrid_depth == queries.HYBRID_DEPTH
    assert SearchRequest(query="q", k=10, offset=30).hybrid_depth == 2 * queries.HYBRID_DEPTH
    assert SearchRequest(query="q", depth=100).hybrid_depth == 100
    assert SearchRequest(query="q", k=5, offset=100, depth=100).hybrid_depth == 200
    for bad in (0, -1, True, 2.5, MAX_WINDOW + 1):
        with pytest.raises(BadInput, match="depth"):
            SearchRequest(query="q", depth=bad)
