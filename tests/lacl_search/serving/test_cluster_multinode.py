"""A 3-node cluster that loses a node without losing data: SIGKILL by pid, on loopback, bounded in time.

1. Kill the node holding a primary in the middle of an ingest of 3000 documents into an index with
   3 shards and 1 replica: the job finishes (the client retries on the other nodes), the index holds
   exactly the input's ids. Restart the node: green again, every document's ``_version`` unchanged
   (nothing re-ingested).
2. Kill a node while a loop of searches in all three modes runs: every search answers, with the
   same hits and scores as before the kill; after the restart they still do.

The numbers measured are printed (``-s`` shows them) and kept in ``MEASURED`` for the report.
"""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid

import pytest
from opensearchpy import OpenSearch
from opensearchpy.helpers import scan

from lacl_provision.opensearch.process import node_pids, start_cluster
from lacl_search.core import schema
from lacl_search.core.settings import ClusterSettings
from lacl_search.core.types import Document
from lacl_search.evaluation import beir
from lacl_search.serving.client import make_client
from lacl_search.serving.indexing import BulkOptions, LoadOptions, index_documents, load_documents
from lacl_search.serving.search import Searcher
from tests.support import FIXTURES
from tests.tiny_encoder import build_tiny_encoder

pytestmark = [pytest.mark.integration, pytest.mark.cluster]
MINI = FIXTURES / "beir-mini"
N_DOCS = 3000
DEADLINE = 240.0  # seconds any one wait may take
MEASURED: dict[str, object] = {}


@pytest.fixture(scope="module")
def tiny():
    return build_tiny_encoder(seed=3).eval()


@pytest.fixture
def cluster_client(three_nodes) -> OpenSearch:
    """A client given all three node URLs (it retries on another node when one dies)."""
    _, urls = three_nodes
    return make_client(ClusterSettings(url=",".join(urls), timeout=30.0))


@pytest.fixture
def index(cluster_client) -> str:
    name = f"test-multi-{uuid.uuid4().hex[:8]}"
    yield name
    cluster_client.indices.delete(index=f"{name}*", ignore_unavailable=True, expand_wildcards="all")


def _wait_green(client: OpenSearch) -> float:
    began = time.monotonic()
    health = client.cluster.health(wait_for_status="green", wait_for_nodes="3",
                                   params={"timeout": f"{int(DEADLINE)}s", "request_timeout": DEADLINE + 10})
    assert health["status"] == "green" and health["number_of_nodes"] == 3, health
    return time.monotonic() - began


def _wait_indexed(client: OpenSearch, index: str, at_least: int) -> None:
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        stats = client.indices.stats(index=index, metric="indexing")["_all"]["primaries"]["indexing"]
        if stats["index_total"] >= at_least:
            return
        time.sleep(0.2)
    raise AssertionError(f"fewer than {at_least} documents indexed after {DEADLINE:.0f}s")


def _primary_node_port(client: OpenSearch, index: str, spec) -> int:
    """The HTTP port of a node (not the cluster manager, when possible) holding a primary of ``index``."""
    shards = client.cat.shards(index=index, format="json")
    holders = {row["node"] for row in shards if row["prirep"] == "p" and row["state"] == "STARTED"}
    manager = client.transport.perform_request("GET", "/_cat/cluster_manager", params={"format": "json"})[0]["node"]
    name = sorted(holders - {manager} or holders)[0]
    return spec.port + int(name.rsplit("-", 1)[1])


def _kill(spec, port: int) -> int:
    pid = node_pids(spec)[spec.ports.index(port)]
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while os.path.exists(f"/proc/{pid}") and time.monotonic() < deadline:
        time.sleep(0.2)
    return pid


def _restart(spec, client: OpenSearch) -> float:
    """Start the killed node again; return the seconds from the start call until the cluster is green."""
    began = time.monotonic()
    start_cluster(spec, timeout=DEADLINE)
    _wait_green(client)
    return time.monotonic() - began


def _versions(client: OpenSearch, index: str) -> dict[str, int]:
    return {hit["_id"]: hit["_version"] for hit in scan(client, index=index, query={"_source": False},
                                                          version=True, size=1000)}


