"""Ingest -> search in every mode -> eval, against a real OpenSearch, on a 4-language fixture corpus."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from opensearchpy import OpenSearch
from opensearchpy.exceptions import ConnectionError as OSConnectionError

from lacl_search import indices
from lacl_search.client import ClusterUnavailable, check_cluster, make_client
from lacl_search.evaluation import beir
from lacl_search.evaluation.runner import EvalConfig, run
from lacl_search.indexing import Document, index_documents
from lacl_search.loader import LoadOptions, load_documents
from lacl_search.search import IndexMissing, Searcher
from lacl_search.settings import ClusterSettings
from tests.tiny_encoder import build_tiny_encoder

pytestmark = pytest.mark.integration
MINI = Path(__file__).resolve().parents[1] / "fixtures" / "beir-mini"


@pytest.fixture(scope="module")
def tiny():
    return build_tiny_encoder(seed=3).eval()


@pytest.fixture
def loaded(os_client, index_name, tiny):
    index, report = load_documents(os_client, index_name, tiny, beir.iter_corpus(MINI), LoadOptions(model_name="tiny"))
    assert report.indexed == 12 and report.failed == 0
    return index


def test_index_is_versioned_behind_alias_with_lucene_vectors(os_client, index_name, loaded):
    assert indices.alias_targets(os_client, index_name) == [loaded]
    mapping = os_client.indices.get_mapping(index=loaded)[loaded]["mappings"]
    assert mapping["properties"]["vector"]["method"]["engine"] == "lucene"
    assert mapping["_meta"]["model"] == "tiny" and mapping["_meta"]["dim"] == 32
    settings = os_client.indices.get_settings(index=loaded)[loaded]["settings"]["index"]
    assert settings["refresh_interval"] == "1s"


def test_bm25_uses_language_fields_highlights_and_filters(os_client, index_name, loaded, tiny):
    searcher = Searcher(os_client, tiny, index_name)
    hits = searcher.search("Bibliothek XML Dokumente", "bm25", k=3)
    assert hits[0].doc_id == "xml-de" and hits[0].scores["bm25"] == hits[0].score
    assert any("<em>" in h for h in hits[0].highlights)
    # the german analyzer stems "Dokumenten" -> matches "Dokumente" only through text_i18n.de
    only_fr = searcher.search("images", "bm25", k=5, langs=["fr"])
    assert only_fr and {h.lang for h in only_fr} == {"fr"}


@pytest.mark.parametrize("fusion_method", ["minmax", "rrf"])
@pytest.mark.parametrize("side", ["server", "client"])
def test_hybrid_fuses_with_score_parts(os_client, index_name, loaded, tiny, side, fusion_method):
    searcher = Searcher(os_client, tiny, index_name, fusion_side=side)
    hits = searcher.search("XML", "hybrid", k=5, fusion_method=fusion_method, weight=0.3)
    assert len(hits) == 5 and any(h.doc_id.startswith("xml-") for h in hits[:2])
    assert all(h.scores["fused"] == pytest.approx(h.score) for h in hits)
    assert all(h.scores["dense"] is not None for h in hits)
    assert any(h.scores["bm25"] is not None for h in hits)
    if fusion_method == "minmax":
        assert all(0.0 <= h.score <= 1.0 + 1e-6 for h in hits)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_dense_with_language_filter(os_client, index_name, loaded, tiny):
    hits = Searcher(os_client, tiny, index_name).search("web server", "dense", k=4, langs=["ja"])
    assert {h.doc_id for h in hits} == {"xml-ja", "web-ja"}
    assert all(h.scores["dense"] is not None and h.scores["bm25"] is None for h in hits)


def test_check_cluster_and_credential_free_errors(opensearch_url, os_client):
    settings = ClusterSettings(url=opensearch_url)
    assert check_cluster(make_client(settings), settings)["status"] in ("green", "yellow")
    dead = ClusterSettings(url="http://127.0.0.1:9", user="admin", password="s3cret-pw", timeout=2)
    with pytest.raises(ClusterUnavailable) as err:
        check_cluster(make_client(dead), dead)
    assert "s3cret-pw" not in str(err.value) and "127.0.0.1:9" in str(err.value)


def test_missing_index_is_a_clear_error(os_client, tiny):
    with pytest.raises(IndexMissing, match="does not exist"):
        Searcher(os_client, tiny, "no-such-index-xyz").search("x", "bm25")


def test_reingest_is_idempotent_and_rebuild_switches_alias(os_client, index_name, loaded, tiny):
    again, report = load_documents(os_client, index_name, tiny, beir.iter_corpus(MINI))
    assert again == loaded and report.indexed == 12
    assert os_client.count(index=index_name)["count"] == 12
    rebuilt, _ = load_documents(os_client, index_name, tiny, beir.iter_corpus(MINI), LoadOptions(rebuild=True))
    assert rebuilt != loaded and indices.alias_targets(os_client, index_name) == [rebuilt]
    assert not os_client.indices.exists(index=loaded)


class FailingBulkClient(OpenSearch):
    """A real client whose ``bulk`` call number ``fail_at`` raises a connection error."""

    def __init__(self, *args, fail_at: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.fail_at, self.calls = fail_at, 0

    def bulk(self, *args, **kwargs):
        self.calls += 1
        if self.calls == self.fail_at:
            raise OSConnectionError("N/A", "simulated outage", None)
        return super().bulk(*args, **kwargs)


def test_failed_bulk_chunk_is_counted_not_fatal(opensearch_url, os_client, index_name, tiny):
    index = indices.create_index(os_client, index_name, tiny, "tiny")
    client = FailingBulkClient(hosts=[opensearch_url], fail_at=2)
    docs = [Document(f"d{i}", f"text number {i}", lang="en") for i in range(10)]
    failures = []
    report = index_documents(client, index, tiny, docs, batch_size=4, chunk_size=4,
                             on_failure=lambda d, r: failures.append(d))
    assert (report.indexed, report.failed) == (6, 4) and sorted(failures) == ["d4", "d5", "d6", "d7"]


def test_ingest_job_rejects_and_per_document_failures(os_client, index_name, tiny, tmp_path):
    from lacl_search.ingest.job import IngestConfig
    from lacl_search.ingest.job import run as ingest_run
    from lacl_search.ingest.readers import FieldMap

    path = tmp_path / "docs.jsonl"
    rows = [{"id": "a", "text": "Hallo Welt", "lang": "de", "year": 2020}, "broken",
            {"id": "b", "text": ""}, {"id": "c", "text": "Bonjour", "year": {"nested": 1}},
            {"id": "d", "text": "こんにちは世界"}, {"id": "e", "text": "Hello", "year": "unknown"}]
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in rows) + "\n")
    config = IngestConfig(path, index_name, "tiny", fields=FieldMap(metadata=("year",)), show_progress=False,
                          load=LoadOptions(model_name="tiny", chunk_size=1, batch_size=1))
    report = ingest_run(config, os_client, tiny)
    assert (report["indexed"], report["rejected"], report["failed"]) == (2, 3, 1), report
    lines = [json.loads(x) for x in Path(report["rejects_file"]).read_text().splitlines()]
    assert [x["line"] for x in lines] == [2, 3, 4, None]
    assert "invalid JSON" in lines[0]["reason"] and "empty" in lines[1]["reason"]
    assert "must be a scalar" in lines[2]["reason"]
    assert lines[3]["doc_id"] == "e" and "indexing failed" in lines[3]["reason"]
    assert os_client.count(index=index_name)["count"] == 2
    hit = os_client.get(index=index_name, id="d")["_source"]
    assert hit["lang"] == "ja"  # detected


def test_eval_writes_metrics_run_and_reuses_index(os_client, index_name, tiny, tmp_path):
    out = tmp_path / "eval" / "hybrid.json"
    config = EvalConfig(dataset=MINI, output=out, mode="hybrid", model="tiny", index=index_name)
    result = run(config, os_client, tiny)
    saved = json.loads(out.read_text())
    for key in ("ndcg@10", "recall@100", "mrr@10", "queries", "docs", "by_query_lang", "language_bias"):
        assert key in saved
    assert saved["queries"] == 5 and saved["docs"] == 12 and set(saved["by_query_lang"]) == {"de", "fr", "ja", "en"}
    for key in ("recall@100_same_lang", "recall@100_other_lang", "top10_share_query_lang"):
        assert 0.0 <= saved["language_bias"][key] <= 1.0
    assert saved["recall@100"] == pytest.approx(1.0)  # 12 documents, depth 100: everything is retrieved
    trec = out.with_suffix(".trec").read_text().splitlines()
    assert trec[0].split()[1] == "Q0" and len(trec) == 5 * 12
    assert result["ingest"]["reused"] is False
    assert run(config, os_client, tiny)["ingest"]["reused"] is True
