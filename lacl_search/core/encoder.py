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

This is the torch backend (training, GPU inference in fp16, the reference). The config, the shared
batching and the backend-aware loader :func:`~lacl_search.core.encoding.load_encoder` live in
:mod:`lacl_search.core.encoding` (no torch); the ONNX Runtime backend, which runs graphs exported from
this class with the same pooling and normalisation inside, is :mod:`lacl_search.core.onnx_backend`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from torch import nn
from transformers import AutoModel, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

from lacl_search.core import registry
from lacl_search.core.encoding import (  # noqa: F401  (re-exported: the config lives with the encoder)
    CONFIG_NAME,
    DOCUMENT_TOWER_DIR,
    POOLINGS,
    EncoderConfig,
    EncodingMixin,
    Side,
    load_encoder,
    pad_ids,
)

log = logging.getLogger(__name__)
# GPU inference: fp16 autocast and batches of up to this many padded tokens (length-sorted).
GPU_MAX_TOKENS = 262144
GPU_MAX_BATCH = 1024
AUTOCAST_DTYPES = {"fp16": torch.float16, "bf16": torch.bfloat16, "fp32": None}
# GPU inference: texts are tokenised (on the CPU, in a thread) this many at a time, one chunk ahead of the GPU;
# batch outputs stay on the device and come back to the host this many batches at a time.
GPU_CHUNK = 8192
GPU_PENDING = 64


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


