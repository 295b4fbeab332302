"""Language-aware hybrid requests (golden) and their client-side fusion."""

import pytest

from lacl_search.core.fusion_profile import FusionProfile
from lacl_search.core.request import SearchRequest
from lacl_search.serving import language_plan

PROFILE = FusionProfile(encoder_fingerprint="f", languages={"de": (0.2, 0.1, 0.7), "*": (0.3, 0.1, 0.6)},
                        unknown=(0.4, 0.6))


def test_server_plan_partitions_the_lexical_leg_by_the_query_language():
    plan = language_plan.server_plan(SearchRequest(query="Bilder", k=5), [0.0, 1.0], "de", PROFILE)
    subqueries = plan.body["query"]["hybrid"]["queries"]
    assert [list(q) for q in subqueries] == [["bool"], ["bool"], ["knn"]]
    assert subqueries[0]["bool"]["filter"] == [{"term": {"lang": "de"}}]
    assert subqueries[1]["bool"]["must_not"] == [{"term": {"lang": "de"}}]
    weights = plan.pipeline["phase_results_processors"][0]["normalization-processor"]["combination"]
    assert weights["parameters"]["weights"] == [0.2, 0.1, 0.7] and plan.pipeline_name == "lacl-minmax-0.20-0.10-0.70"


def test_undetected_language_uses_two_legs_and_the_unknown_weights():
    plan = language_plan.server_plan(SearchRequest(query="xyz", k=5), [1.0], None, PROFILE)
    assert len(plan.body["query"]["hybrid"]["queries"]) == 2
    assert plan.pipeline_name == "lacl-minmax-0.40-0.60"
    assert language_plan.server_plan(SearchRequest(query="q"), [1.0], "sk", PROFILE).pipeline_name == \
        "lacl-minmax-0.30-0.10-0.60"  # no weights of its own: the fallback


def _response(scores: dict[str, float]) -> dict:
    return {"hits": {"hits": [{"_id": d, "_score": s, "_source": {"doc_id": d}} for d, s in scores.items()]}}


def test_client_fusion_mirrors_the_pipeline_arithmetic():
    request = SearchRequest(query="q", k=2, offset=1)
    responses = [_response({"a": 3.0, "b": 1.0}), _response({"c": 9.0, "d": 1.0}), _response({"b": 0.9, "c": 0.5})]
    hits = language_plan.fuse_on_client(request, responses, "de", PROFILE)
    # a: 0.2*1; b: 0.2*0 + 0.7*1; c: 0.1*1 + 0.7*0; d: 0 -> ranking b, a, c, d; page 2 starts at a
    assert [h.doc_id for h in hits] == ["a", "c"]
    assert hits[0].score == pytest.approx(0.2) and hits[0].scores == {"bm25": 3.0, "dense": None, "fused": 0.2}
    assert len(language_plan.client_bodies(request, [1.0], "de", PROFILE)) == 3
    assert len(language_plan.client_bodies(request, [1.0], None, PROFILE)) == 2


TRAINED = FusionProfile(encoder_fingerprint="t", languages={"de": (0.0, 0.1, 0.9), "pt": (0.0, 0.0, 1.0),
                                                            "*": (0.1, 0.0, 0.9)}, unknown=(0.0, 1.0))


@pytest.mark.parametrize(("lang", "legs", "weights"), [
    ("de", [["bool"], ["knn"]], [0.1, 0.9]),  # the same-language partition has no weight: not sent
    ("fr", [["bool"], ["knn"]], [0.1, 0.9]),
    ("pt", [["bool"], ["knn"]], [0.0, 1.0]),  # no lexical weight: a hybrid query still needs two sub-queries
    (None, [["multi_match"], ["knn"]], [0.0, 1.0]),
])
def test_legs_without_weight_are_not_sent(lang, legs, weights):
    request = SearchRequest(query="Bilder komprimieren", k=5)
    plan = language_plan.server_plan(request, [0.0, 1.0], lang, TRAINED)
    subqueries = plan.body["query"]["hybrid"]["queries"]
    assert [list(q) for q in subqueries] == legs
    combination = plan.pipeline["phase_results_processors"][0]["normalization-processor"]["combination"]
    assert combination["parameters"]["weights"] == weights
    if lang == "de":
        assert subqueries[0]["bool"]["must_not"] == [{"term": {"lang": "de"}}]  # the other-languages partition
    assert len(language_plan.client_bodies(request, [0.0, 1.0], lang, TRAINED)) == len(legs)


