"""The learned fusion: its features (golden table), the numpy tree evaluator against LightGBM, validation."""

import numpy as np
import pytest

from lacl_search.core import fusion_ranker
from lacl_search.core.fusion_profile import FusionProfile
from lacl_search.core.fusion_ranker import FEATURES, TreeRanker, features, from_lightgbm
from lacl_search.errors import ConfigError

LEGS = {"bm25_same": {"a": 2.0, "b": 1.0}, "bm25_other": {"c": 4.0},
        "dense": {"a": 0.9, "c": 0.7, "d": 0.5}, "bm25_base": {"z": 3.0}, "dense_translated": {"c": 0.8, "e": 0.6}}


def test_features_golden():
    docs, matrix = features(LEGS, "de", covered=True, weights=(0.2, 0.3, 0.5))
    assert docs == ["a", "b", "c", "d", "e"]  # bm25_base is not a leg of a query with a language: z is no candidate
    #  same: mm rr found | other | dense | base | translated dense | profile | known covered en gap induced
    golden = [[1, 1, 1, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0.7, 1, 1, 0, 0.4, 0],
              [0, 0.5, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0.0, 1, 1, 0, 0.4, 0],
              [0, 0, 0, 1, 1, 1, 0.5, 0.5, 1, 0, 0, 0, 1, 1, 1, 0.55, 1, 1, 0, 0.4, 0],
              [0, 0, 0, 0, 0, 0, 0, 1 / 3, 1, 0, 0, 0, 0, 0, 0, 0.0, 1, 1, 0, 0.4, 0],
              [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0.5, 1, 0.0, 1, 1, 0, 0.4, 0]]
    assert matrix.shape == (5, len(FEATURES)) and matrix.dtype == np.float32
    np.testing.assert_allclose(matrix, np.asarray(golden, dtype=np.float32), atol=1e-6)


def test_features_of_a_query_of_unknown_language_use_plain_bm25():
    docs, matrix = features(LEGS, None, covered=True, weights=(0.5, 0.5))
    assert docs == ["a", "c", "d", "z"]  # and no translated dense leg: nothing was translated
    base = [FEATURES.index(f"bm25_base:{k}") for k in ("mm", "rr", "found")]
    np.testing.assert_allclose(matrix[3, base], [1, 1, 1])
    query = matrix[:, FEATURES.index("lang_known"):FEATURES.index("lang_en") + 1]
    assert not query.any()  # not known, so not covered either
    assert features({}, "de", covered=False, weights=(0.2, 0.3, 0.5))[1].shape == (0, len(FEATURES))


def test_the_induced_flag_is_set_for_a_query_of_known_language_only():
    column = FEATURES.index("lang_induced")
    _, matrix = features(LEGS, "cs", covered=False, weights=(0.2, 0.3, 0.5), induced=True)
    assert (matrix[:, column] == 1).all() and not matrix[:, FEATURES.index("lang_covered")].any()
    _, unknown = features(LEGS, None, covered=False, weights=(0.5, 0.5), induced=True)
    assert not unknown[:, column].any()


def test_a_ranker_induces_when_it_was_fitted_with_the_induced_flag():
    assert TreeRanker(trees=(_tree("dense:mm", 0.5, 0, 1),)).induces  # all FEATURES: fitted with it
    older = TreeRanker(trees=(_tree("dense:mm", 0.5, 0, 1),), features=FEATURES[:-1])
    assert not older.induces and older.fuse(LEGS, "de", covered=True, weights=(0.2, 0.3, 0.5))["a"] == 1


def _tree(feature, threshold, low, high):
    """One split on ``feature``: ``low`` when x <= threshold, else ``high``."""
    return {"feature": [FEATURES.index(feature), -1, -1], "threshold": [threshold, 0, 0], "left": [1, 0, 0],
            "right": [2, 0, 0], "value": [0, low, high]}


def test_hand_built_trees_sum_their_leaves():
    ranker = TreeRanker(trees=(_tree("bm25_other:found", 0.5, 0.0, 2.0), _tree("dense:mm", 0.25, -1.0, 0.5)))
    fused = ranker.fuse(LEGS, "de", covered=False, weights=(0.2, 0.3, 0.5))
    assert fused == {"a": 0.5, "b": -1.0, "c": 2.5, "d": -1.0, "e": -1.0}
    assert not ranker.uses_translated_dense
    assert TreeRanker(trees=(_tree("dense_translated:rr", 0.5, 0, 1),)).uses_translated_dense


