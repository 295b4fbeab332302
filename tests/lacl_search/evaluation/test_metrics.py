"""Metrics against hand-computed values."""

import math

import pytest

from lacl_search.evaluation import metrics

QRELS = {"q1": {"d1": 1}, "q2": {"d2": 1, "d3": 1}}
RUN = {"q1": {"d9": 3.0, "d1": 2.0}, "q2": {"d3": 5.0, "d8": 4.0}}


def test_per_query_hand_computed():
    values = metrics.per_query(QRELS, RUN)
    assert values["q1"]["ndcg@10"] == pytest.approx(1 / math.log2(3))
    assert values["q1"]["mrr@10"] == pytest.approx(0.5)
    assert values["q1"]["recall@100"] == pytest.approx(1.0)
    idcg = 1 + 1 / math.log2(3)
    assert values["q2"]["ndcg@10"] == pytest.approx(1 / idcg)
    assert values["q2"]["recall@100"] == pytest.approx(0.5)
    assert values["q2"]["mrr@10"] == pytest.approx(1.0)
    agg = metrics.aggregate(values)
    assert agg["mrr@10"] == pytest.approx(0.75)


def test_query_without_hits_scores_zero():
    values = metrics.per_query({"q": {"d": 1}}, {})
    assert values == {"q": {"ndcg@10": 0.0, "recall@100": 0.0, "mrr@10": 0.0}}


def test_language_bias_hand_computed():
    qrels = {"q": {"en1": 1, "de1": 1, "ja1": 1}}
    run = {"q": {"de1": 0.9, "x-de": 0.8, "en1": 0.5}}
    doc_lang = {"en1": "en", "de1": "de", "ja1": "ja", "x-de": "de"}
    bias = metrics.language_bias(qrels, run, {"q": "de"}, doc_lang)
    assert bias["recall@100_same_lang"] == pytest.approx(1.0)
    assert bias["recall@100_other_lang"] == pytest.approx(0.5)
    assert bias["top10_share_query_lang"] == pytest.approx(2 / 3)


def test_by_language_groups():
    values = metrics.per_query(QRELS, RUN)
    groups = metrics.by_language(values, {"q1": "de", "q2": None})
    assert set(groups) == {"de", "und"} and groups["de"]["queries"] == 1


def test_query_sample_spans_languages(tmp_path):
    import json

    from lacl_search.evaluation.exact import load_benchmark

    (tmp_path / "qrels").mkdir()
    langs = ["en"] * 50 + ["de"] * 50 + ["ja"] * 50
    (tmp_path / "corpus.jsonl").write_text("".join(json.dumps({"_id": f"d{i}", "text": "x"}) + "\n" for i in range(3)))
    (tmp_path / "queries.jsonl").write_text(
        "".join(json.dumps({"_id": f"q{i}", "text": "t", "lang": lang}) + "\n" for i, lang in enumerate(langs)))
    (tmp_path / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\n" + "".join(f"q{i}\td0\t1\n" for i in range(150)))
    bench = load_benchmark(tmp_path, max_queries=30)
    assert len(bench.query_ids) == 30 and set(bench.query_langs) == {"en", "de", "ja"}
    assert load_benchmark(tmp_path, max_queries=30).query_ids == bench.query_ids  # seeded


def test_paired_difference_hand_computed():
    reference = {"q1": 0.5, "q2": 0.2, "q3": 0.9, "q4": 0.0}
    better = {"q1": 0.6, "q2": 0.4, "q3": 0.9, "q4": 0.3, "q9": 1.0}  # q9 has no pair
    test = metrics.paired_difference(reference, better)
    assert test["queries"] == 4 and test["diff"] == pytest.approx(0.15)
    # t = mean / (sd / sqrt(n)) of the differences [0.1, 0.2, 0.0, 0.3]: sd = 0.1291, t = 2.3238, df = 3
    assert test["p"] == pytest.approx(0.1028, abs=1e-3)
    assert metrics.paired_difference(reference, reference) == {"diff": 0.0, "p": 1.0, "queries": 4}
    with pytest.raises(ValueError, match="shared queries"):
        metrics.paired_difference({"q1": 1.0}, {"q1": 0.0})


def test_by_group_hand_computed():
    # two translation sets: a = {a-de, a-fr}, b = {b-de}; x-en belongs to none
    groups = {"a-de": "a", "a-fr": "a", "b-de": "b"}
    qrels = {"q": {"a-de": 1, "a-fr": 1, "b-de": 0, "x-en": 1}}
    run = {"q": {"a-fr": 0.9, "a-de": 0.8, "b-de": 0.7, "x-en": 0.1}}
    group_qrels, group_run = metrics.by_group(qrels, run, groups)
    assert group_qrels == {"q": {"a": 1, "b": 0, "x-en": 1}}
    assert group_run == {"q": {"a": 0.9, "b": 0.7, "x-en": 0.1}}
    # documents: relevant at ranks 1, 2, 4 of 3 relevant; groups: relevant at ranks 1 and 3 of 2
    assert metrics.per_query(qrels, run)["q"]["ndcg@10"] == pytest.approx(
        (1 + 1 / math.log2(3) + 1 / math.log2(5)) / (1 + 1 / math.log2(3) + 1 / math.log2(4)))
    assert metrics.per_query(group_qrels, group_run)["q"]["ndcg@10"] == pytest.approx(
        (1 + 1 / math.log2(4)) / (1 + 1 / math.log2(3)))
