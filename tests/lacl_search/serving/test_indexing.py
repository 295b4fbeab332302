"""The write path: byte-aware chunks, incremental re-runs, safe and resumable rebuilds, outages, real 429s."""

from __future__ import annotations

import pytest
from opensearchpy import OpenSearch
from opensearchpy.exceptions import ConnectionError as OSConnectionError

from lacl_search.serving import indexing
from lacl_search.serving.indexing import BulkOptions, Document, LoadOptions, index_documents
from lacl_search.serving.indexing.bulk import Action, chunks
from tests.lacl_search.serving.throttled_node import throttled_node
from tests.tiny_encoder import build_tiny_encoder

FAST = {"initial_backoff": 0.01, "max_backoff": 0.05}


@pytest.fixture(scope="module")
def tiny():
    return build_tiny_encoder(seed=3).eval()


def corpus(n: int, version: str = "") -> list[Document]:
    return [Document(f"d{i:04d}", f"release notes number {i} {version}".strip(), lang="en") for i in range(n)]


class FailingBulkClient(OpenSearch):
    """A real client whose ``bulk`` calls ``fail_from`` .. ``fail_to`` (1-based) raise a connection error."""

    def __init__(self, *args, fail_from: int, fail_to: int = 10**9, **kwargs):
        super().__init__(*args, **kwargs)
        self.fail_from, self.fail_to, self.calls = fail_from, fail_to, 0

    def bulk(self, *args, **kwargs):
        self.calls += 1
        if self.fail_from <= self.calls <= self.fail_to:
            raise OSConnectionError("N/A", "simulated outage", None)
        return super().bulk(*args, **kwargs)


# ------------------------------------------------------------------------------------------- pure
def test_chunks_are_bounded_by_count_and_by_bytes():
    actions = [Action(f"d{i}", "new", b"x" * size) for i, size in enumerate([10, 10, 10, 50, 10, 200, 10])]
    sizes = [[len(a.payload) for a in chunk] for chunk in chunks(actions, chunk_size=3, max_chunk_bytes=60)]
    assert sizes == [[10, 10, 10], [50, 10], [200], [10]]  # an oversized action travels alone


def test_content_hash_covers_text_title_lang_metadata_and_model():
    doc = Document("a", "Hallo Welt", "Titel", "de", {"year": 2020})
    key = indexing.model_key("fp1", "passage: ")
    base = indexing.content_hash(doc, key)
    assert base == indexing.content_hash(Document("a", "Hallo Welt", "Titel", "de", {"year": 2020}), key)
    variants = [Document("a", "Hallo Welt!", "Titel", "de", {"year": 2020}),
                Document("a", "Hallo Welt", None, "de", {"year": 2020}),
                Document("a", "Hallo Welt", "Titel", None, {"year": 2020}),
                Document("a", "Hallo Welt", "Titel", "de", {"year": 2021})]
    hashes = {indexing.content_hash(d, key) for d in variants}
    hashes |= {indexing.content_hash(doc, indexing.model_key("fp2", "passage: ")),
               indexing.content_hash(doc, indexing.model_key("fp1", "query: "))}
    assert base not in hashes and len(hashes) == 6


def test_encoder_windows_are_large_on_a_gpu(tiny, monkeypatch):
    import torch

    from lacl_search.core.encoder import Encoder
    from lacl_search.serving.indexing.pipeline import GPU_WINDOW, SORT_WINDOW_BATCHES, Embedder

    assert Embedder(None, "i", tiny, batch_size=32, incremental=False).window == 32 * SORT_WINDOW_BATCHES
    monkeypatch.setattr(Encoder, "device", property(lambda self: torch.device("cuda")))
    assert Embedder(None, "i", tiny, batch_size=32, incremental=False).window == GPU_WINDOW


def test_bulk_options_validate():
    with pytest.raises(ValueError, match="concurrency"):
        BulkOptions(concurrency=0)
    assert 0.5 <= BulkOptions(initial_backoff=1, max_backoff=4).backoff(5) <= 4


# ------------------------------------------------------------------------------ against OpenSearch


@pytest.mark.integration
def test_rerun_skips_unchanged_updates_changed_and_deletes_missing_on_request(os_client, index_name, tiny):
    docs = corpus(40)
    index, first = indexing.load_documents(os_client, index_name, tiny, docs, options=LoadOptions(model_name="t"))
    assert (first.new, first.encoded, first.failed) == (40, 40, 0)
    _, again = indexing.load_documents(os_client, index_name, tiny, docs)
    assert (again.skipped, again.encoded, again.new, again.updated, again.indexed) == (40, 0, 0, 0, 40)
    changed = docs[:2] + [Document("d0002", "a changed text", lang="en")] + docs[3:38] + [Document("x", "new one")]
    result, third = indexing.load(os_client, index_name, tiny, changed, options=LoadOptions(delete_missing=True))
    assert result.index == index and result.mode == "existing"
    assert (third.skipped, third.updated, third.new, third.encoded, third.deleted) == (37, 1, 1, 2, 2)
    assert os_client.count(index=index_name)["count"] == 39
    assert os_client.get(index=index_name, id="d0002")["_source"]["text"] == "a changed text"
    assert not os_client.exists(index=index_name, id="d0039")


