"""The few-parallel-pairs study: the language-balanced cap and the tables over seeds."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from lacl_trainer.config import DataArgs
from lacl_trainer.data import TrainingData, balanced_sample
from lacl_trainer.study import by_group, category, main, merge, report


def test_balanced_sample_takes_equal_shares_and_fills_from_larger_languages():
    langs = ["it"] * 90 + ["ja"] * 8 + ["de"] * 30
    picked = balanced_sample(langs, 30, seed=1)
    assert len(picked) == len(set(picked)) == 30
    assert Counter(langs[i] for i in picked) == {"it": 11, "ja": 8, "de": 11}  # ja has only 8
    assert picked == balanced_sample(langs, 30, seed=1) and picked != balanced_sample(langs, 30, seed=2)
    assert sorted(balanced_sample(langs, 500, seed=0)) == list(range(len(langs)))


def test_capped_parallel_set_is_language_balanced(tmp_path):
    rows = [{"source": f"s{i}", "target": f"t{i}", "lang": "it" if i < 90 else "ja"} for i in range(100)]
    path = tmp_path / "parallel.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    ir = tmp_path / "ir.jsonl"
    ir.write_text(json.dumps({"query": "q", "positive": "p", "negatives": [], "doc_id": "d"}) + "\n")
    args = DataArgs(ir_file=str(ir), parallel_file=str(path), max_parallel_pairs=10, balance_parallel_pairs=True)
    data = TrainingData(args, seed=0, load_monolingual=False)
    assert Counter(data.parallel["lang"]) == {"it": 5, "ja": 5}
    natural = TrainingData(DataArgs(ir_file=str(ir), parallel_file=str(path), max_parallel_pairs=10), seed=0,
                           load_monolingual=False)
    assert len(natural.parallel) == 10


def _model(scores: dict[str, list[float]], bias: float) -> dict:
    out = {bench: {"ndcg@10": sum(v) / len(v), "recall@100": 1.0} for bench, v in scores.items()}
    out["mixed"].update({"recall@100_same_lang": 1.0, "recall@100_other_lang": 0.9, "top10_share_query_lang": bias})
    out["_per_query"] = {bench: {f"q{i}": x for i, x in enumerate(v)} for bench, v in scores.items()}
    return out


def test_report_aggregates_seeds_and_compares_with_the_reference(tmp_path, capsys):
    benches = ["xling-de-en", "xling-da-en", "mono-de", "mixed"]
    low, high = [0.2, 0.4, 0.6, 0.8], [0.3, 0.5, 0.7, 0.9]
    results = {
        "base": _model({b: [0.1, 0.4, 0.5, 0.8] for b in benches}, 0.5),
        "ir-only-s1": _model({b: low for b in benches}, 0.3),
        "ir-only-s2": _model({b: high for b in benches}, 0.3),
        "lacl-500-s1": _model({b: high for b in benches}, 0.2),
        "lacl-500-s2": _model({b: [x + d for x, d in zip(high, (0.1, 0.14, 0.06, 0.1), strict=True)] for b in benches},
                              0.2),
    }
    payload = {"settings": {"benchmarks": [*benches, "other"]}, "results": results}
    assert [category(b) for b in benches] == ["xling-train", "xling-unseen", "mono", "mixed"]
    assert set(by_group(results)) == {"base", "ir-only", "lacl-500"} and set(by_group(results)["lacl-500"]) == {1, 2}
    text = report(payload)
    assert "| ir-only (2) | 0.550 ± 0.071 | 0.550 ± 0.071 | 0.550 ± 0.071 | 0.550 ± 0.071 |" in text
    assert "| lacl-500 | +0.100 (p=" in text and "n=4)" in text  # seed-averaged queries, paired
    assert "| lacl-500 (seeds 1, 2) | +0.100 / +0.100 (same sign)" in text
    assert "| ir-only: seed-to-seed range | 0.100 |" in text
    path = tmp_path / "results.json"
    path.write_text(json.dumps(payload))
    assert main([str(path), "--markdown", str(tmp_path / "study.md")]) == 0
    assert (tmp_path / "study.md").read_text() == capsys.readouterr().out == text
    with pytest.raises(ValueError, match="reference group"):
        report(payload, reference="nope")
    split = [{"settings": {"benchmarks": [b]}, "results": {
        m: {b: v[b], "_per_query": {b: v["_per_query"][b]}, "_seconds": 1.0} for m, v in results.items()}}
        for b in benches]  # one eval process per benchmark, as the study does with capped corpora
    assert report(merge(split)) == report({"settings": {"benchmarks": benches}, "results": results})
