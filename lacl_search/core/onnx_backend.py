"""The ONNX Runtime backend: the same encoder, served on CPU without torch.

``lacl-search model export`` (:mod:`lacl_provision.models.export`) traces
:meth:`lacl_search.core.encoder.Encoder.forward` — transformer, pooling and L2 normalisation — into
``onnx/model.onnx`` (fp32) and ``onnx/model_int8.onnx`` (dynamic int8 quantisation), next to the torch
weights, with ``onnx/export.json`` describing the export. :class:`OnnxEncoder` runs those graphs with
ONNX Runtime; tokenisation uses the model folder's ``tokenizer.json`` through ``tokenizers`` with the
same truncation as the torch path, and prefixes, document composition and length-sorted batching come
from :class:`~lacl_search.core.encoding.EncodingMixin`. Nothing here imports torch or transformers.

Graph contract: inputs ``input_ids`` and ``attention_mask`` ``[batch, seq]`` int64, output
``embedding`` ``[batch, dim]`` float32.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from lacl_search.core.encoding import ONNX_DIR, EncoderConfig, EncodingMixin, Side, onnx_file, pad_ids
from lacl_search.errors import ArtifactMissing

log = logging.getLogger(__name__)

EXPORT_META = "export.json"
TOKENIZER_FILE = "tokenizer.json"
THREADS_VARIABLE = "LACL_THREADS"


def session_options(threads: int | None = None, spin: bool = False):
    """ONNX Runtime options: all graph optimisations, ``threads`` (default ``$LACL_THREADS`` or all
    cores) and, unless ``spin``, no spin-waiting, which on small machines shared with OpenSearch burns the
    cores the server needs during bulk encoding (the same reason the CLI sets ``OMP_WAIT_POLICY=PASSIVE``
    for torch); single queries gain ~1.5 ms from it (``load_encoder(..., latency=True)``)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    threads = threads or int(os.environ.get(THREADS_VARIABLE) or 0)
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
    return options


