"""The one place where text becomes a vector, for serving and training alike.

An :class:`Encoder` wraps a Hugging Face encoder (BERT, XLM-R, multilingual-e5, ...) with the choices
that decide how it must be used — pooling, L2 normalisation, maximum length and the asymmetric
query / document prefixes (E5 style ``query: `` / ``passage: ``). Those choices are saved next to the
weights in ``lacl_encoder.json``, so a checkpoint always carries how it must be used.

The encoder owns the whole text -> vector contract: document composition (:meth:`Encoder.document_text`,
title then body), prefixes, truncation, pooling and normalisation, with one tokenisation path
(:meth:`Encoder.token_ids` then padding) for training and serving. Training calls :meth:`Encoder.embed`
(gradients flow); serving and exact evaluation call :meth:`Encoder.encode_queries` and
:meth:`Encoder.encode_documents` (batched, length-sorted, no gradients, numpy out).

:meth:`Encoder.from_pretrained` knows only local folders and hub ids; registered names such as
``default`` are resolved by :mod:`lacl_search.core.registry` (:meth:`Encoder.load` accepts both).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from torch import nn
from transformers import AutoModel, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

from lacl_search.core import registry
from lacl_search.core.types import Document
from lacl_search.errors import ConfigError

log = logging.getLogger(__name__)

CONFIG_NAME = "lacl_encoder.json"
DOCUMENT_TOWER_DIR = "document_encoder"
Side = Literal["query", "document"]
POOLINGS = ("mean", "cls")


@dataclass
class EncoderConfig:
    """How an encoder turns text into a vector; saved as ``lacl_encoder.json``.

    Attributes:
        pooling: ``"mean"`` (average of token states over the attention mask) or ``"cls"``.
        normalize: L2-normalise embeddings (then cosine == inner product).
        max_length: maximum tokens per text, prefix included; longer texts are truncated.
        query_prefix: prepended to every query (E5: ``"query: "``).
        document_prefix: prepended to every document (E5: ``"passage: "``).
        tied: one set of weights for queries and documents; False stores a second tower.
    """

    pooling: str = "mean"
    normalize: bool = True
    max_length: int = 512
    query_prefix: str = ""
    document_prefix: str = ""
    tied: bool = True

    def __post_init__(self) -> None:
        if self.pooling not in POOLINGS:
            raise ConfigError(f"pooling must be one of {POOLINGS}, got {self.pooling!r}")
        if self.max_length < 8:
            raise ConfigError(f"max_length must be at least 8, got {self.max_length}")

    @property
    def space_type(self) -> str:
        """The OpenSearch k-NN space that matches this encoder's similarity."""
        return "cosinesimil" if self.normalize else "innerproduct"

    @classmethod
    def from_dict(cls, data: dict) -> EncoderConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown keys in {CONFIG_NAME}: {unknown}")
        return cls(**data)

    @classmethod
    def guess(cls, name_or_path: str) -> EncoderConfig:
        """Defaults for a checkpoint without ``lacl_encoder.json`` (E5 models get their prefixes)."""
        if "e5" in Path(name_or_path).name.lower():
            return cls(query_prefix="query: ", document_prefix="passage: ")
        return cls()


def _load_backbone(source: str) -> PreTrainedModel:
    """``AutoModel`` without the pooler head for the architectures that have one (we pool ourselves)."""
    try:
        return AutoModel.from_pretrained(source, add_pooling_layer=False)
    except TypeError:  # architectures without a pooler option
        return AutoModel.from_pretrained(source)


def _drop_pooler(model: PreTrainedModel) -> PreTrainedModel:
    # BERT-like models carry a pooler we never use; unused parameters break DDP and waste memory.
    if getattr(model, "pooler", None) is not None:
        model.pooler = None
    return model


