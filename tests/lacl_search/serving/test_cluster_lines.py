"""Both server lines, side by side: the version is read once per client, and every fusion option runs
on both, server-side where the line can (3.6: all four; 2.19: minmax and rrf) and on the client elsewhere."""

from __future__ import annotations

import uuid

import pytest
from opensearchpy import OpenSearch

from lacl_search.core.types import Fusion
from lacl_search.errors import ClusterError
from lacl_search.evaluation import beir
from lacl_search.serving import cluster
from lacl_search.serving.indexing import LoadOptions, load_documents
from lacl_search.serving.search import Searcher
from tests.support import FIXTURES
from tests.tiny_encoder import build_tiny_encoder

pytestmark = [pytest.mark.integration, pytest.mark.cluster]
MINI = FIXTURES / "beir-mini"
FOUR = ["minmax", "rrf", "zscore", "wrrf"]  # the score/rank fusions (language-aware fusion is tested apart)


class CountingClient(OpenSearch):
    """A real client that counts its ``GET /`` calls."""

    info_calls = 0

    def info(self, *args, **kwargs):
        self.info_calls += 1
        return super().info(*args, **kwargs)


@pytest.fixture(scope="module")
def tiny():
    return build_tiny_encoder(seed=3).eval()


@pytest.fixture(params=["2.19", "3.6"])
def line(request, os_client, node36_client, tiny):
    """``(client, alias)`` on each line, the beir-mini corpus loaded; deleted afterwards."""
    client = os_client if request.param == "2.19" else node36_client
    alias = f"test-lines-{request.param.replace('.', '')}-{uuid.uuid4().hex[:8]}"
    load_documents(client, alias, tiny, beir.iter_corpus(MINI), options=LoadOptions(model_name="tiny"))
    yield request.param, client, alias
    client.indices.delete(index=f"{alias}*", ignore_unavailable=True, expand_wildcards="all")


def test_capabilities_per_line(os_client, node36_client):
    old, new = cluster.capabilities(os_client), cluster.capabilities(node36_client)
    assert old.version[:2] == (2, 19) and new.version == (3, 6, 0)
    assert [f for f in old.server_fusions() if f in FOUR] == ["minmax", "rrf"]
    assert [f for f in new.server_fusions() if f in FOUR] == FOUR


def test_version_is_read_once_per_client(node36_client, tiny):
    client = CountingClient(hosts=node36_client.transport.hosts)
    alias = "test-lines-once"
    try:
        load_documents(client, alias, tiny, beir.iter_corpus(MINI), options=LoadOptions(model_name="tiny"))
        searcher = Searcher(client, index=alias, encoder=tiny)
        for fusion in FOUR:
            searcher.search("XML", mode="hybrid", k=3, fusion=fusion)
        Searcher(client, index=alias, encoder=tiny).search("XML", k=3)
        assert client.info_calls == 1
    finally:
        client.indices.delete(index=f"{alias}*", ignore_unavailable=True, expand_wildcards="all")


@pytest.mark.parametrize("fusion", FOUR)
def test_every_fusion_works_on_both_lines(line, tiny, fusion):
    name, client, alias = line
    searcher = Searcher(client, index=alias, encoder=tiny)
    weight = {} if fusion == "rrf" else {"weight": 0.3}  # rrf is unweighted: a weight would be refused
    hits = searcher.search("XML", mode="hybrid", k=5, fusion=fusion, **weight)
    assert len(hits) == 5 and any(h.doc_id.startswith("xml-") for h in hits[:2])
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    server = cluster.capabilities(client).server_fusion(Fusion(fusion))
    assert server == (name == "3.6" or fusion in ("minmax", "rrf"))
    if fusion in ("zscore", "wrrf"):  # 2.19 never gets such a pipeline: it would refuse it
        pipelines = client.transport.perform_request("GET", "/_search/pipeline")
        assert any(p.startswith(f"lacl-{fusion}") for p in pipelines) == (name == "3.6")
    client_side = Searcher(client, index=alias, encoder=tiny, fusion_side="client")
    assert client_side.search("XML", mode="hybrid", k=1, fusion=fusion, **weight)[0].doc_id == hits[0].doc_id


@pytest.mark.parametrize("fusion", ["zscore", "wrrf"])
def test_server_side_fusion_a_line_lacks_is_one_line_error(line, tiny, fusion):
    name, client, alias = line
    searcher = Searcher(client, index=alias, encoder=tiny, fusion_side="server")
    if name == "3.6":
        assert searcher.search("XML", mode="hybrid", k=3, fusion=fusion)
        return
    with pytest.raises(ClusterError, match=f"cannot fuse '{fusion}' server-side") as err:
        searcher.search("XML", mode="hybrid", k=3, fusion=fusion)
    assert "\n" not in str(err.value)
