"""What every encoder backend shares, without importing torch: the config, the batching, the loader.

A model folder carries ``lacl_encoder.json`` (:class:`EncoderConfig`): pooling, normalisation,
maximum length, the query / document prefixes and the inference ``backend`` it should be served with.
Two backends implement the same serving API (``token_ids``, ``encode``, ``encode_queries``,
``encode_documents``, ``document_text``, ``dim``, ``config``, ``fingerprint``):

- ``torch`` (:class:`lacl_search.core.encoder.Encoder`): training, GPU (fp16 autocast) and the reference;
  ``torch-bf16`` is the same with bf16 autocast on the CPU;
- ``onnx-fp32`` / ``onnx-int8`` (:class:`lacl_search.core.onnx_backend.OnnxEncoder`): ONNX Runtime on
  CPU, graphs exported from the torch encoder with pooling and normalisation inside
  (``lacl-search model export``), so a search process never imports torch;
- ``openvino`` (:class:`lacl_search.core.openvino_backend.OpenVinoEncoder`): the same fp32 graph compiled
  by OpenVINO, in bf16 on CPUs with native bf16, else fp32: the CPU default.

:func:`load_encoder` picks the backend (saved option, or ``backend=`` at load time) and imports only
that backend's runtime; :func:`load_document_encoder` (ingest) prefers torch fp16 when a GPU is present.
Both backends run :meth:`EncodingMixin.encode`: prefixes, truncation, and length-sorted batches are
decided here once.
"""

from __future__ import annotations

import importlib.util
import json
import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from lacl_search.core import registry
from lacl_search.core.types import Document
from lacl_search.errors import ArtifactMissing, ConfigError

if TYPE_CHECKING:
    from lacl_search.core.encoder import Encoder
    from lacl_search.core.onnx_backend import OnnxEncoder

log = logging.getLogger(__name__)

CONFIG_NAME = "lacl_encoder.json"
DOCUMENT_TOWER_DIR = "document_encoder"
ONNX_DIR = "onnx"
Side = Literal["query", "document"]
POOLINGS = ("mean", "cls")
BACKENDS = ("torch", "torch-bf16", "onnx-fp32", "onnx-int8", "openvino")
# The fastest backend that passed the quality gate on the dev benchmarks (docs/encoding.md): OpenVINO on the
# fused graph (bf16 where the CPU has it) lost 0.0000 nDCG@10 on the mean (0.0026 at most) and encodes ~2 x
# ONNX Runtime fp32 on 2 cores; every int8 variant lost more than 0.005 on the mean, so int8 is opt-in.
CPU_DEFAULT_BACKEND = "openvino"
# Backends that run the graphs `lacl-search model export` writes (``onnx/``), not the torch weights.
EXPORTED_BACKENDS = ("onnx-fp32", "onnx-int8", "openvino")
# Fields that choose how a model is run, not what it computes: left out of the fingerprint.
RUNTIME_FIELDS = ("backend",)


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
        backend: how :func:`load_encoder` runs the model by default, one of :data:`BACKENDS`
            (``onnx-*`` need ``lacl-search model export`` first).
    """

    pooling: str = "mean"
    normalize: bool = True
    max_length: int = 512
    query_prefix: str = ""
    document_prefix: str = ""
    tied: bool = True
    backend: str = "torch"

    def __post_init__(self) -> None:
        if self.pooling not in POOLINGS:
            raise ConfigError(f"pooling must be one of {POOLINGS}, got {self.pooling!r}")
        if self.max_length < 8:
            raise ConfigError(f"max_length must be at least 8, got {self.max_length}")
        if self.backend not in BACKENDS:
            raise ConfigError(f"backend must be one of {BACKENDS}, got {self.backend!r}")

    @property
    def space_type(self) -> str:
        """The OpenSearch k-NN space that matches this encoder's similarity."""
        return "cosinesimil" if self.normalize else "innerproduct"

    def model_dict(self) -> dict:
        """The fields that decide the vectors (everything but the runtime choice)."""
        return {k: v for k, v in asdict(self).items() if k not in RUNTIME_FIELDS}

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

    @classmethod
    def read(cls, source: str | Path, **overrides: object) -> EncoderConfig:
        """The saved config of a model folder (or the guess for a hub id), with ``overrides`` applied."""
        config_file = Path(source) / CONFIG_NAME
        if config_file.is_file():
            config = cls.from_dict(json.loads(config_file.read_text(encoding="utf-8")))
        else:
            config = cls.guess(str(source))
        return cls.from_dict({**asdict(config), **overrides}) if overrides else config

    def write(self, folder: str | Path) -> Path:
        path = Path(folder) / CONFIG_NAME
        path.write_text(json.dumps(asdict(self), indent=2) + "\n", encoding="utf-8")
        return path