def test_a_ranker_fitted_on_fewer_features_reads_its_own_columns():
    """A ranker stored before a leg was added names its features: its split indices are positions in that
    list, and it still scores the same candidates the same way."""
    older = ["dense:mm", "bm25_other:found"]
    split = {"feature": [1, -1, -1], "threshold": [0.5, 0, 0], "left": [1, 0, 0], "right": [2, 0, 0],
             "value": [0, 0.0, 2.0]}
    ranker = TreeRanker.from_dict({"features": older, "trees": [split]})
    assert ranker.fuse(LEGS, "de", covered=True, weights=(0.2, 0.3, 0.5)) == {"a": 0, "b": 0, "c": 2, "d": 0, "e": 0}
    assert not ranker.uses_translated_dense


def test_the_evaluator_reproduces_lightgbm():
    import lightgbm
    rng = np.random.default_rng(0)
    x = rng.random((600, len(FEATURES))).astype(np.float32)
    y = (x[:, 0] + x[:, 7] * x[:, 12] > 0.9).astype(int) + (x[:, 6] > 0.8)
    booster = lightgbm.train({"objective": "lambdarank", "num_leaves": 7, "min_data_in_leaf": 5, "verbose": -1,
                              "deterministic": True, "force_row_wise": True, "num_threads": 1},
                             lightgbm.Dataset(x, y, group=[30] * 20), num_boost_round=20)
    ranker = from_lightgbm(booster.dump_model())
    probe = rng.random((200, len(FEATURES))).astype(np.float32)
    np.testing.assert_allclose(ranker.score(probe), booster.predict(probe), rtol=1e-9, atol=1e-9)
    # the exact thresholds, where "<=" decides: the same side as LightGBM
    edges = np.tile(probe[:1], (len(ranker.trees), 1))
    for i, tree in enumerate(ranker.trees):
        if tree["feature"][0] >= 0:
            edges[i, tree["feature"][0]] = np.float32(tree["threshold"][0])
    np.testing.assert_allclose(ranker.score(edges), booster.predict(edges), rtol=1e-9, atol=1e-9)


def test_profile_round_trip_keeps_the_ranker_and_its_scores():
    ranker = TreeRanker(trees=(_tree("dense:rr", 0.4, 1.0, 3.0),))
    profile = FusionProfile(encoder_fingerprint="f", languages={"*": (0.2, 0.3, 0.5)}, ranker=ranker)
    text = profile.to_json()
    again = FusionProfile.from_json(text)
    assert again == profile and again.ranker.fuse(LEGS, "de", covered=True, weights=(1, 1, 1)) == \
        ranker.fuse(LEGS, "de", covered=True, weights=(1, 1, 1))
    assert '"*": [\n' in text and text.count("\n") < 40  # weights readable, the trees on one line
    assert FusionProfile.from_json(FusionProfile(encoder_fingerprint="f", languages={"*": (1, 0, 0)})
                                   .to_json()).ranker is None


@pytest.mark.parametrize(("data", "message"), [
    ({"features": ["dense:mm", "dense:z"], "trees": [_tree("dense:mm", 0.5, 0, 1)]}, "does not compute"),
    ({"features": ["dense:mm"], "trees": [_tree("dense:rr", 0.5, 0, 1)]}, "points outside"),
    ({"features": list(FEATURES), "trees": []}, "at least one tree"),
    ({"features": list(FEATURES), "trees": [{**_tree("dense:mm", 0.5, 0, 1), "left": [7, 0, 0]}]}, "points outside"),
    ({"features": list(FEATURES), "trees": [{**_tree("dense:mm", 0.5, 0, 1), "value": [0]}]}, "different lengths"),
    ({"trees": []}, "not a fusion ranker"),
])
def test_invalid_rankers_are_one_line_config_errors(data, message):
    with pytest.raises(ConfigError, match=message):
        fusion_ranker.TreeRanker.from_dict(data)