def test_client_fusion_of_pruned_legs_uses_the_remaining_weights():
    request = SearchRequest(query="q", k=3)
    responses = [_response({"a": 3.0, "b": 1.0}), _response({"b": 0.9, "c": 0.5})]  # other-languages BM25, dense
    hits = language_plan.fuse_on_client(request, responses, "de", TRAINED)
    # a: 0.1*1; b: 0.1*0 + 0.9*1; c: 0.9*0 -> b, a, c
    assert [h.doc_id for h in hits] == ["b", "a", "c"] and hits[1].score == pytest.approx(0.1)


def test_translations_go_into_the_other_language_partition_only():
    from lacl_search.core.lexicon import Lexicon

    lexicon = Lexicon(name="toy", target="en", tables={"de": {"bilder": (("images", 0.7),)}})
    request = SearchRequest(query="Bilder", k=5)
    translated = language_plan.translations(request, "de", lexicon)
    assert translated == (("images", 0.7),)
    assert language_plan.translations(request, None, lexicon) == () == language_plan.translations(request, "de", None)
    plan = language_plan.server_plan(request, [1.0], "de", PROFILE, translated)
    same, other, _ = plan.body["query"]["hybrid"]["queries"]
    assert "should" not in same["bool"]
    assert [c["multi_match"]["query"] for c in other["bool"]["should"]] == ["Bilder", "images"]
    bodies = language_plan.client_bodies(request, [1.0], "de", PROFILE, translated)
    assert bodies[1]["query"]["bool"]["should"] == other["bool"]["should"]
    lexical = language_plan.lexical_plan(request, "de", translated).body["query"]["hybrid"]["queries"]
    assert lexical[1] == other and language_plan.lexical_bodies(request, "de", translated)[1]["query"] == other


def test_learned_fusion_requests_every_leg_ranks_them_and_fetches_the_page():
    """Every leg is requested, weighted or not (the ranker reads them all), ids and scores only; the ranker's
    score orders the candidates (here one split: 1 for what the other-languages partition found, else 0);
    the page's documents come from one fetch by id, highlighted for the query's words."""
    import dataclasses

    from lacl_search.core.fusion_ranker import FEATURES, TreeRanker

    split = {"feature": [FEATURES.index("bm25_other:found"), -1, -1], "threshold": [0.5, 0, 0],
             "left": [1, 0, 0], "right": [2, 0, 0], "value": [0.0, 0.0, 1.0]}
    learned = dataclasses.replace(TRAINED, ranker=TreeRanker(trees=(split,)))
    request = SearchRequest(query="Bilder komprimieren", k=2, offset=1)
    names, bodies = language_plan.ranker_bodies(request, [0.0, 1.0], "pt")
    assert names == ["bm25_same", "bm25_other", "dense"]
    assert [list(b["query"]) for b in bodies] == [["bool"], ["bool"], ["knn"]]  # pt weights BM25 0: still sent
    assert all(b["_source"] is False and "highlight" not in b and b["size"] == 30 for b in bodies)
    assert language_plan.ranker_bodies(request, [0.0, 1.0], None)[0] == ["bm25_base", "dense"]
    responses = [_response({"a": 3.0}), _response({"b": 1.0, "e": 0.5}), _response({"a": 0.9, "c": 0.5})]
    fused, legs = language_plan.learned_scores(names, responses, "de", learned, covered=True)
    assert fused == {"a": 0.0, "b": 1.0, "c": 0.0, "e": 1.0}
    assert language_plan.page_ids(request, fused) == ["e", "a"]  # b, e (ties by id), a, c: page 2 of size 2
    fetch = language_plan.fetch_body(request, ["e", "a"], "de")
    assert fetch["query"] == {"ids": {"values": ["e", "a"]}} and fetch["size"] == 2
    assert fetch["highlight"]["highlight_query"]["bool"]["should"] == language_plan.lexical_clauses(request, "de")
    hits = language_plan.learned_page(language_plan.page_ids(request, fused), fused, legs,
                                      _response({"a": 1.0}))  # e deleted in between
    assert [h.doc_id for h in hits] == ["a"] and hits[0].scores == {"bm25": 3.0, "dense": 0.9, "fused": 0.0}
    with pytest.raises(ValueError, match="no ranker"):
        language_plan.learned_scores(names, responses, "de", TRAINED, covered=True)


