"""The cluster is real and complete: plugins, modules, Painless, Lucene k-NN, hybrid fusion, analysis.

Four tiny documents with 3-d vectors make every expected order computable by hand:
``d3`` ("dog runs") is the best BM25 match for "dog" and the nearest vector to the query vector, so
both fusion pipelines must rank it first, then ``d2`` (second in both lists), then ``d1`` (k-NN only).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opensearchpy import OpenSearch
from opensearchpy.exceptions import RequestError

pytestmark = pytest.mark.integration

DOCS = {
    "d1": ("the quick brown fox jumps", [1.0, 0.0, 0.0]),
    "d2": ("a lazy dog sleeps all day long", [0.0, 1.0, 0.0]),
    "d3": ("dog runs", [0.6, 0.8, 0.0]),
    "d4": ("cats and mice", [0.0, 0.0, 1.0]),
}
QUERY_VECTOR = [0.6, 0.8, 0.0]
JAPANESE = "東京で美味しい寿司を食べました"


def _knn_index_body() -> dict:
    vector = {
        "type": "knn_vector",
        "dimension": 3,
        "method": {
            "name": "hnsw",
            "engine": "lucene",
            "space_type": "cosinesimil",
            "parameters": {"m": 16, "ef_construction": 64},
        },
    }
    return {
        "settings": {"index": {"knn": True, "number_of_shards": 1, "number_of_replicas": 0}},
        "mappings": {"properties": {"text": {"type": "text"}, "vec": vector}},
    }


@pytest.fixture
def vector_index(os_client: OpenSearch, index_name: str) -> str:
    """``index_name`` created with a lucene HNSW vector field and holding :data:`DOCS`."""
    os_client.indices.create(index=index_name, body=_knn_index_body())
    for doc_id, (text, vec) in DOCS.items():
        os_client.index(index=index_name, id=doc_id, body={"text": text, "vec": vec})
    os_client.indices.refresh(index=index_name)
    return index_name


@pytest.fixture
def search_pipeline(os_client: OpenSearch, index_name: str) -> Iterator[str]:
    """Name of a throw-away search pipeline (the test creates it; it is deleted afterwards)."""
    name = f"{index_name}-pipeline"
    yield name
    os_client.transport.perform_request("DELETE", f"/_search/pipeline/{name}", params={"ignore": 404})


def _hybrid_search(client: OpenSearch, index: str, pipeline: str) -> list[tuple[str, float]]:
    body = {
        "size": 10,
        "query": {
            "hybrid": {
                "queries": [
                    {"match": {"text": "dog"}},
                    {"knn": {"vec": {"vector": QUERY_VECTOR, "k": 3}}},
                ]
            }
        },
    }
    resp = client.search(index=index, body=body, params={"search_pipeline": pipeline})
    return [(hit["_id"], hit["_score"]) for hit in resp["hits"]["hits"]]


def test_plugins_installed(os_client: OpenSearch) -> None:
    components = {row["component"] for row in os_client.cat.plugins(format="json")}
    assert {"opensearch-knn", "opensearch-neural-search"} <= components


def test_modules_loaded(os_client: OpenSearch) -> None:
    nodes = os_client.nodes.info(metric="plugins")["nodes"]
    for node in nodes.values():
        modules = {module["name"] for module in node["modules"]}
        assert {"lang-painless", "analysis-common"} <= modules


def test_painless_executes(os_client: OpenSearch) -> None:
    body = {"script": {"source": "params.a + 1", "params": {"a": 41}}}
    resp = os_client.transport.perform_request("POST", "/_scripts/painless/_execute", body=body)
    assert resp["result"] == "42"


def test_lucene_knn_nearest_first(os_client: OpenSearch, vector_index: str) -> None:
    body = {"size": 2, "query": {"knn": {"vec": {"vector": [1.0, 0.05, 0.0], "k": 2}}}}
    hits = os_client.search(index=vector_index, body=body)["hits"]["hits"]
    assert [hit["_id"] for hit in hits] == ["d1", "d3"]
    assert hits[0]["_score"] > hits[1]["_score"]


def test_hybrid_min_max_normalisation(os_client: OpenSearch, vector_index: str, search_pipeline: str) -> None:
    processor = {
        "normalization": {"technique": "min_max"},
        "combination": {"technique": "arithmetic_mean", "parameters": {"weights": [0.3, 0.7]}},
    }
    body = {"phase_results_processors": [{"normalization-processor": processor}]}
    os_client.transport.perform_request("PUT", f"/_search/pipeline/{search_pipeline}", body=body)
    hits = _hybrid_search(os_client, vector_index, search_pipeline)
    assert [doc_id for doc_id, _ in hits] == ["d3", "d2", "d1"]
    assert all(0.0 <= score <= 1.0 for _, score in hits)
    assert hits[0][1] == pytest.approx(1.0, abs=1e-3)  # top of both normalised lists


def test_hybrid_rrf(os_client: OpenSearch, vector_index: str, search_pipeline: str) -> None:
    processor = {"combination": {"technique": "rrf", "rank_constant": 60}}
    body = {"phase_results_processors": [{"score-ranker-processor": processor}]}
    os_client.transport.perform_request("PUT", f"/_search/pipeline/{search_pipeline}", body=body)
    hits = _hybrid_search(os_client, vector_index, search_pipeline)
    assert [doc_id for doc_id, _ in hits] == ["d3", "d2", "d1"]
    # RRF (Cormack et al., SIGIR 2009): sum over lists of 1 / (rank_constant + rank).
    expected = [2 / 61, 2 / 62, 1 / 63]
    assert [score for _, score in hits] == pytest.approx(expected, abs=1e-4)


def test_cjk_analyzer_tokenises_japanese(os_client: OpenSearch) -> None:
    tokens = os_client.indices.analyze(body={"analyzer": "cjk", "text": JAPANESE})["tokens"]
    assert len(tokens) > 1


def test_icu_tokenizer_matches_installed_plugins(os_client: OpenSearch) -> None:
    """ICU is optional (not on Maven Central for 2.19): tokenise with it if installed, else it must be absent."""
    nodes = os_client.nodes.info(metric="plugins")["nodes"].values()
    has_icu = any(p["name"] == "analysis-icu" for node in nodes for p in node["plugins"] + node["modules"])
    body = {"tokenizer": "icu_tokenizer", "text": JAPANESE}
    if has_icu:
        assert len(os_client.indices.analyze(body=body)["tokens"]) > 1
    else:
        with pytest.raises(RequestError):
            os_client.indices.analyze(body=body)
