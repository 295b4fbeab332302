"""Load -> search in every mode, against a real OpenSearch, on a 4-language fixture corpus."""

from __future__ import annotations

import pytest
from opensearchpy import OpenSearch
from opensearchpy.exceptions import ConnectionError as OSConnectionError

from lacl_search.core import filters as F
from lacl_search.core.settings import ClusterSettings
from lacl_search.core.types import Document
from lacl_search.errors import BadInput, IndexMissing
from lacl_search.evaluation import beir
from lacl_search.serving import indexing
from lacl_search.serving.client import ClusterUnavailable, check_cluster, make_client
from lacl_search.serving.indexing import BulkOptions, LoadOptions, index_documents, load_documents
from lacl_search.serving.search import Searcher
from tests.support import FIXTURES
from tests.tiny_encoder import build_tiny_encoder

pytestmark = pytest.mark.integration
MINI = FIXTURES / "beir-mini"


@pytest.fixture(scope="module")
def tiny():
    return build_tiny_encoder(seed=3).eval()


@pytest.fixture
def loaded(os_client, index_name, tiny):
    index, report = load_documents(os_client, index_name, tiny, beir.iter_corpus(MINI),
                                   options=LoadOptions(model_name="tiny"))
    assert report.indexed == 12 and report.failed == 0
    return index


def test_index_is_versioned_behind_alias_with_lucene_vectors(os_client, index_name, loaded):
    assert indexing.alias_targets(os_client, index_name) == [loaded]
    mapping = os_client.indices.get_mapping(index=loaded)[loaded]["mappings"]
    assert mapping["properties"]["vector"]["method"]["engine"] == "lucene"
    assert mapping["_meta"]["model"] == "tiny" and mapping["_meta"]["dim"] == 32
    settings = os_client.indices.get_settings(index=loaded)[loaded]["settings"]["index"]
    assert settings["refresh_interval"] == "1s"


def test_bm25_uses_language_fields_highlights_and_filters(os_client, index_name, loaded, tiny):
    searcher = Searcher(os_client, index=index_name, encoder=tiny)
    hits = searcher.search("Bibliothek XML Dokumente", mode="bm25", k=3)
    assert hits[0].doc_id == "xml-de" and hits[0].scores["bm25"] == hits[0].score
    assert any("<em>" in h for h in hits[0].highlights)
    only_fr = searcher.search("images", mode="bm25", k=5, langs=["fr"])
    assert only_fr and {h.lang for h in only_fr} == {"fr"}


@pytest.mark.parametrize("side", ["server", "client"])
def test_hits_without_documents_rank_alike(os_client, index_name, loaded, tiny, side):
    """``fetch=False`` (what ``search --queries`` runs ask for): the same ranking and scores, with ids, language
    and metadata but no text, title or highlights."""
    searcher = Searcher(os_client, index=index_name, encoder=tiny, fusion_side=side)
    for mode in ("bm25", "dense", "hybrid"):
        whole = searcher.search("Bibliothek XML Dokumente", mode=mode, k=5, query_lang="de")
        slim = searcher.search("Bibliothek XML Dokumente", mode=mode, k=5, query_lang="de", fetch=False)
        assert [(h.doc_id, h.score, h.lang) for h in slim] == [(h.doc_id, h.score, h.lang) for h in whole], mode
        assert all(h.text == "" and h.title is None and not h.highlights for h in slim), mode
        assert any(h.text for h in whole) and (mode == "dense" or any(h.highlights for h in whole)), mode


def test_german_stemming_matches_only_through_the_german_field(os_client, index_name, loaded):
    """"Dokument" reaches "XML-Dokumenten" only via text_i18n.de (german analyzer: both stem to dokument);
    the language-agnostic base field keeps "dokumenten" whole, so without German there is no match."""
    searcher = Searcher(os_client, index=index_name)
    german = searcher.search("Dokument", mode="bm25", k=3, query_lang="de")
    assert [h.doc_id for h in german] == ["xml-de"]
    assert searcher.search("Dokument", mode="bm25", k=3, query_lang="sk") == []


def test_query_syntax_is_text(os_client, index_name, loaded, tiny):
    """Query-string syntax (field prefixes, operators, an unbalanced quote) is searched as plain words:
    a query_string query would fail to parse it or restrict it to the title field."""
    searcher = Searcher(os_client, index=index_name, encoder=tiny)
    for mode in ("bm25", "hybrid"):
        hits = searcher.search('title:(nothing OR nowhere) AND "Bibliothek', mode=mode, k=3, query_lang="de")
        assert "xml-de" in [h.doc_id for h in hits]  # matched on the word Bibliothek in its text