def test_node_killed_mid_ingest_loses_nothing_and_restart_reingests_nothing(three_nodes, cluster_client, index,
                                                                            tiny):
    spec, _ = three_nodes
    body = schema.index_body(tiny.dim, tiny.config.space_type, {"model": "tiny"})
    body["settings"]["index"].update({"number_of_shards": 3, "number_of_replicas": 1, "refresh_interval": "1s"})
    cluster_client.indices.create(index=index, body=body)
    _wait_green(cluster_client)
    half, killed = threading.Event(), threading.Event()

    def documents():
        for i in range(N_DOCS):
            if i == N_DOCS // 2:
                half.set()
                killed.wait(DEADLINE)  # the second half is written with one node down
            yield Document(f"doc-{i:05d}", f"document number {i} about topic {i % 37}", lang="en")

    result: dict[str, object] = {}
    job = threading.Thread(target=lambda: result.update(report=index_documents(
        cluster_client, index, tiny, documents(), options=BulkOptions(batch_size=64, chunk_size=100))))
    job.start()
    assert half.wait(DEADLINE)
    _wait_indexed(cluster_client, index, N_DOCS // 4)  # a good part is written before the kill
    victim = _primary_node_port(cluster_client, index, spec)
    began = time.monotonic()
    _kill(spec, victim)
    killed.set()
    job.join(DEADLINE)
    assert not job.is_alive(), "ingest did not finish in time"
    report = result["report"]
    cluster_client.indices.refresh(index=index)
    found = _versions(cluster_client, index)
    assert report.failed == 0, report.as_dict()
    assert cluster_client.count(index=index)["count"] == N_DOCS
    assert sorted(found) == [f"doc-{i:05d}" for i in range(N_DOCS)]
    seconds_to_green = _restart(spec, cluster_client)
    assert _versions(cluster_client, index) == found  # same ids, same versions: nothing written again
    assert cluster_client.count(index=index)["count"] == N_DOCS
    MEASURED["ingest"] = {"documents_in": N_DOCS, "documents_found": len(found), "killed_port": victim,
                          "ingest_seconds_after_kill": round(time.monotonic() - began - seconds_to_green, 1),
                          "seconds_to_green_after_restart": round(seconds_to_green, 1)}
    print("\nmulti-node ingest:", MEASURED["ingest"])


def _snapshot(searcher: Searcher, queries: list[str]) -> dict[tuple[str, str], list[tuple[str, float]]]:
    return {(mode, q): [(h.doc_id, round(h.score, 5)) for h in searcher.search(q, mode=mode, k=5)]
            for mode in ("bm25", "dense", "hybrid") for q in queries}


def test_searches_answer_identically_while_a_node_dies_and_after_it_returns(three_nodes, cluster_client, index,
                                                                           tiny):
    spec, _ = three_nodes
    target, report = load_documents(cluster_client, index, tiny, beir.iter_corpus(MINI),
                                    options=LoadOptions(model_name="tiny", replicas=1))
    assert report.failed == 0
    _wait_green(cluster_client)
    searcher = Searcher(cluster_client, index=index, encoder=tiny)
    queries = [q.text for q in beir.load_queries(MINI)][:4]
    before = _snapshot(searcher, queries)
    answered, wrong, errors, stop = [0, 0], [], [], threading.Event()  # answered before / after the kill
    killed_at: list[float] = []

    def loop():
        while not stop.is_set():
            for key, expected in before.items():
                try:
                    got = [(h.doc_id, round(h.score, 5)) for h in searcher.search(key[1], mode=key[0], k=5)]
                except Exception as exc:  # noqa: BLE001 - every failure is counted and reported
                    errors.append(f"{key}: {type(exc).__name__}: {exc}")
                    continue
                answered[1 if killed_at else 0] += 1
                if got != expected:
                    wrong.append((key, got, expected))

    worker = threading.Thread(target=loop)
    worker.start()
    time.sleep(2.0)
    victim = _primary_node_port(cluster_client, target, spec)
    _kill(spec, victim)
    killed_at.append(time.monotonic())
    time.sleep(15.0)
    stop.set()
    worker.join(DEADLINE)
    assert not worker.is_alive()
    assert errors == [] and wrong == [], (errors[:3], wrong[:3])
    assert answered[1] > 0
    seconds_to_green = _restart(spec, cluster_client)
    assert _snapshot(searcher, queries) == before
    MEASURED["search"] = {"searches_before_kill": answered[0], "searches_answered_after_kill": answered[1],
                          "failed_or_different": len(errors) + len(wrong), "killed_port": victim,
                          "seconds_to_green_after_restart": round(seconds_to_green, 1)}
    print("\nmulti-node search:", MEASURED["search"])
