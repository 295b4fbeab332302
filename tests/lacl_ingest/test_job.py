"""The ingestion job against a real OpenSearch: rejects with reasons, per-document failures, detection."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lacl_ingest.job import IngestConfig
from lacl_ingest.job import run as ingest_run
from lacl_ingest.readers import FieldMap
from lacl_search.serving.indexing import BulkOptions, LoadOptions
from tests.tiny_encoder import build_tiny_encoder

pytestmark = pytest.mark.integration


def test_ingest_job_rejects_and_per_document_failures(os_client, index_name, tmp_path):
    tiny = build_tiny_encoder(seed=3).eval()
    path = tmp_path / "docs.jsonl"
    rows = [{"id": "a", "text": "Hallo Welt", "lang": "de", "year": 2020}, "broken",
            {"id": "b", "text": ""}, {"id": "c", "text": "Bonjour", "year": {"nested": 1}},
            {"id": "d", "text": "こんにちは世界"}, {"id": "e", "text": "Hello", "year": "unknown"}]
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in rows) + "\n")
    config = IngestConfig(path, index_name, "tiny", fields=FieldMap(metadata=("year",)), show_progress=False,
                          # one request in flight: "a" must map "year" as a number before "e" is refused
                          load=LoadOptions(model_name="tiny",
                                           bulk=BulkOptions(chunk_size=1, batch_size=1, concurrency=1)))
    report = ingest_run(config, os_client, tiny)
    # "e" is refused by the cluster (its year does not fit the mapping): a bad document, not a retryable
    # failure, so the build is complete without it and the alias moves
    assert (report["indexed"], report["rejected"], report["refused"], report["failed"]) == (2, 3, 1, 0), report
    assert report["switched"] and report["target"] == "new"
    lines = [json.loads(x) for x in Path(report["rejects_file"]).read_text().splitlines()]
    assert [x["line"] for x in lines] == [2, 3, 4, None]
    assert "invalid JSON" in lines[0]["reason"] and "empty" in lines[1]["reason"]
    assert "must be a scalar" in lines[2]["reason"]
    assert lines[3]["doc_id"] == "e" and "indexing failed" in lines[3]["reason"]
    assert os_client.count(index=index_name)["count"] == 2
    hit = os_client.get(index=index_name, id="d")["_source"]
    assert hit["lang"] == "ja"  # detected
    settings = next(iter(os_client.indices.get_settings(index=index_name).values()))["settings"]["index"]
    assert settings["number_of_shards"] == "2"  # the default: hybrid queries fetch only the page


def test_ingest_into_a_scalar_quantized_index_is_searchable(os_client, index_name, tmp_path):
    from lacl_search.serving.search import Searcher

    tiny = build_tiny_encoder(seed=3).eval()
    path = tmp_path / "docs.jsonl"
    texts = ["XML parser library", "image viewer", "web server", "Bildbetrachter", "serveur web", "text editor"]
    path.write_text("".join(json.dumps({"id": f"d{i}", "text": t}) + "\n" for i, t in enumerate(texts)))
    config = IngestConfig(path, index_name, "tiny", show_progress=False,
                          load=LoadOptions(model_name="tiny", vector_quantization="sq", shards=1))
    report = ingest_run(config, os_client, tiny)
    assert report["indexed"] == len(texts) and report["switched"], report
    settings = next(iter(os_client.indices.get_settings(index=index_name).values()))["settings"]["index"]
    assert settings["number_of_shards"] == "1"
    mapping = next(iter(os_client.indices.get_mapping(index=index_name).values()))["mappings"]
    assert mapping["properties"]["vector"]["method"]["parameters"]["encoder"]["name"] == "sq"
    hits = Searcher(os_client, index=index_name, encoder=tiny).search("image viewer", mode="dense", k=3)
    from lacl_search.core.types import Document

    exact = tiny.encode_documents([Document(f"d{i}", t) for i, t in enumerate(texts)]) @ tiny.encode_queries(
        ["image viewer"])[0]
    assert len(hits) == 3 and hits[0].doc_id == f"d{int(exact.argmax())}"  # int7 vectors, same nearest neighbour


def test_ingest_with_the_openvino_backend_and_search_with_its_query_encoder(os_client, index_name, tmp_path):
    """The CPU default end to end: documents encoded by OpenVINO (throughput streams), queries by the
    latency loader (ONNX Runtime on the same graph), against the torch vectors of the same weights."""
    from lacl_provision.models.export import export
    from lacl_search.core.encoding import load_document_encoder, load_encoder
    from lacl_search.core.openvino_backend import OpenVinoEncoder
    from lacl_search.core.types import Document
    from lacl_search.serving.search import Searcher

    tiny = build_tiny_encoder(seed=3).eval()
    folder = tiny.save_pretrained(tmp_path / "tiny")
    export(folder, backend="openvino")
    encoder = load_document_encoder(str(folder))
    assert isinstance(encoder, OpenVinoEncoder)
    path = tmp_path / "docs.jsonl"
    texts = ["XML parser library", "image viewer", "web server", "Bildbetrachter", "serveur web", "text editor",
             "Debian package tools", "Werkzeuge für Pakete", "compression utility", "outil de compression"]
    path.write_text("".join(json.dumps({"id": f"d{i}", "text": t}) + "\n" for i, t in enumerate(texts)))
    config = IngestConfig(path, index_name, str(folder), show_progress=False,
                          load=LoadOptions(model_name=str(folder), bulk=BulkOptions(batch_size=2)))
    report = ingest_run(config, os_client, encoder)
    assert report["indexed"] == len(texts) and report["switched"], report
    stored = os_client.get(index=index_name, id="d3")["_source"]["vector"]
    reference = tiny.encode_documents([Document("d3", texts[3])])[0]
    assert float(reference @ stored) / float((sum(x * x for x in stored)) ** 0.5) >= 0.99
    query_encoder = load_encoder(str(folder), latency=True)
    assert query_encoder.backend == "onnx-fp32" and query_encoder.fingerprint() == encoder.fingerprint()
    exact = tiny.encode_documents([Document(f"d{i}", t) for i, t in enumerate(texts)]) @ tiny.encode_queries(
        ["image viewer"])[0]
    hits = Searcher(os_client, index=index_name, encoder=query_encoder).search("image viewer", mode="dense", k=3)
    assert len(hits) == 3 and hits[0].doc_id == f"d{int(exact.argmax())}"


def test_a_model_folder_profile_is_stored_unless_a_fitted_one_is_there(os_client, opensearch_url, index_name,
                                                                      tmp_path, monkeypatch, caplog):
    """`ingest --model FOLDER` stores the folder's fusion_profile.json in an index without one for the model
    (so a user's index of the default model searches with the fitted fusion); a profile fitted later and
    attached to the index wins over it through rebuilds; one fitted for another model is a warning."""
    from lacl_search import cli
    from lacl_search.core.fusion_profile import MODEL_FILE, FusionProfile
    from lacl_search.serving import profiles

    monkeypatch.setenv("OPENSEARCH_URL", opensearch_url)
    tiny = build_tiny_encoder(seed=3).eval()
    folder = tiny.save_pretrained(tmp_path / "tiny")
    shipped = FusionProfile(encoder_fingerprint=tiny.fingerprint(), languages={"*": (0.2, 0.1, 0.7)})
    (folder / MODEL_FILE).write_text(shipped.to_json(), encoding="utf-8")
    path = tmp_path / "docs.jsonl"
    path.write_text("".join(json.dumps({"id": f"d{i}", "text": t}) + "\n"
                            for i, t in enumerate(["XML parser library", "image viewer", "Bildbetrachter"])))
    ingest = ["ingest", "--input", str(path), "--index", index_name, "--model", str(folder), "--no-progress"]

    assert cli.main(ingest) == 0
    assert profiles.find(os_client, index_name, tiny.fingerprint()) == shipped
    fitted = FusionProfile(encoder_fingerprint=tiny.fingerprint(), languages={"*": (0.5, 0.0, 0.5)})
    assert profiles.attach(os_client, index_name, fitted)
    assert cli.main([*ingest, "--rebuild"]) == 0
    assert profiles.find(os_client, index_name, tiny.fingerprint()) == fitted  # carried over, not replaced

    other = FusionProfile(encoder_fingerprint="another-model", languages={"*": (0.2, 0.1, 0.7)})
    (folder / MODEL_FILE).write_text(other.to_json(), encoding="utf-8")
    os_client.indices.delete(index=f"{index_name}*", expand_wildcards="all")
    with caplog.at_level("WARNING"):
        assert cli.main(ingest) == 0
    assert profiles.find(os_client, index_name, tiny.fingerprint()) is None
    assert "was fitted for encoder another-model, not this one" in caplog.text
    assert "has no fusion profile fitted for this model" in caplog.text