class Encoder(EncodingMixin, nn.Module):
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
        config = EncoderConfig.read(source, **overrides)
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
        """Load a registered name (``default``), a local folder or a hub id: what ``--model`` takes.

        Always the torch backend (training, GPU, reference); serving code that should follow the model's
        saved backend (ONNX Runtime on CPU) calls :func:`lacl_search.core.encoding.load_encoder`.
        """
        return cls.from_pretrained(registry.resolve(name_or_path), device=device, **overrides)

    def save_pretrained(self, path: str | Path) -> Path:
        """Write weights (safetensors), tokenizer and ``lacl_encoder.json`` to ``path``."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        self.model.save_pretrained(path)
        self.tokenizer.save_pretrained(path)
        if self.document_model is not None:
            self.document_model.save_pretrained(path / DOCUMENT_TOWER_DIR)
        # The folder holds torch weights only: ONNX graphs (and that backend choice) come from an export.
        replace(self.config, backend="torch").write(path)
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
        digest = hashlib.sha256(json.dumps(self.config.model_dict(), sort_keys=True).encode())
        with torch.no_grad():
            for name, param in self.named_parameters():
                flat = param.detach().reshape(-1)
                sample = flat[:: max(1, flat.numel() // 256)].float().cpu().numpy()
                digest.update(name.encode() + str(tuple(param.shape)).encode() + sample.tobytes())
        return digest.hexdigest()[:16]

    backend = "torch"
    gpu_dtype: str = "fp16"  # autocast on a GPU: fp16, bf16 or fp32 (none)
    cpu_dtype: str = "fp32"  # autocast on a CPU: fp32 (none) or bf16 (backend ``torch-bf16``)
    gpu_max_tokens: int = GPU_MAX_TOKENS  # padded tokens per GPU batch
    gpu_chunk: int = GPU_CHUNK  # texts tokenised ahead of the GPU

    # ----------------------------------------------------------------------------------- training path
    def token_ids(self, texts: Sequence[str], side: Side, max_length: int | None = None) -> list[list[int]]:
        """Token ids of ``texts`` with the side's prefix, truncated: the one tokenisation path."""
        if isinstance(texts, str):
            raise TypeError("pass a sequence of texts, not a single string")
        prefix = self.prefix(side)
        return self.tokenizer(
            [prefix + t for t in texts], truncation=True, max_length=max_length or self.config.max_length
        )["input_ids"]

    def pad(self, ids: Sequence[list[int]]) -> dict[str, torch.Tensor]:
        """Pad token ids into ``input_ids`` / ``attention_mask`` tensors ``[batch, seq]`` on the device (right
        padding with numpy; on a GPU copied from pinned memory without blocking the host)."""
        pad_id = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        cuda = self.device.type == "cuda"
        tensors = {k: torch.from_numpy(v) for k, v in pad_ids(ids, pad_id).items()}
        return {k: (v.pin_memory() if cuda else v).to(self.device, non_blocking=cuda) for k, v in tensors.items()}

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
    def _batch_limits(self, batch_size: int) -> tuple[int, int | None]:
        """On a GPU, large length-sorted batches bounded by padded tokens; on CPU small token-bounded ones."""
        if self.device.type == "cuda":
            return max(batch_size, GPU_MAX_BATCH), self.gpu_max_tokens
        return batch_size, self.cpu_max_tokens

    def _pipelined(self) -> bool:
        return self.device.type == "cuda"

    def encode(self, texts: Sequence[str], side: Side, *, batch_size: int = 32,
               show_progress: bool = False) -> np.ndarray:
        """As :meth:`EncodingMixin.encode`; on a GPU, long inputs are tokenised one chunk ahead in a thread
        (the tokenizer runs in Rust without the GIL) while the GPU encodes the chunk before."""
        if isinstance(texts, str) or not self._pipelined() or len(texts) <= self.gpu_chunk:
            return super().encode(texts, side, batch_size=batch_size, show_progress=show_progress)
        chunks = [texts[i : i + self.gpu_chunk] for i in range(0, len(texts), self.gpu_chunk)]
        parts = []
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="tokenize") as pool:
            ahead = pool.submit(self.token_ids, chunks[0], side)
            for k in range(len(chunks)):
                ids = ahead.result()
                if k + 1 < len(chunks):
                    ahead = pool.submit(self.token_ids, chunks[k + 1], side)
                parts.append(self.encode_ids(ids, side, batch_size=batch_size, show_progress=show_progress))
        return np.concatenate(parts)

    def _embed_batches(self, ids: Sequence[list[int]], batches: Iterable[np.ndarray], side: Side,
                       out: np.ndarray) -> None:
        """Queue the batches without waiting for each: outputs stay on the device and are copied back
        :data:`GPU_PENDING` batches at a time (one synchronisation each), so padding the next batch on the
        CPU overlaps the GPU's work on the last."""
        pending: list[tuple[np.ndarray, torch.Tensor]] = []
        for idx in batches:
            pending.append((idx, self._embed_tensor([ids[i] for i in idx], side)))
            if len(pending) >= GPU_PENDING:
                _collect(pending, out)
        _collect(pending, out)

    def _embed_ids(self, ids: Sequence[list[int]], side: Side) -> np.ndarray:
        """Embeddings ``[len(ids), dim]`` float32 of one batch, in eval mode, fp16 autocast on a GPU."""
        return self._embed_tensor(ids, side).cpu().numpy()

    @torch.inference_mode()
    def _embed_tensor(self, ids: Sequence[list[int]], side: Side) -> torch.Tensor:
        """One batch's embeddings ``[len(ids), dim]`` float32, left on the encoder's device."""
        was_training = self.training
        self.eval()
        batch = self.pad(ids)
        dtype = inference_dtype(self.device.type, self.gpu_dtype, self.cpu_dtype)
        autocast = torch.autocast(self.device.type, dtype=dtype) if dtype is not None else contextlib.nullcontext()
        with autocast:
            emb = self(batch["input_ids"], batch["attention_mask"], side=side)  # [B, H]
        self.train(was_training)
        return emb.float()


def _collect(pending: list[tuple[np.ndarray, torch.Tensor]], out: np.ndarray) -> None:
    """Copy queued batch outputs to the host rows they belong to (one device synchronisation)."""
    if pending:
        out[np.concatenate([idx for idx, _ in pending])] = torch.cat([emb for _, emb in pending]).cpu().numpy()
        pending.clear()


def inference_dtype(device_type: str, gpu_dtype: str = "fp16", cpu_dtype: str = "fp32") -> torch.dtype | None:
    """The autocast dtype for inference on ``device_type``: ``gpu_dtype`` on CUDA, ``cpu_dtype`` elsewhere
    (None: no autocast, fp32).

    fp16 by default rather than bf16: inference only (no gradients to overflow), and its 10-bit mantissa
    keeps embeddings closer to fp32 than bf16's 7 bits (``benchmarks/gpu_throughput.py`` measures both).
    """
    chosen = gpu_dtype if device_type == "cuda" else cpu_dtype
    if chosen not in AUTOCAST_DTYPES or (device_type != "cuda" and chosen == "fp16"):
        raise ValueError(f"unsupported inference dtype {chosen!r} on {device_type}")
    return AUTOCAST_DTYPES[chosen]


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")
