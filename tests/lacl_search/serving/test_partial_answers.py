"""Answers that only some shards gave are retried, never returned with hits missing (no server needed)."""

from __future__ import annotations

import pytest

from lacl_search.errors import ClusterUnavailable
from lacl_search.serving import plan, search
from lacl_search.serving.search import Searcher

COMPLETE = {"_shards": {"total": 2, "successful": 2, "failed": 0},
            "hits": {"hits": [{"_id": "a", "_score": 2.0, "_source": {"text": "x"}}]}}
PARTIAL = {"_shards": {"total": 2, "successful": 1, "failed": 1,
                       "failures": [{"shard": 1, "reason": {"type": "node_disconnected_exception",
                                                             "reason": "node left"}}]},
           "hits": {"hits": []}}


class StubClient:
    """Answers ``search`` from a script of responses and counts the calls."""

    def __init__(self, answers: list[dict]) -> None:
        self.answers, self.calls = list(answers), 0

    def search(self, **_: object) -> dict:
        self.calls += 1
        return self.answers.pop(0)

    def msearch(self, **_: object) -> dict:
        self.calls += 1
        return {"responses": [COMPLETE, self.answers.pop(0)]}


def test_partial_failure_names_the_failed_shards():
    assert plan.partial_failure([COMPLETE]) is None
    assert plan.partial_failure([{}]) is None  # msearch error items carry no _shards
    assert plan.partial_failure([COMPLETE, PARTIAL]) == "1 of 2 shards did not answer: node left"


def test_a_partial_answer_is_retried_then_reported(monkeypatch):
    monkeypatch.setattr(search, "PARTIAL_BACKOFF", 0.0)
    client = StubClient([PARTIAL, COMPLETE])
    assert Searcher(client, index="docs")._search({"query": {"match_all": {}}}) == COMPLETE
    assert client.calls == 2
    client = StubClient([PARTIAL, COMPLETE])
    assert Searcher(client, index="docs")._msearch([{}, {}]) == [COMPLETE, COMPLETE]
    client = StubClient([PARTIAL] * (search.PARTIAL_RETRIES + 1))
    with pytest.raises(ClusterUnavailable, match=r"'docs': 1 of 2 shards did not answer: node left after 3"):
        Searcher(client, index="docs")._search({})
    assert client.calls == search.PARTIAL_RETRIES + 1


def test_the_async_searcher_retries_partial_answers_too(monkeypatch):
    import asyncio

    from lacl_search.serving.async_search import AsyncSearcher

    class AsyncStub(StubClient):
        async def search(self, **kwargs: object) -> dict:
            return StubClient.search(self, **kwargs)

    monkeypatch.setattr(search, "PARTIAL_BACKOFF", 0.0)
    client = AsyncStub([PARTIAL, COMPLETE])
    assert asyncio.run(AsyncSearcher(client, index="docs")._search({})) == COMPLETE and client.calls == 2