@pytest.mark.parametrize("fusion", ["minmax", "rrf"])
@pytest.mark.parametrize("side", ["server", "client"])
def test_hybrid_fuses_with_score_parts(os_client, index_name, loaded, tiny, side, fusion):
    searcher = Searcher(os_client, index=index_name, encoder=tiny, fusion_side=side)
    weight = {} if fusion == "rrf" else {"weight": 0.3}  # rrf is unweighted: a weight would be refused
    hits = searcher.search("XML", mode="hybrid", k=5, fusion=fusion, explain=True, **weight)
    assert len(hits) == 5 and any(h.doc_id.startswith("xml-") for h in hits[:2])
    assert all(h.scores["fused"] == pytest.approx(h.score) for h in hits)
    assert all(h.scores["dense"] is not None for h in hits)
    assert any(h.scores["bm25"] is not None for h in hits)
    if fusion == "minmax":
        # weights 0.7 / 0.3 over [0, 1]-normalised legs: only a document first in both legs reaches 1
        assert all(0.0 <= h.score <= 1.0 + 1e-6 for h in hits) and hits[-1].score < 1.0
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


@pytest.mark.parametrize("mode", ["bm25", "dense", "hybrid"])
@pytest.mark.parametrize("side", ["server", "client"])
def test_pages_concatenate_to_the_full_ranking(os_client, index_name, loaded, tiny, mode, side):
    searcher = Searcher(os_client, index=index_name, encoder=tiny, fusion_side=side)
    query = "XML images web server"
    full = [h.doc_id for h in searcher.search(query, mode=mode, k=9, explain=False)]
    pages = [h.doc_id for offset in (0, 3, 6) for h in searcher.search(query, mode=mode, k=3, offset=offset,
                                                                        explain=False)]
    assert len(full) >= 6 and pages == full  # BM25 matches 6 of the 12 documents, the other modes rank 9


def test_structured_filters_and_or_not_range(os_client, index_name, tiny):
    docs = [Document(f"d{i}", f"release notes {i}", lang=lang, metadata={"year": year, "section": section})
            for i, (lang, year, section) in enumerate(
                [("en", 2019, "net"), ("de", 2020, "net"), ("fr", 2021, "libs"), ("en", 2022, "libs")])]
    load_documents(os_client, index_name, tiny, docs, options=LoadOptions(model_name="tiny"))
    searcher = Searcher(os_client, index=index_name, encoder=tiny)

    def ids(node, mode="bm25"):
        return sorted(h.doc_id for h in searcher.search("release notes", mode=mode, k=10, filter=node))

    assert ids(F.Range("year", gte=2020, lt=2022)) == ["d1", "d2"]
    assert ids(F.And((F.Term("section", "libs"), F.Not(F.Term("lang", "fr"))))) == ["d3"]
    assert ids(F.Or((F.Term("lang", "de"), F.Range("year", gt=2021)))) == ["d1", "d3"]
    assert ids(F.parse_expression("section!=net"), mode="dense") == ["d2", "d3"]
    assert ids(F.Terms("doc_id", ("d0", "d3")), mode="hybrid") == ["d0", "d3"]


def test_dense_with_language_filter(os_client, index_name, loaded, tiny):
    hits = Searcher(os_client, index=index_name, encoder=tiny).search("web server", mode="dense", k=4, langs=["ja"])
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
        Searcher(os_client, index="no-such-index-xyz", encoder=tiny).search("x", mode="bm25")
    with pytest.raises(BadInput, match="need an encoder"):
        Searcher(os_client, index="no-such-index-xyz").search("x", mode="dense")


def test_reingest_is_idempotent_and_rebuild_switches_alias(os_client, index_name, loaded, tiny):
    again, report = load_documents(os_client, index_name, tiny, beir.iter_corpus(MINI))
    assert again == loaded and report.indexed == 12
    assert os_client.count(index=index_name)["count"] == 12
    rebuilt, _ = load_documents(os_client, index_name, tiny, beir.iter_corpus(MINI), options=LoadOptions(rebuild=True))
    assert rebuilt != loaded and indexing.alias_targets(os_client, index_name) == [rebuilt]
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
    index = indexing.create_index(os_client, index_name, tiny, "tiny")
    client = FailingBulkClient(hosts=[opensearch_url], fail_at=2)
    docs = [Document(f"d{i}", f"text number {i}", lang="en") for i in range(10)]
    failures = []
    # no retry left: the failed chunk marks the cluster down, so the rest is listed unwritten, not sent
    # (retries of an outage are tested in test_indexing.py)
    options = BulkOptions(batch_size=4, chunk_size=4, concurrency=1, max_retries=0)
    report = index_documents(client, index, tiny, docs, options=options, on_failure=lambda d, r: failures.append(d))
    assert (report.indexed, report.failed) == (4, 6) and sorted(failures) == [f"d{i}" for i in range(4, 10)]
