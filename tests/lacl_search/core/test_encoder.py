"""The shared Encoder: pooling, normalisation, prefixes, length-sorted batching, save/load."""

import numpy as np
import pytest
import torch

from lacl_search.core.encoder import Encoder, EncoderConfig
from lacl_search.core.types import Document
from tests.tiny_encoder import build_tiny_encoder

TEXTS = ["fast search engine", "schnelle Suchmaschine für Textdokumente und mehr Wörter", "画像", "a"]


@pytest.fixture(scope="module")
def encoder():
    enc = build_tiny_encoder(seed=1)
    enc.eval()
    return enc


def test_mean_pooling_matches_manual(encoder):
    batch = encoder.tokenize(TEXTS[:2], "document")
    hidden = encoder.model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).float()
    manual = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1)
    assert torch.allclose(encoder(**batch, side="document"), manual, atol=1e-6)


def test_cls_pooling_and_no_normalisation():
    enc = build_tiny_encoder(seed=1, pooling="cls", normalize=False).eval()
    batch = enc.tokenize(TEXTS[:1], "query")
    out = enc(**batch, side="query")
    assert torch.allclose(out, enc.model(**batch).last_hidden_state[:, 0])
    assert enc.config.space_type == "innerproduct"


def test_encode_is_order_independent_and_normalised(encoder):
    out = encoder.encode_documents(TEXTS, batch_size=2)
    single = np.stack([encoder.encode_documents([t])[0] for t in TEXTS])
    assert out.shape == (4, 32) and out.dtype == np.float32
    np.testing.assert_allclose(out, single, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)


def test_prefixes_make_query_and_document_differ(encoder):
    q = encoder.encode_queries(["fast search engine"])
    d = encoder.encode_documents(["fast search engine"])
    assert not np.allclose(q, d)
    ids = encoder.tokenize(["x"], "query")["input_ids"][0].tolist()
    assert encoder.tokenizer.decode(ids, skip_special_tokens=True).startswith("query")


def test_save_and_reload_roundtrip(encoder, tmp_path):
    encoder.save_pretrained(tmp_path / "m")
    again = Encoder.from_pretrained(str(tmp_path / "m"), device="cpu")
    assert again.config == encoder.config and again.fingerprint() == encoder.fingerprint()
    np.testing.assert_allclose(again.encode_queries(TEXTS), encoder.encode_queries(TEXTS), atol=1e-6)


def test_untied_towers_roundtrip(tmp_path):
    enc = build_tiny_encoder(seed=2, tied=False).eval()
    enc.save_pretrained(tmp_path / "u")
    again = Encoder.from_pretrained(str(tmp_path / "u"), device="cpu")
    assert again.document_model is not None
    np.testing.assert_allclose(again.encode_documents(TEXTS), enc.encode_documents(TEXTS), atol=1e-6)


def test_overrides_and_bad_config(encoder, tmp_path):
    encoder.save_pretrained(tmp_path / "m")
    assert Encoder.from_pretrained(str(tmp_path / "m"), device="cpu", max_length=16).config.max_length == 16
    with pytest.raises(ValueError, match="pooling"):
        EncoderConfig(pooling="max")
    with pytest.raises(TypeError):
        encoder.encode_queries("not a list")


def test_document_text_composes_title_and_body(encoder):
    assert encoder.document_text(Document("d", "body", title="Title")) == "Title\nbody"
    assert encoder.document_text(Document("d", "body")) == encoder.document_text(Document("d", "body", "  ")) == "body"
    assert encoder.document_text("plain text") == "plain text"
    composed = encoder.encode_documents([Document("d", "body", title="Title")])
    np.testing.assert_allclose(composed, encoder.encode_documents(["Title\nbody"]), atol=1e-6)
