"""Language preference and translation grouping over candidate hits (pure)."""

import pytest

from lacl_search.core.request import SearchRequest
from lacl_search.core.types import Hit
from lacl_search.errors import BadInput
from lacl_search.serving import postprocess


def _hits():
    rows = [("a-en", "en", 1.0, "a"), ("b-en", "en", 0.9, "b"), ("a-de", "de", 0.85, "a"), ("c-fr", "fr", 0.5, "c"),
            ("b-de", "de", 0.1, "b")]
    return [Hit(doc_id=d, lang=lang, score=s, metadata={"set": g}) for d, lang, s, g in rows]


def test_preference_boosts_without_filtering():
    ranked = postprocess.prefer_languages(_hits(), ["de"], 0.2)
    # normalised: a-en 1, b-en .889, a-de .833+.2, c-fr .444, b-de 0+.2
    assert [h.doc_id for h in ranked] == ["a-de", "a-en", "b-en", "c-fr", "b-de"]
    assert [round(h.score, 3) for h in ranked] == [1.033, 1.0, 0.889, 0.444, 0.2]  # the ranking score
    assert [h.doc_id for h in postprocess.prefer_languages(_hits(), [], 0.2)] == [h.doc_id for h in _hits()]


def test_grouping_keeps_one_hit_per_set_and_lists_the_other_languages():
    grouped = postprocess.group_hits(_hits(), "set")
    assert [(h.doc_id, h.variants) for h in grouped] == [("a-en", ["de"]), ("b-en", ["de"]), ("c-fr", [])]
    preferred = postprocess.group_hits(_hits(), "set", prefer=["de"])
    assert [(h.doc_id, h.variants) for h in preferred] == [("a-de", ["en"]), ("b-de", ["en"]), ("c-fr", [])]
    assert [h.score for h in preferred] == [1.0, 0.9, 0.5]  # each group's first member's: falling down the page


def test_apply_pages_after_grouping():
    request = SearchRequest(query="q", k=2, offset=1, group_by="set", prefer_langs=["de"])
    assert [h.doc_id for h in postprocess.apply(request, _hits())] == ["b-de", "c-fr"]
    assert postprocess.candidates_request(request).k == 60 and postprocess.candidates_request(request).offset == 0
    with pytest.raises(BadInput):
        SearchRequest(query="q", prefer_boost=2)


def test_the_candidate_window_widens_only_while_groups_leave_the_block_short():
    request = SearchRequest(query="q", k=10, group_by="set")  # ranked down to hit 30, the hybrid block
    assert postprocess.wider_window(request, 60, fetched=60, ranked=4) == 240  # full window, 4 groups: more
    assert postprocess.wider_window(request, 60, fetched=60, ranked=10) == 240  # the page is full, the block not
    assert postprocess.wider_window(request, 60, fetched=53, ranked=3) is None  # the server had no more
    assert postprocess.wider_window(request, 60, fetched=60, ranked=30) is None  # the block is full
    assert postprocess.wider_window(request, 960, fetched=960, ranked=9) == 3840
    assert postprocess.wider_window(request, 3840, fetched=3840, ranked=9) is None  # 3 widenings at most
    deep = SearchRequest(query="q", k=100, offset=9_800, group_by="set")
    assert postprocess.wider_window(deep, 9_999, fetched=9_999, ranked=5) == 10_000  # OpenSearch's result window
    assert postprocess.wider_window(deep, 10_000, fetched=10_000, ranked=5) is None
    assert postprocess.candidates_request(request, 160).k == 160


def test_every_page_of_a_block_ranks_the_same_candidates():
    """Min-max normalisation and the preference's boost depend on the candidate list, so the pages of one
    block must fetch the same one (and widen alike), or a page repeats or skips hits of the one before."""
    pages = [SearchRequest(query="q", k=10, offset=offset, prefer_langs=["de"], group_by="set")
             for offset in (0, 10, 20)]
    assert {postprocess.candidates_request(p).k for p in pages} == {60}
    assert {postprocess.wider_window(p, 60, fetched=60, ranked=12) for p in pages} == {240}
    assert postprocess.candidates_request(pages[0].with_changes(offset=30)).k == 120  # the next block
    assert postprocess.candidates_request(pages[0].with_changes(depth=50)).k == 100  # a block of the given depth
    assert postprocess.ranked_window(SearchRequest(query="q", k=10, offset=9_985)) == 10_000  # at most the server's


def test_variants_come_from_one_aggregation_over_the_page_groups(caplog):
    request = SearchRequest(query="q", k=3, group_by="set", langs=["de", "en"])
    page = postprocess.group_hits(_hits(), "set")
    body = postprocess.variants_body(request, page)
    assert body["size"] == 0 and body["aggs"]["groups"]["terms"] == {"field": "metadata.set", "size": 3}
    assert body["query"]["bool"]["filter"][-1] == {"terms": {"metadata.set": ["a", "b", "c"]}}
    assert body["query"]["bool"]["filter"][0] == {"terms": {"lang": ["de", "en"]}}  # variants honour the filter
    response = {"aggregations": {"groups": {"buckets": [
        {"key": "a", "langs": {"buckets": [{"key": "en"}, {"key": "de"}, {"key": "ja"}]}},
        {"key": "c", "langs": {"buckets": [{"key": "fr"}]}}]}}}
    postprocess.attach_variants(page, "set", response)
    assert [(h.doc_id, h.variants) for h in page] == [("a-en", ["de", "ja"]), ("b-en", ["de"]), ("c-fr", [])]
    assert postprocess.variants_body(SearchRequest(query="q"), page) is None  # not grouped
    with caplog.at_level("WARNING"):
        assert postprocess.variants_body(request.with_changes(group_by="sett"), page) is None
    assert "no hit has metadata 'sett'" in caplog.text