def test_the_translated_dense_leg_is_sent_when_the_ranker_reads_it_and_the_query_was_translated():
    """k-NN of the encoded translations, over the documents in the lexicon's target language, with the
    request's own filters; not sent without translations, without a language, or when the ranker does not
    read it."""
    import dataclasses

    from lacl_search.core.fusion_ranker import TreeRanker

    def ranker(feature):
        return TreeRanker.from_dict({"features": [feature], "trees": [
            {"feature": [0, -1, -1], "threshold": [0.5, 0, 0], "left": [1, 0, 0], "right": [2, 0, 0],
             "value": [0, 0.0, 1.0]}]})

    reads = dataclasses.replace(TRAINED, ranker=ranker("dense_translated:found"))
    ignores = dataclasses.replace(TRAINED, ranker=ranker("dense:found"))
    translated = (("compress", 0.9), ("images", 0.7))
    assert language_plan.translated_query(reads, translated) == "compress images"
    assert language_plan.translated_query(reads, ()) is None
    assert language_plan.translated_query(ignores, translated) is None
    assert language_plan.translated_query(TRAINED, translated) is None  # no ranker
    request = SearchRequest(query="Bilder komprimieren", k=10, langs=["en", "de"])
    names, bodies = language_plan.ranker_bodies(request, [0.0, 1.0], "de", translated,
                                                translated_vector=[1.0, 0.0], target="en")
    assert names == ["bm25_same", "bm25_other", "dense", "dense_translated"]
    knn = bodies[-1]["query"]["knn"]["vector"]
    assert knn["vector"] == [1.0, 0.0] and knn["k"] == bodies[2]["query"]["knn"]["vector"]["k"]  # as dense
    assert bodies[-1]["size"] == 30 and bodies[-1]["_source"] is False
    assert knn["filter"]["bool"]["filter"] == [{"terms": {"lang": ["en", "de"]}}, {"terms": {"lang": ["en"]}}]
    no_lang, _ = language_plan.ranker_bodies(request, [0.0, 1.0], None, translated_vector=[1.0, 0.0], target="en")
    assert no_lang == ["bm25_base", "dense"]
    with pytest.raises(ValueError, match="target language"):
        language_plan.ranker_bodies(request, [0.0, 1.0], "de", translated, translated_vector=[1.0, 0.0])
    responses = [_response({"a": 3.0}), _response({}), _response({"a": 0.9}), _response({"c": 0.8})]
    fused, legs = language_plan.learned_scores(names, responses, "de", reads, covered=True)
    assert fused == {"a": 0.0, "c": 1.0} and legs["dense_translated"] == {"c": 0.8}
    hits = language_plan.learned_page(language_plan.page_ids(request, fused), fused, legs,
                                      _response({"a": 1.0, "c": 1.0}))
    assert [(h.doc_id, h.scores["bm25"], h.scores["dense"]) for h in hits] == [("c", None, None), ("a", 3.0, 0.9)]


def test_learned_fusion_induces_translations_only_where_its_ranker_was_fitted_with_them_and_no_table_exists():
    import dataclasses

    from lacl_search.core.fusion_ranker import FEATURES, TreeRanker
    from lacl_search.core.lexicon import Lexicon

    split = {"feature": [0, -1, -1], "threshold": [0.5, 0, 0], "left": [1, 0, 0], "right": [2, 0, 0],
             "value": [0, 0.0, 1.0]}
    fitted = dataclasses.replace(TRAINED, ranker=TreeRanker(trees=(split,)))
    older = dataclasses.replace(TRAINED, ranker=TreeRanker(trees=(split,), features=FEATURES[:-1]))
    lexicon = Lexicon(name="toy", target="en", tables={"de": {"bild": (("image", 1.0),)}})
    assert language_plan.induces(fitted, "cs", lexicon)
    assert not language_plan.induces(fitted, "de", lexicon)  # the table translates it
    assert not language_plan.induces(fitted, "en", lexicon)  # the target language
    assert not language_plan.induces(fitted, None, lexicon)  # no language
    assert not language_plan.induces(fitted, "cs", None)  # no lexicon: no vocabulary to translate into
    assert not language_plan.induces(older, "cs", lexicon)  # fitted without induced translations
    assert not language_plan.induces(TRAINED, "cs", lexicon)  # no ranker
