"""Rebuild ``intfloat/multilingual-e5-small`` as a Hugging Face model from an E5S1 file.

The E5S1 file (see :mod:`lacl_provision.models.e5s1`) holds every matrix as Q4_0; they are dequantised to
float32 and laid out as a standard ``transformers.BertModel`` state dict (no pooler: E5 mean-pools).
The tokenizer is rebuilt as a ``tokenizers`` Unigram model with the same pipeline as the package's C
engine (``e5.c``, ``tok_content``): NFC (which the C engine lacks), the per-codepoint normalisation map
(as a SentencePiece ``precompiled_charsmap``), runs of spaces collapsed to one, Metaspace, then
``<s> ... </s>``. Usage follows the model card: ``query: `` / ``passage: `` prefixes, mean pooling,
L2 normalisation.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import torch
from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

from lacl_provision.models.charsmap import build_charsmap
from lacl_provision.models.e5s1 import E5S1File, E5S1Header, E5S1Tokenizer
from lacl_provision.models.store import PROVENANCE_NAME
from lacl_search.core.encoder import Encoder, EncoderConfig

log = logging.getLogger(__name__)

QUALITY = "multilingual-e5-small (Q4-dequantised)"
E5_CONFIG = EncoderConfig(
    pooling="mean", normalize=True, max_length=512, query_prefix="query: ", document_prefix="passage: "
)
# E5S1 per-layer tensor -> BertModel parameter prefix inside ``encoder.layer.{i}.``
_LAYER_NAMES = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}
_SUFFIX = {"w": "weight", "b": "bias"}


def bert_config(header: E5S1Header) -> BertConfig:
    """The ``BertConfig`` of multilingual-e5-small, sizes and LayerNorm eps taken from the header."""
    return BertConfig(
        vocab_size=header.vocab,
        hidden_size=header.hidden,
        num_hidden_layers=header.layers,
        num_attention_heads=header.heads,
        intermediate_size=header.ffn,
        max_position_embeddings=header.max_positions,
        type_vocab_size=header.type_vocab,
        layer_norm_eps=header.eps,
        hidden_act="gelu",
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
    )


def _shape(name: str, header: E5S1Header) -> tuple[int, ...]:
    """Shape of E5S1 tensor ``name`` (Linear weights are ``[out, in]``, as in ``e5.c``)."""
    h, ff = header.hidden, header.ffn
    fixed = {
        "emb.word": (header.vocab, h),
        "emb.pos": (header.max_positions, h),
        "emb.type": (header.type_vocab, h),
    }
    if name in fixed:
        return fixed[name]
    kind, part = name.split(".")[-2:]
    if part == "b" or kind in ("aln", "oln", "ln"):
        return (ff,) if kind == "fi" else (h,)
    return {"fi": (ff, h), "fo": (h, ff)}.get(kind, (h, h))


def _hf_name(name: str) -> str:
    """Map an E5S1 tensor name (``l3.fi.w``, ``emb.ln.b``) to its ``BertModel`` state-dict key."""
    emb = {"emb.word": "word_embeddings.weight", "emb.pos": "position_embeddings.weight",
           "emb.type": "token_type_embeddings.weight", "emb.ln.w": "LayerNorm.weight",
           "emb.ln.b": "LayerNorm.bias"}  # fmt: skip
    if name in emb:
        return "embeddings." + emb[name]
    layer, kind, part = name.split(".")
    if not layer.startswith("l") or kind not in _LAYER_NAMES or part not in _SUFFIX:
        raise ValueError(f"unexpected tensor name {name!r} in E5S1 file")
    return f"encoder.layer.{int(layer[1:])}.{_LAYER_NAMES[kind]}.{_SUFFIX[part]}"


def bert_state_dict(source: E5S1File) -> dict[str, torch.Tensor]:
    """Dequantise every tensor of ``source`` into a ``BertModel`` state dict (float32)."""
    state: dict[str, torch.Tensor] = {}
    for name in source.entries:
        shape = _shape(name, source.header)
        flat = source.tensor(name)
        if flat.size != int(np.prod(shape)):
            raise ValueError(f"tensor {name!r}: {flat.size} values, expected shape {shape}")
        state[_hf_name(name)] = torch.from_numpy(flat.reshape(shape))
    return state


def build_model(source: E5S1File) -> BertModel:
    """A ``BertModel`` (no pooler) carrying the dequantised weights of ``source``."""
    model = BertModel(bert_config(source.header), add_pooling_layer=False)
    missing, unexpected = model.load_state_dict(bert_state_dict(source), strict=False)
    missing = [k for k in missing if not k.endswith(("position_ids", "token_type_ids"))]
    if missing or unexpected:
        raise ValueError(f"state dict mismatch: missing {missing}, unexpected {unexpected}")
    return model.eval()


def build_tokenizer(tok: E5S1Tokenizer, max_length: int = 512) -> PreTrainedTokenizerFast:
    """The XLM-R SentencePiece Unigram tokenizer, rebuilt from the E5S1 pieces and normalisation map.

    Args:
        tok: pieces, scores, special ids and the per-codepoint map read from the file.
        max_length: ``model_max_length`` of the returned tokenizer.

    Returns:
        A fast tokenizer with specials ``<s> <pad> </s> <unk> <mask>`` and the ``<s> A </s>`` template.
    """
    vocab = [(piece, float(score)) for piece, score in zip(tok.pieces, tok.scores.tolist(), strict=True)]
    backend = Tokenizer(models.Unigram(vocab, unk_id=tok.unk, byte_fallback=False))
    backend.normalizer = normalizers.Sequence(
        [
            normalizers.NFC(),
            normalizers.Precompiled(build_charsmap(tok.norm_map)),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    backend.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always")
    backend.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always")
    bos, eos = tok.pieces[tok.bos], tok.pieces[tok.eos]
    backend.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, tok.bos), (eos, tok.eos)],
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=backend,
        bos_token=bos,
        eos_token=eos,
        sep_token=eos,
        cls_token=bos,
        unk_token=tok.pieces[tok.unk],
        pad_token=tok.pieces[tok.pad],
        mask_token=AddedToken("<mask>", lstrip=True, special=True),  # as XLM-R: "a <mask>" -> a, <mask>
        model_max_length=max_length,
        padding_side="right",
    )


def convert(bin_path: str | Path, out_dir: str | Path, provenance: dict[str, str]) -> Path:
    """Convert an E5S1 file into an :class:`Encoder` folder (weights, tokenizer, ``lacl_encoder.json``).

    Args:
        bin_path: the ``e5-small-q4.bin`` file.
        out_dir: folder to write (created).
        provenance: source package, version, sha256...; written to ``provenance.json`` with the
            quality label.

    Returns:
        ``out_dir``.
    """
    source = E5S1File(bin_path)
    log.info("dequantising %d tensors from %s", len(source.entries), bin_path)
    encoder = Encoder(build_model(source), build_tokenizer(source.tokenizer, E5_CONFIG.max_length), E5_CONFIG)
    out = encoder.save_pretrained(out_dir)
    record = {**provenance, "quality": QUALITY}
    (out / PROVENANCE_NAME).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return out
