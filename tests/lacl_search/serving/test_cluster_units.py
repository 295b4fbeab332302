"""Pure parts of cluster support: several hosts in the settings, capabilities per line, where each
fusion runs, the 3.x pipeline bodies, and z-score fusion (golden tables, no server)."""

from __future__ import annotations

import argparse

import pytest

from lacl_search.core import fusion, queries
from lacl_search.core.settings import ClusterSettings
from lacl_search.core.types import Fusion
from lacl_search.errors import ClusterError
from lacl_search.serving import cluster

FOUR = ("minmax", "rrf", "zscore", "wrrf")  # the score/rank fusions (language-aware fusion is tested apart)


def test_comma_separated_urls_become_hosts_without_user_info():
    s = ClusterSettings(url="https://bob:s3cret@a:9200, https://b:9200")
    assert s.hosts == ["https://a:9200", "https://b:9200"]
    assert (s.user, s.password) == ("bob", "s3cret") and "s3cret" not in s.safe_url() + repr(s)
    assert s.use_ssl


def test_mixed_schemes_are_refused():
    with pytest.raises(ValueError, match="same scheme"):
        ClusterSettings(url="http://a:9200,https://b:9200")


def test_repeated_url_flag_joins_hosts():
    parser = argparse.ArgumentParser()
    ClusterSettings.add_arguments(parser)
    args = parser.parse_args(["--url", "http://a:9200", "--url", "http://b:9201"])
    assert ClusterSettings.from_args(args, environ={}).hosts == ["http://a:9200", "http://b:9201"]
    assert ClusterSettings.from_env({"OPENSEARCH_URL": "http://a:1,http://b:2"}).hosts == ["http://a:1", "http://b:2"]


@pytest.mark.parametrize(("number", "plugins", "expected"), [
    ("2.19.6", True, ["minmax", "rrf"]),
    ("2.17.1", True, ["minmax"]),
    ("3.6.0", True, ["minmax", "rrf", "zscore", "wrrf"]),
    ("3.6.0", False, []),
])
def test_server_fusions_per_line(number, plugins, expected):
    rows = [{"component": cluster.NEURAL_PLUGIN}] if plugins else [{"component": "opensearch-knn"}]
    caps = cluster.capabilities_from({"version": {"number": number, "distribution": "opensearch"}}, rows)
    assert [f for f in caps.server_fusions() if f in FOUR] == expected


@pytest.mark.parametrize(("requested", "fusion", "number", "side"), [
    ("auto", Fusion.ZSCORE, "2.19.6", "client"),
    ("auto", Fusion.ZSCORE, "3.6.0", "server"),
    ("auto", Fusion.RRF, "2.19.6", "server"),
    ("client", Fusion.MINMAX, "3.6.0", "client"),
    ("server", Fusion.WRRF, "3.6.0", "server"),
])
def test_fusion_side(requested, fusion, number, side):
    caps = cluster.Capabilities(tuple(int(x) for x in number.split(".")))
    assert cluster.fusion_side(requested, fusion, caps) == side


def test_server_side_fusion_the_line_lacks_is_one_line():
    with pytest.raises(ClusterError, match=r"^OpenSearch 2.19.6 cannot fuse 'wrrf' server-side \(it needs"):
        cluster.fusion_side("server", Fusion.WRRF, cluster.Capabilities((2, 19, 6)))


def test_3x_pipeline_bodies():
    zscore = queries.normalization_pipeline([0.3, 0.7], "z_score")
    assert zscore["phase_results_processors"] == [{"normalization-processor": {
        "normalization": {"technique": "z_score"},
        "combination": {"technique": "arithmetic_mean", "parameters": {"weights": [0.3, 0.7]}}}}]
    assert queries.rrf_pipeline(weights=[0.3, 0.7])["phase_results_processors"] == [{"score-ranker-processor": {
        "combination": {"technique": "rrf", "rank_constant": 60, "parameters": {"weights": [0.3, 0.7]}}}}]
    with pytest.raises(ValueError):
        queries.normalization_pipeline([0.3, 0.3], "z_score")


def test_z_score_guards_zero_spread_and_fuses_weighted():
    assert fusion.z_score_normalize({"a": 2.0, "b": 2.0}) == {"a": 0.0, "b": 0.0}
    assert fusion.z_score_normalize({}) == {}
    assert fusion.z_score_normalize({"a": 3.0, "b": 1.0}) == {"a": 1.0, "b": -1.0}
    fused = fusion.z_score_fusion([{"a": 3.0, "b": 1.0}, {"b": 5.0, "c": 1.0}], [0.25, 0.75])
    assert fused == pytest.approx({"a": 0.25, "b": -0.25 + 0.75, "c": -0.75})


def test_weighted_rrf_equals_plain_rrf_scaled_for_equal_weights():
    runs = [{"a": 3.0, "b": 1.0}, {"b": 5.0, "c": 1.0}]
    plain = fusion.reciprocal_rank_fusion(runs)
    weighted = fusion.reciprocal_rank_fusion(runs, weights=[0.5, 0.5])
    assert weighted == pytest.approx({d: s / 2 for d, s in plain.items()})