class OnnxEncoder(EncodingMixin):
    """An exported encoder run by ONNX Runtime, with the serving API of the torch ``Encoder``.

    Args:
        folder: the model folder (torch weights, tokenizer, ``lacl_encoder.json``, ``onnx/``).
        config: how text becomes a vector (``backend`` says which graph is run).
        threads: intra-op threads (default ``$LACL_THREADS`` or all cores).
        spin: let the threads spin-wait between operators (lower latency per query, more CPU burnt).
    """

    runtime = "ONNX Runtime"
    # from_pretrained keywords that go to the constructor, not to the config (a subclass's runtime settings)
    runtime_options: tuple[str, ...] = ()

    def __init__(self, folder: str | Path, config: EncoderConfig, *, threads: int | None = None,
                 spin: bool = False) -> None:
        from tokenizers import Tokenizer

        self.folder = Path(folder)
        self.config = config
        self.backend = config.backend
        self.meta = read_export_meta(self.folder)
        self._sessions: dict[Side, object] = {}
        for side in ("query", "document"):
            path = onnx_file(self.folder, config.backend, side, config.tied)
            if not path.is_file():
                raise ArtifactMissing(f"no {config.backend} graph at {path}; run "
                                      f"`lacl-search model export --backend {config.backend} {self.folder}`")
            if side == "document" and config.tied:
                self._sessions[side] = self._sessions["query"]
            else:
                self._sessions[side] = self._open(path, threads=threads, spin=spin)
        self.tokenizer = Tokenizer.from_file(str(self.folder / TOKENIZER_FILE))
        self.tokenizer.no_padding()
        self.pad_id = _pad_id(self.folder, self.tokenizer)
        self._dim = int(self.meta["dim"])
        self._fingerprint: str | None = None

    @classmethod
    def from_pretrained(cls, folder: str | Path, *, backend: str = "onnx-int8", threads: int | None = None,
                        spin: bool = False, **overrides: object) -> OnnxEncoder:
        """Load an exported model folder; ``overrides`` replace fields of its :class:`EncoderConfig` (except
        the class's :attr:`runtime_options`, which go to its constructor)."""
        options = {name: overrides.pop(name) for name in cls.runtime_options if name in overrides}
        config = EncoderConfig.read(folder, **{**overrides, "backend": backend})
        encoder = cls(folder, config, threads=threads, spin=spin, **options)
        log.info("loaded encoder %s (dim %d, %s, %s)", folder, encoder.dim, backend, encoder.runtime)
        return encoder

    def _open(self, path: Path, *, threads: int | None, spin: bool) -> object:
        """One graph, ready to run (an ONNX Runtime session on the CPU)."""
        import onnxruntime as ort

        return ort.InferenceSession(str(path), session_options(threads, spin), providers=["CPUExecutionProvider"])

    @property
    def dim(self) -> int:
        return self._dim

    def token_ids(self, texts: Sequence[str], side: Side, max_length: int | None = None) -> list[list[int]]:
        """Token ids of ``texts`` with the side's prefix, truncated as the torch path truncates."""
        if isinstance(texts, str):
            raise TypeError("pass a sequence of texts, not a single string")
        self.tokenizer.enable_truncation(max_length or self.config.max_length)
        prefix = self.prefix(side)
        return [e.ids for e in self.tokenizer.encode_batch([prefix + t for t in texts])]

    def pad(self, ids: Sequence[list[int]]) -> dict[str, np.ndarray]:
        """Right-padded ``input_ids`` / ``attention_mask`` ``[batch, seq]`` int64."""
        return pad_ids(ids, self.pad_id)

    def _embed_ids(self, ids: Sequence[list[int]], side: Side) -> np.ndarray:
        (emb,) = self._sessions[side].run(["embedding"], self.pad(ids))  # [B, H]
        return emb.astype(np.float32, copy=False)

    def fingerprint(self) -> str:
        """The torch backend's fingerprint of the same weights and config (see :meth:`Encoder.fingerprint`),
        computed from the safetensors files without torch: an index built by either backend matches."""
        if self._fingerprint is None:
            from safetensors import safe_open

            digest = hashlib.sha256(json.dumps(self.config.model_dict(), sort_keys=True).encode())
            handles = {}
            for name, file, key, shape in self.meta["parameters"]:
                if file not in handles:
                    handles[file] = safe_open(str(self.folder / file), framework="np")
                sample = _strided_sample(handles[file].get_slice(key), shape).astype(np.float32)
                digest.update(name.encode() + str(tuple(shape)).encode() + sample.tobytes())
            self._fingerprint = digest.hexdigest()[:16]
        return self._fingerprint


def _strided_sample(tensor, shape: list[int]) -> np.ndarray:
    """``flat[::max(1, numel // 256)]`` of a safetensors slice, reading only the rows that hold it."""
    numel = int(np.prod(shape)) if shape else 1
    step = max(1, numel // 256)
    if len(shape) < 2:
        return tensor[:].reshape(-1)[::step]
    width = numel // shape[0]
    flat = np.arange(0, numel, step)
    rows = {r: tensor[r : r + 1].reshape(-1) for r in np.unique(flat // width).tolist()}
    return np.array([rows[i // width][i % width] for i in flat.tolist()])


def read_export_meta(folder: str | Path) -> dict:
    path = Path(folder) / ONNX_DIR / EXPORT_META
    if not path.is_file():
        raise ArtifactMissing(f"{folder} has no ONNX export ({path}); run `lacl-search model export {folder}`")
    return json.loads(path.read_text(encoding="utf-8"))


def _pad_id(folder: Path, tokenizer) -> int:
    """The pad token id the torch tokenizer pads with (``tokenizer_config.json``'s ``pad_token``)."""
    config_file = folder / "tokenizer_config.json"
    pad = None
    if config_file.is_file():
        pad = json.loads(config_file.read_text(encoding="utf-8")).get("pad_token")
        if isinstance(pad, dict):
            pad = pad.get("content")
    pad_id = tokenizer.token_to_id(pad) if pad else None
    return int(pad_id) if pad_id is not None else 0
