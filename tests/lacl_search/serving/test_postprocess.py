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
    assert [h.doc_id for h in postprocess.prefer_languages(_hits(), [], 0.2)] == [h.doc_id for h in _hits()]


def test_grouping_keeps_one_hit_per_set_and_lists_the_other_languages():
    grouped = postprocess.group_hits(_hits(), "set")
    assert [(h.doc_id, h.variants) for h in grouped] == [("a-en", ["de"]), ("b-en", ["de"]), ("c-fr", [])]
    preferred = postprocess.group_hits(_hits(), "set", prefer=["de"])
    assert [(h.doc_id, h.variants) for h in preferred] == [("a-de", ["en"]), ("b-de", ["en"]), ("c-fr", [])]


def test_apply_pages_after_grouping():
    request = SearchRequest(query="q", k=2, offset=1, group_by="set", prefer_langs=["de"])
    assert [h.doc_id for h in postprocess.apply(request, _hits())] == ["b-de", "c-fr"]
    assert postprocess.candidates_request(request).k == 12 and postprocess.candidates_request(request).offset == 0
    with pytest.raises(BadInput):
        SearchRequest(query="q", prefer_boost=2)
