"""Fitting language-aware fusion weights on saved leg runs: the grid, the per-language choice, fallbacks."""

import pytest

from lacl_search.evaluation.fusion_fit import LegRuns, fit_profile, fuse_benchmark, fuse_query, simplex


def test_simplex_covers_the_grid():
    points = simplex(3, 0.5)
    assert sorted(points) == sorted([(0, 0, 1), (0, 0.5, 0.5), (0, 1, 0), (0.5, 0, 0.5), (0.5, 0.5, 0), (1, 0, 0)])
    assert len(simplex(3, 0.1)) == 66 and all(abs(sum(p) - 1) < 1e-9 for p in simplex(2, 0.1))


def _bench():
    """German queries are answered by the same-language leg, French ones by dense; q3's language is unknown
    and only plain BM25 (bm25_base) finds its document."""
    legs = {
        "bm25_same": {"q1": {"d1": 5.0, "x": 4.0}, "q2": {"x": 3.0, "y": 1.0}},
        "bm25_other": {"q1": {"y": 9.0, "z": 1.0}, "q2": {"z": 2.0, "y": 1.0}},
        "dense": {"q1": {"x": 0.9, "d1": 0.1}, "q2": {"d2": 0.9, "x": 0.8}, "q3": {"x": 0.9, "d3": 0.8}},
        "bm25_base": {"q3": {"d3": 2.0, "x": 1.0}},
    }
    langs = {"q1": "de", "q2": "fr", "q3": None}
    qrels = {"q1": {"d1": 1}, "q2": {"d2": 1}, "q3": {"d3": 1}}
    return LegRuns("toy", legs, langs, qrels)


def test_fit_picks_the_leg_that_answers_each_language():
    profile = fit_profile([_bench()], languages=["de", "fr"], encoder_fingerprint="f", step=0.5, min_queries=1)
    same, other, dense = profile.weights_for("de")
    assert same > dense and same > other
    assert profile.weights_for("fr")[2] == max(profile.weights_for("fr"))
    bm25, dense = profile.weights_for(None)
    assert bm25 > dense
    fused = fuse_benchmark(_bench(), profile)
    assert [max(fused[q], key=fused[q].get) for q in ("q1", "q2", "q3")] == ["d1", "d2", "d3"]


def test_languages_outside_the_fit_use_the_fallback():
    profile = fit_profile([_bench()], languages=["de"], encoder_fingerprint="f", step=0.5, min_queries=1)
    assert "fr" not in profile.languages and profile.weights_for("fr") == profile.languages["*"]


def test_fuse_query_is_min_max_per_leg():
    fused = fuse_query(_bench().legs, "q1", "de", (0.5, 0.0, 0.5))
    assert fused == pytest.approx({"d1": 0.5 * 1 + 0.5 * 0, "x": 0.5 * 0 + 0.5 * 1, "y": 0, "z": 0})
