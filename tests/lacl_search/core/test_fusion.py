import pytest

from lacl_search.core import fusion


def test_rrf_hand_computed():
    bm25 = {"a": 10.0, "b": 5.0}
    dense = {"b": 0.9, "c": 0.8}
    fused = fusion.reciprocal_rank_fusion([bm25, dense], k=60)
    assert fused["a"] == pytest.approx(1 / 61)
    assert fused["b"] == pytest.approx(1 / 62 + 1 / 61)
    assert fused["c"] == pytest.approx(1 / 62)
    assert [d for d, _ in fusion.top_k(fused, 3)] == ["b", "a", "c"]


def test_min_max_guards_equal_scores():
    assert fusion.min_max_normalize({"a": 3.0, "b": 3.0}) == {"a": 1.0, "b": 1.0}
    assert fusion.min_max_normalize({}) == {}


def test_min_max_fusion_hand_computed():
    bm25 = {"a": 10.0, "b": 5.0, "c": 0.0}   # -> 1, 0.5, 0
    dense = {"b": 0.9, "c": 0.5}              # -> 1, 0
    fused = fusion.min_max_fusion([bm25, dense], [0.3, 0.7])
    assert fused == pytest.approx({"a": 0.3, "b": 0.3 * 0.5 + 0.7, "c": 0.0})


def test_inputs_are_not_mutated():
    run = {"a": 2.0, "b": 1.0}
    fusion.min_max_fusion([run], [1.0])
    fusion.reciprocal_rank_fusion([run])
    assert run == {"a": 2.0, "b": 1.0}


def test_weight_count_checked():
    with pytest.raises(ValueError):
        fusion.min_max_fusion([{"a": 1.0}], [0.5, 0.5])
    with pytest.raises(ValueError):
        fusion.reciprocal_rank_fusion([{"a": 1.0}], k=0)