# On CPU, padded tokens per batch: small batches of long texts, larger ones of short texts. Measured with the
# ONNX fp32 default model on 2 cores (256 DDTP documents, mean 97 tokens; docs/encoding.md): batch 2-4 or a
# 512-768 token budget encoded 1.5-1.8x as many docs/s as batches of 32 (attention tensors stay in cache).
CPU_MAX_TOKENS = 512


def length_batches(lengths: Sequence[int], batch_size: int, max_tokens: int | None = None) -> Iterator[np.ndarray]:
    """Indices of texts in batches of similar length, longest first (little padding is wasted).

    A batch holds at most ``batch_size`` texts and, when ``max_tokens`` is set, at most that many
    padded tokens (``len(batch) * longest``): large batches of short texts, small ones of long texts.
    """
    order = np.argsort([-n for n in lengths], kind="stable")
    start = 0
    while start < len(order):
        longest = max(1, int(lengths[order[start]]))
        size = batch_size if max_tokens is None else max(1, min(batch_size, max_tokens // longest))
        yield order[start : start + size]
        start += size


def pad_ids(ids: Sequence[list[int]], pad_id: int) -> dict[str, np.ndarray]:
    """Right-padded ``input_ids`` / ``attention_mask`` ``[batch, seq]`` int64 (numpy: ~10x faster than the
    tokenizer's ``pad`` for large GPU batches)."""
    width = max(len(x) for x in ids)
    input_ids = np.full((len(ids), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(ids), width), dtype=np.int64)
    for row, x in enumerate(ids):
        input_ids[row, : len(x)] = x
        mask[row, : len(x)] = 1
    return {"input_ids": input_ids, "attention_mask": mask}


class EncodingMixin:
    """The serving API both backends share; a backend provides ``token_ids``, ``dim`` and
    ``_embed_ids(ids, side) -> [batch, dim] float32``."""

    config: EncoderConfig
    cpu_max_tokens: int | None = CPU_MAX_TOKENS  # padded tokens per CPU batch (None: the caller's batch size only)

    def prefix(self, side: Side) -> str:
        return self.config.query_prefix if side == "query" else self.config.document_prefix

    def document_text(self, document: Document | str) -> str:
        """The text a document is encoded as: its title (when present), a newline, then its body."""
        if isinstance(document, str):
            return document
        title = (document.title or "").strip()
        return f"{title}\n{document.text}" if title else document.text

    def _batch_limits(self, batch_size: int) -> tuple[int, int | None]:
        """(texts, padded tokens) per batch: on CPU at most :data:`CPU_MAX_TOKENS` padded tokens."""
        return batch_size, self.cpu_max_tokens

    def encode(
        self, texts: Sequence[str], side: Side, *, batch_size: int = 32, show_progress: bool = False
    ) -> np.ndarray:
        """Embeddings ``[len(texts), dim]`` as float32 numpy, batched by length to waste little padding."""
        if isinstance(texts, str):
            raise TypeError("encode() takes a sequence of texts, not a single string")
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self.encode_ids(self.token_ids(texts, side), side, batch_size=batch_size, show_progress=show_progress)

    def encode_ids(self, ids: Sequence[list[int]], side: Side, *, batch_size: int = 32,
                   show_progress: bool = False) -> np.ndarray:
        """Embeddings ``[len(ids), dim]`` of already tokenised texts, in length-sorted batches."""
        out = np.empty((len(ids), self.dim), dtype=np.float32)
        batches = list(length_batches([len(x) for x in ids], *self._batch_limits(batch_size)))
        if show_progress:
            from tqdm.auto import tqdm

            batches = tqdm(batches, desc=f"encoding {side} texts", unit="batch")
        self._embed_batches(ids, batches, side, out)
        return out

    def _embed_batches(self, ids: Sequence[list[int]], batches: Iterable[np.ndarray], side: Side,
                       out: np.ndarray) -> None:
        """Fill ``out[idx]`` for every batch of indices (a backend may queue batches asynchronously)."""
        for idx in batches:
            out[idx] = self._embed_ids([ids[i] for i in idx], side)

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


def onnx_file(folder: str | Path, backend: str, side: Side = "query", tied: bool = True) -> Path:
    """Where ``lacl-search model export`` writes a backend's graph: ``onnx/model[_int8].onnx`` (the
    document tower of an untied model under ``onnx/document_encoder/``)."""
    name = "model_int8.onnx" if backend == "onnx-int8" else "model.onnx"
    base = Path(folder) / ONNX_DIR
    return base / DOCUMENT_TOWER_DIR / name if side == "document" and not tied else base / name


def gpu_present() -> bool:
    """Whether torch sees a CUDA GPU; torch is only imported where an NVIDIA device node exists, so a
    CPU-only search process never pays for the import."""
    if not any(Path("/dev").glob("nvidia[0-9]*")):
        return False
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def load_document_encoder(name_or_path: str, *, backend: str | None = None,
                          **overrides: object) -> Encoder | OnnxEncoder:
    """The encoder for bulk document encoding (ingest), fastest first.

    ``backend`` if given. Else, on a CUDA GPU, for a model saved for full precision (``torch``, ``onnx-fp32``
    or ``openvino``; a saved ``onnx-int8`` was chosen on purpose and is kept), the torch encoder in fp16
    (10,700 docs/s on an H200; passed the quality gate, docs/encoding.md). Else the model's saved backend
    (on CPUs, ``openvino`` is the default and the fastest that passed the gate; ``torch-bf16`` encodes
    1.19 x faster than ONNX Runtime fp32 but ingests no faster, torch's threads competing with the cluster).
    Queries keep the saved backend (a search process never imports torch); vectors of both come from the
    same weights.
    """
    if backend is None and gpu_present():
        saved = EncoderConfig.read(registry.resolve(name_or_path)).backend
        if saved in ("torch", "onnx-fp32", "openvino") and importlib.util.find_spec("torch") is not None:
            backend = "torch"
    if backend is not None:
        log.info("documents encoded with backend %s", backend)
    return load_encoder(name_or_path, backend=backend, **overrides)


def load_encoder(name_or_path: str, *, backend: str | None = None, device: str | None = None,
                 latency: bool = False, **overrides: object) -> Encoder | OnnxEncoder:
    """Load ``default``, a local folder or a hub id with its saved backend, or ``backend`` if given.

    ``overrides`` replace fields of the saved :class:`EncoderConfig`; ``device`` applies to torch.
    ``latency``: tuned for one query at a time (ONNX worker threads spin-wait between operators: 6.8-7.0
    against 8.2-8.8 ms p50 per short query on 2 cores; searches and the demo), at the cost of CPU time the
    threads burn while encoding (off for ingest, which shares the cores with its bulk writers).
    Only the chosen backend's runtime is imported (``onnx-*`` and ``openvino`` never import torch).
    A model saved for ``openvino`` loaded with ``latency`` (and no ``backend``) runs the same fp32 graph with
    ONNX Runtime: one query at a time is no faster with OpenVINO (8.4 ms p50 for both) while its compile
    step adds 0.3-0.7 s and ~100 MiB to a search command; exact fp32 queries against bf16 documents passed
    the quality gate too (docs/encoding.md).
    """
    source = registry.resolve(name_or_path)
    chosen = backend or EncoderConfig.read(source).backend
    if chosen == "openvino" and latency and backend is None:
        chosen = "onnx-fp32"
    if chosen not in BACKENDS:
        raise ConfigError(f"backend must be one of {BACKENDS}, got {chosen!r}")
    if chosen in ("torch", "torch-bf16"):
        from lacl_search.core.encoder import Encoder

        encoder = Encoder.from_pretrained(source, device=device, **overrides)
        if chosen == "torch-bf16":
            encoder.cpu_dtype, encoder.backend = "bf16", chosen
        return encoder
    if not Path(source).is_dir():
        raise ArtifactMissing(f"backend {chosen} needs a local model folder, got {source!r}")
    if chosen == "openvino":
        from lacl_search.core.openvino_backend import OpenVinoEncoder as encoder_class
    else:
        from lacl_search.core.onnx_backend import OnnxEncoder as encoder_class
    return encoder_class.from_pretrained(source, backend=chosen, spin=latency, **overrides)