class Encoder(nn.Module):
    """A dual encoder with the pooling / normalisation / prefix choices that belong to it.

    Args:
        model: the transformer for queries (and documents when ``config.tied``).
        tokenizer: its fast tokenizer.
        config: how text becomes a vector.
        document_model: the document tower when ``config.tied`` is False.
    """

    def __init__(
        self,
        model: PreTrainedModel,
        tokenizer: PreTrainedTokenizerBase,
        config: EncoderConfig,
        document_model: PreTrainedModel | None = None,
    ) -> None:
        super().__init__()
        if not config.tied and document_model is None:
            raise ValueError("config.tied is False but no document_model was given")
        self.model = _drop_pooler(model)
        self.document_model = _drop_pooler(document_model) if document_model is not None else None
        self.tokenizer = tokenizer
        self.config = config

    # ----------------------------------------------------------------------------------- loading
    @classmethod
    def from_pretrained(cls, source: str | Path, *, device: str | torch.device | None = None,
                        **overrides: object) -> Encoder:
        """Load a checkpoint from a local folder or a Hugging Face hub id.

        ``overrides`` replace fields of the saved :class:`EncoderConfig` (e.g. ``max_length=128``).
        """
        source = str(source)
        config_file = Path(source) / CONFIG_NAME
        if config_file.is_file():
            config = EncoderConfig.from_dict(json.loads(config_file.read_text(encoding="utf-8")))
        else:
            config = EncoderConfig.guess(source)
        if overrides:
            config = EncoderConfig.from_dict({**asdict(config), **overrides})
        tokenizer = AutoTokenizer.from_pretrained(source)
        model = _load_backbone(source)
        document_model = None
        if not config.tied:
            document_model = _load_backbone(str(Path(source) / DOCUMENT_TOWER_DIR))
        encoder = cls(model, tokenizer, config, document_model)
        encoder.to(device or default_device())
        encoder.eval()
        log.info("loaded encoder %s (dim %d, %s pooling)", source, encoder.dim, config.pooling)
        return encoder

    @classmethod
    def from_registry(cls, name: str = registry.DEFAULT_NAME, *, device: str | torch.device | None = None,
                      **overrides: object) -> Encoder:
        """Load a model registered by name (``Encoder.from_registry("default")``: the offline default)."""
        return cls.from_pretrained(registry.locate(name), device=device, **overrides)

    @classmethod
    def load(cls, name_or_path: str, *, device: str | torch.device | None = None, **overrides: object) -> Encoder:
        """Load a registered name (``default``), a local folder or a hub id: what ``--model`` takes."""
        return cls.from_pretrained(registry.resolve(name_or_path), device=device, **overrides)

    def save_pretrained(self, path: str | Path) -> Path:
        """Write weights (safetensors), tokenizer and ``lacl_encoder.json`` to ``path``."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        self.model.save_pretrained(path)
        self.tokenizer.save_pretrained(path)
        if self.document_model is not None:
            self.document_model.save_pretrained(path / DOCUMENT_TOWER_DIR)
        (path / CONFIG_NAME).write_text(json.dumps(asdict(self.config), indent=2) + "\n", encoding="utf-8")
        return path

    # ----------------------------------------------------------------------------------- properties
    @property
    def dim(self) -> int:
        return int(self.model.config.hidden_size)

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def fingerprint(self) -> str:
        """A short content hash of the weights (strided sample) and config: same model -> same value."""
        digest = hashlib.sha256(json.dumps(asdict(self.config), sort_keys=True).encode())
        with torch.no_grad():
            for name, param in self.named_parameters():
                flat = param.detach().reshape(-1)
                sample = flat[:: max(1, flat.numel() // 256)].float().cpu().numpy()
                digest.update(name.encode() + str(tuple(param.shape)).encode() + sample.tobytes())
        return digest.hexdigest()[:16]

    def prefix(self, side: Side) -> str:
        return self.config.query_prefix if side == "query" else self.config.document_prefix

    # ----------------------------------------------------------------------------------- training path
    def document_text(self, document: Document | str) -> str:
        """The text a document is encoded as: its title (when present), a newline, then its body."""
        if isinstance(document, str):
            return document
        title = (document.title or "").strip()
        return f"{title}\n{document.text}" if title else document.text

    def token_ids(self, texts: Sequence[str], side: Side, max_length: int | None = None) -> list[list[int]]:
        """Token ids of ``texts`` with the side's prefix, truncated: the one tokenisation path."""
        if isinstance(texts, str):
            raise TypeError("pass a sequence of texts, not a single string")
        prefix = self.prefix(side)
        return self.tokenizer(
            [prefix + t for t in texts], truncation=True, max_length=max_length or self.config.max_length
        )["input_ids"]

    def pad(self, ids: Sequence[list[int]]) -> dict[str, torch.Tensor]:
        """Pad token ids into ``input_ids`` / ``attention_mask`` tensors ``[batch, seq]`` on the device."""
        batch = self.tokenizer.pad({"input_ids": list(ids)}, return_tensors="pt")
        return {k: v.to(self.device) for k, v in batch.items() if k in ("input_ids", "attention_mask")}

    def tokenize(self, texts: Sequence[str], side: Side, max_length: int | None = None) -> dict:
        """Tokenise ``texts`` with the side's prefix; returns padded tensors on the encoder's device."""
        return self.pad(self.token_ids(texts, side, max_length))

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, side: Side = "query") -> torch.Tensor:
        """Pooled (and normalised) embeddings ``[batch, dim]`` for tokenised input ``[batch, seq]``."""
        tower = self.document_model if side == "document" and self.document_model is not None else self.model
        hidden = tower(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state  # [B, S, H]
        if self.config.pooling == "cls":
            pooled = hidden[:, 0]  # [B, H]
        else:
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)  # [B, S, 1]
            pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)  # [B, H]
        if self.config.normalize:
            pooled = nn.functional.normalize(pooled, p=2, dim=-1)
        return pooled

    def embed(self, texts: Sequence[str], side: Side, max_length: int | None = None) -> torch.Tensor:
        """Embeddings ``[len(texts), dim]`` with gradients (the training path)."""
        return self(**self.tokenize(texts, side, max_length), side=side)

    # ----------------------------------------------------------------------------------- serving path
    @torch.inference_mode()
    def encode(
        self, texts: Sequence[str], side: Side, *, batch_size: int = 32, show_progress: bool = False
    ) -> np.ndarray:
        """Embeddings ``[len(texts), dim]`` as float32 numpy, batched by length to waste little padding."""
        if isinstance(texts, str):
            raise TypeError("encode() takes a sequence of texts, not a single string")
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        was_training = self.training
        self.eval()
        ids = self.token_ids(texts, side)
        order = np.argsort([-len(x) for x in ids], kind="stable")
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        starts = range(0, len(order), batch_size)
        if show_progress:
            from tqdm.auto import tqdm

            starts = tqdm(starts, desc=f"encoding {side} texts", unit="batch")
        for start in starts:
            idx = order[start : start + batch_size]
            batch = self.pad([ids[i] for i in idx])
            with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.device.type == "cuda"):
                emb = self(batch["input_ids"], batch["attention_mask"], side=side)
            out[idx] = emb.float().cpu().numpy()
        self.train(was_training)
        return out

    def encode_queries(
        self, queries: Sequence[str], *, batch_size: int = 64, show_progress: bool = False
    ) -> np.ndarray:
        """Query embeddings ``[len(queries), dim]``."""
        return self.encode(queries, "query", batch_size=batch_size, show_progress=show_progress)

    def encode_documents(
        self, documents: Sequence[Document | str], *, batch_size: int = 32, show_progress: bool = False
    ) -> np.ndarray:
        """Document embeddings ``[len(documents), dim]``; a :class:`Document` is composed with its title
        (:meth:`document_text`), a plain string is taken as the whole document."""
        texts = [self.document_text(d) for d in documents]
        return self.encode(texts, "document", batch_size=batch_size, show_progress=show_progress)


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")
