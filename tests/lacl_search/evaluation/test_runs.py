"""Runs, then scores: TREC files in and out, offline fusion, scoring against qrels, search runs."""

from __future__ import annotations

import pytest

from lacl_search.core.request import SearchRequest
from lacl_search.errors import ArtifactMissing, BadInput
from lacl_search.evaluation import beir, runs, scoring
from lacl_search.serving.indexing import LoadOptions, load_documents
from lacl_search.serving.search import Searcher
from tests.support import FIXTURES
from tests.tiny_encoder import build_tiny_encoder

MINI = FIXTURES / "beir-mini"


def test_trec_round_trip_orders_by_score_then_id(tmp_path):
    run = {"q2": {"b": 1.0, "a": 1.0, "c": 3.0}, "q1": {"x": 0.5}}
    path = runs.write_trec_run(tmp_path / "r.trec", run, "tag")
    assert path.read_text().splitlines() == [
        "q1 Q0 x 1 0.500000 tag", "q2 Q0 c 1 3.000000 tag", "q2 Q0 a 2 1.000000 tag", "q2 Q0 b 3 1.000000 tag",
    ]
    assert runs.read_trec_run(path) == run


def test_bad_run_files_are_one_line_errors(tmp_path):
    with pytest.raises(ArtifactMissing, match="not found"):
        runs.read_trec_run(tmp_path / "missing.trec")
    (tmp_path / "bad.trec").write_text("q1 Q0 d1 1 0.5\n")
    with pytest.raises(BadInput, match="bad.trec:1: a TREC run line has 6 columns"):
        runs.read_trec_run(tmp_path / "bad.trec")


def test_scores_of_a_known_run():
    """Golden values: q-de-xml finds 1 of its 3 relevant documents at rank 2, the others find theirs first."""
    run = {"q-de-xml": {"web-en": 2.0, "xml-de": 1.0}, "q-fr-img": {"img-en": 1.0, "img-fr": 0.9},
           "q-ja-web": {"web-ja": 1.0, "web-de": 0.5, "web-en": 0.4}, "q-de-audio": {"audio-fr": 1.0},
           "q-en-mail": {"mail-en": 1.0}}
    result = scoring.score_run(run, MINI)
    assert result["queries"] == 5 and result["docs"] == 12
    xml = result["per_query"]["q-de-xml"]
    ideal = 1 + 1 / 1.5849625 + 1 / 2.0  # three relevant documents
    assert xml["ndcg@10"] == pytest.approx((1 / 1.5849625) / ideal, abs=1e-6)
    assert xml["recall@100"] == pytest.approx(1 / 3) and xml["mrr@10"] == pytest.approx(0.5)
    assert result["per_query"]["q-de-audio"]["recall@100"] == pytest.approx(0.5)
    assert result["recall@100"] == pytest.approx((1 / 3 + 1 + 1 + 0.5 + 1) / 5)
    bias = result["language_bias"]
    # q-de-xml: its German document is found, its English and Japanese ones are not
    assert bias["recall@100_same_lang"] == pytest.approx(1.0)
    assert bias["recall@100_other_lang"] == pytest.approx((0 + 1 + 1 + 0.5) / 4)
    assert set(result["by_query_lang"]) == {"de", "fr", "ja", "en"}


def test_score_rejects_a_run_for_another_dataset():
    with pytest.raises(BadInput, match="match none"):
        scoring.score_run({"other-q": {"d": 1.0}}, MINI)


def test_offline_fusion_of_saved_runs(tmp_path):
    a = {"q": {"d1": 10.0, "d2": 5.0, "d3": 0.0}}
    b = {"q": {"d3": 1.0, "d2": 0.5}}
    fused = runs.fuse_runs([a, b], method="minmax", weights=[0.5, 0.5])
    assert fused["q"] == pytest.approx({"d1": 0.5, "d2": 0.25, "d3": 0.5})
    rrf = runs.fuse_runs([a, b], method="rrf")
    # d3 (ranks 3 and 1: 1/63 + 1/61) edges out d2 (ranks 2 and 2: 2/62); d1 has one first place (1/61)
    assert list(rrf["q"]) == ["d3", "d2", "d1"]
    assert rrf["q"]["d3"] == pytest.approx(1 / 63 + 1 / 61)
    with pytest.raises(BadInput, match="weights"):
        runs.fuse_runs([a, b], weights=[1.0])


def test_exact_run_ranks_every_document():
    tiny = build_tiny_encoder(seed=3).eval()
    queries = beir.load_queries(MINI)
    run = runs.exact_run(tiny, queries, list(beir.iter_corpus(MINI)), depth=5)
    assert set(run) == {q.query_id for q in queries} and all(len(r) == 5 for r in run.values())


@pytest.mark.integration
@pytest.mark.parametrize("mode", ["bm25", "dense", "hybrid"])
def test_search_run_then_score_matches_scoring_in_memory(os_client, index_name, tmp_path, mode):
    tiny = build_tiny_encoder(seed=3).eval()
    load_documents(os_client, index_name, tiny, beir.iter_corpus(MINI), options=LoadOptions(model_name="tiny"))
    searcher = Searcher(os_client, index=index_name, encoder=tiny)
    queries = beir.load_queries(MINI)
    run, latencies = runs.search_run(searcher, queries, SearchRequest(query="-", mode=mode, k=3, explain=False))
    assert len(latencies) == 5 and all(len(hits) <= 3 for hits in run.values())
    for query in queries:  # the batch path answers exactly what one search answers
        single = searcher.search(query.text, mode=mode, k=3, explain=False)
        assert list(run[query.query_id]) == [h.doc_id for h in single]
    path = runs.write_trec_run(tmp_path / "run.trec", run, f"lacl-{mode}")
    assert scoring.score_run(runs.read_trec_run(path), MINI)["ndcg@10"] == pytest.approx(
        scoring.score_run(run, MINI)["ndcg@10"], abs=1e-6)


def test_offline_fusion_methods_match_the_fusion_functions():
    from lacl_search.core import fusion

    a = {"q": {"d1": 3.0, "d2": 1.0, "d3": 0.0}}
    b = {"q": {"d2": 2.0, "d3": 1.0}}
    z = runs.fuse_runs([a, b], method="zscore", weights=[0.3, 0.7])["q"]
    assert z == pytest.approx(fusion.z_score_fusion([a["q"], b["q"]], [0.3, 0.7]))
    w = runs.fuse_runs([a, b], method="wrrf", weights=[2.0, 1.0])["q"]
    assert w == pytest.approx(fusion.reciprocal_rank_fusion([a["q"], b["q"]], weights=[2.0, 1.0]))
    with pytest.raises(BadInput, match="offline fusion takes"):
        runs.fuse_runs([a, b], method="language")