@pytest.mark.integration
def test_transient_outage_is_ridden_out(opensearch_url, os_client, index_name, tiny):
    index = indexing.create_index(os_client, index_name, tiny, "tiny")
    client = FailingBulkClient(hosts=[opensearch_url], fail_from=2, fail_to=3)
    report = index_documents(client, index, tiny, corpus(10),
                             options=BulkOptions(batch_size=4, chunk_size=4, concurrency=1, **FAST))
    assert (report.indexed, report.failed, report.connection_errors, report.retries) == (10, 0, 2, 2)


@pytest.mark.integration
def test_outage_past_retries_lists_unwritten_documents_without_encoding_them(opensearch_url, os_client,
                                                                            index_name, tiny):
    index = indexing.create_index(os_client, index_name, tiny, "tiny")
    client = FailingBulkClient(hosts=[opensearch_url], fail_from=2)
    failures: list[str] = []
    options = BulkOptions(batch_size=4, chunk_size=4, concurrency=1, max_retries=2, **FAST)
    report = index_documents(client, index, tiny, corpus(600), options=options,
                             on_failure=lambda doc_id, reason: failures.append(doc_id))
    assert report.outage and report.indexed == 4 and report.failed == 596 == len(set(failures))
    assert report.encoded < 600  # the input after the outage is listed, not encoded
    assert report.connection_errors == 3 and "d0000" not in failures


@pytest.mark.integration
def test_failed_rebuild_keeps_old_index_serving_and_resumes(opensearch_url, os_client, index_name, tiny):
    old, _ = indexing.load_documents(os_client, index_name, tiny, corpus(300), options=LoadOptions(model_name="t"))
    flaky = FailingBulkClient(hosts=[opensearch_url], fail_from=3)
    rebuild = LoadOptions(model_name="t", rebuild=True, bulk=BulkOptions(chunk_size=50, concurrency=1, max_retries=1,
                                                                         **FAST))
    new_docs = corpus(300, version="v2")
    result, report = indexing.load(flaky, index_name, tiny, new_docs, options=rebuild)
    assert result.mode == "new" and not result.switched and report.failed > 0 and "incomplete" in result.problem
    assert indexing.alias_targets(os_client, index_name) == [old]  # the old index keeps serving, complete
    assert os_client.count(index=index_name)["count"] == 300
    assert os_client.indices.exists(index=result.index)  # kept for the next run
    written = report.new
    resumed, again = indexing.load(os_client, index_name, tiny, new_docs, options=rebuild)
    assert resumed.index == result.index and resumed.mode == "resumed" and resumed.switched
    assert (again.skipped, again.encoded, again.new) == (written, 300 - written, 300 - written)
    assert indexing.alias_targets(os_client, index_name) == [result.index]
    assert not os_client.indices.exists(index=old)  # deleted only after the successful switch
    meta = indexing.index_meta(os_client, result.index)
    assert meta["build_state"] == "complete"


@pytest.mark.integration
def test_rebuild_keep_old_keeps_the_previous_index(os_client, index_name, tiny):
    old, _ = indexing.load_documents(os_client, index_name, tiny, corpus(5))
    new, report = indexing.load_documents(os_client, index_name, tiny, corpus(5),
                                          options=LoadOptions(rebuild=True, keep_old=True))
    assert new != old and report.new == 5 and os_client.indices.exists(index=old)
    assert indexing.alias_targets(os_client, index_name) == [new]
    assert indexing.find_unfinished(os_client, index_name, tiny.fingerprint()) is None


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.timeout(300)
def test_429_storm_on_a_real_node_loses_nothing_and_duplicates_nothing(tiny):
    n = 2000
    with throttled_node() as url:
        client = OpenSearch(hosts=[url], timeout=60)
        index = indexing.create_index(client, "storm", tiny, "tiny")
        options = BulkOptions(batch_size=64, chunk_size=10, concurrency=6, max_retries=40, initial_backoff=0.02,
                              max_backoff=0.5)
        report = index_documents(client, index, tiny, corpus(n), options=options, incremental=False)
        client.indices.refresh(index=index)
        versions = [h["_version"] for h in client.search(index=index, body={"size": n, "version": True,
                                                                            "_source": False})["hits"]["hits"]]
    assert report.throttled > 0 and report.retries > 0, report.as_dict()
    assert (report.indexed, report.failed) == (n, 0) and len(versions) == n and set(versions) == {1}
    print(f"429 storm: {report.throttled} 429 answers, {report.retries} re-sent requests, {n} documents once")
