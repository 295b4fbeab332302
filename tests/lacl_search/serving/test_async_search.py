"""The asyncio twin answers exactly what the blocking searcher answers, on a real OpenSearch."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from lacl_search.core.settings import ClusterSettings
from lacl_search.errors import IndexMissing
from lacl_search.evaluation import beir
from lacl_search.serving.async_search import AsyncSearcher, make_async_client
from lacl_search.serving.indexing import LoadOptions, load_documents
from lacl_search.serving.search import Searcher
from tests.support import FIXTURES
from tests.tiny_encoder import build_tiny_encoder

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("side", ["server", "client"])
def test_async_searcher_matches_the_blocking_one(opensearch_url, os_client, index_name, side):
    tiny = build_tiny_encoder(seed=3).eval()
    load_documents(os_client, index_name, tiny, beir.iter_corpus(FIXTURES / "beir-mini"),
                   options=LoadOptions(model_name="tiny"))
    blocking = Searcher(os_client, index=index_name, encoder=tiny, fusion_side=side)
    settings = dataclasses.replace(ClusterSettings.from_env(), url=opensearch_url)
    cases = [dict(mode="bm25", k=3), dict(mode="dense", k=4, langs=["ja"]), dict(mode="hybrid", k=5, offset=2),
             dict(mode="hybrid", k=3, fusion="rrf")]

    async def run() -> list[list[str]]:
        searcher = AsyncSearcher(make_async_client(settings), index=index_name, encoder=tiny, fusion_side=side)
        try:
            found = [await searcher.search("XML web server", **case) for case in cases]
            with pytest.raises(IndexMissing):
                await AsyncSearcher(searcher.client, index="no-such-index-xyz").search("x", mode="bm25")
            return [[h.doc_id for h in hits] for hits in found]
        finally:
            await searcher.close()

    expected = [[h.doc_id for h in blocking.search("XML web server", **case)] for case in cases]
    assert asyncio.run(run()) == expected and all(expected)
