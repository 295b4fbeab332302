import pytest

from lacl_search.core import schema


def _vector_fields(mapping: dict):
    for name, spec in mapping.items():
        if spec.get("type") == "knn_vector":
            yield name, spec
        yield from _vector_fields(spec.get("properties", {}))


@pytest.mark.parametrize("space", ["cosinesimil", "innerproduct", "l2"])
def test_every_vector_field_is_lucene(space):
    body = schema.index_body(384, space)
    fields = list(_vector_fields(body["mappings"]["properties"]))
    assert fields and all(spec["method"]["engine"] == "lucene" for _, spec in fields)
    assert fields[0][1]["dimension"] == 384 and fields[0][1]["method"]["space_type"] == space
    assert body["settings"]["index"]["knn"] is True


def test_bulk_vs_serving_settings():
    body = schema.index_body(8, "cosinesimil")
    assert body["settings"]["index"]["number_of_replicas"] == 0
    assert body["settings"]["index"]["refresh_interval"] == "-1"
    assert schema.serving_settings()["index"]["refresh_interval"] == "1s"
    assert schema.serving_settings(2)["index"]["number_of_replicas"] == 2


def test_primary_shards_default_to_two_and_are_validated():
    assert schema.index_body(8, "cosinesimil")["settings"]["index"]["number_of_shards"] == schema.DEFAULT_SHARDS == 2
    assert schema.index_body(8, "cosinesimil", shards=1)["settings"]["index"]["number_of_shards"] == 1
    with pytest.raises(ValueError, match="shards"):
        schema.index_body(8, "cosinesimil", shards=0)


def test_bad_vector_specs():
    with pytest.raises(ValueError):
        schema.vector_mapping(0, "cosinesimil")
    with pytest.raises(ValueError):
        schema.vector_mapping(8, "hamming")


def test_document_source_fills_only_its_language():
    src = schema.document_source("1", "Bonjour", [0.1], "fr", "Titre", {"k": "v"})
    assert src["text_i18n"] == {"fr": "Bonjour"} and src["title_i18n"] == {"fr": "Titre"}
    assert "text_i18n" not in schema.document_source("2", "Ahoj", [0.1], "sk")
    assert schema.i18n_field("text", "ja") == "text_i18n.ja"


def test_meta_carries_model_info():
    body = schema.index_body(8, "cosinesimil", {"model": "m", "model_fingerprint": "abc"})
    assert body["mappings"]["_meta"]["model"] == "m" and body["mappings"]["_meta"]["dim"] == 8


def test_scalar_quantization_is_an_option_of_the_lucene_hnsw_method():
    plain = schema.vector_mapping(8, "cosinesimil")
    sq = schema.vector_mapping(8, "cosinesimil", schema.HnswParams(quantization="sq"))
    assert "encoder" not in plain["method"]["parameters"]
    assert sq["method"]["engine"] == "lucene"
    assert sq["method"]["parameters"]["encoder"] == {"name": "sq", "parameters": {"bits": 7}}
    with pytest.raises(ValueError, match="quantization"):
        schema.HnswParams(quantization="pq")
