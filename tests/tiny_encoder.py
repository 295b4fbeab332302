"""A tiny, seeded, offline encoder for tests: 2 layers, hidden 32, the committed tiny tokenizer."""

from __future__ import annotations

import torch
from transformers import AutoTokenizer, BertConfig, BertModel

from lacl_search.core.encoder import Encoder, EncoderConfig
from tests.support import FIXTURES

TOKENIZER_DIR = FIXTURES / "tiny-tokenizer"


def build_tiny_encoder(seed: int = 0, **config: object) -> Encoder:
    """Return a randomly initialised (seeded) tiny BERT wrapped in :class:`Encoder`."""
    tokenizer = AutoTokenizer.from_pretrained(TOKENIZER_DIR)
    torch.manual_seed(seed)
    bert_config = BertConfig(
        vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=128, type_vocab_size=2,
    )
    options = {"query_prefix": "query: ", "document_prefix": "passage: ", "max_length": 64, **config}
    document_model = None
    if options.get("tied") is False:
        document_model = BertModel(bert_config, add_pooling_layer=False)
    return Encoder(BertModel(bert_config, add_pooling_layer=False), tokenizer, EncoderConfig(**options), document_model)
