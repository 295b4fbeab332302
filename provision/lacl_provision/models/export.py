"""Export a model folder to ONNX (fp32, and int8 by dynamic quantisation) for the ONNX Runtime and OpenVINO backends.

``export(folder)`` loads the folder with the torch :class:`~lacl_search.core.encoder.Encoder`, traces
its ``forward`` (transformer + pooling + L2 normalisation, per tower) with ``torch.onnx.export``, then
quantises the fp32 graph with ONNX Runtime's dynamic quantisation (int8 weights, activations quantised
per batch at run time; https://onnxruntime.ai/docs/performance/model-optimizations/quantization.html).
The graphs go to ``FOLDER/onnx/`` next to the torch weights, with ``export.json`` recording versions,
settings, the parameter list the fingerprint is computed from, and each exported backend's cosine to torch
on :data:`CHECK_TEXTS` (``openvino`` runs the fp32 graph). With ``backend=...`` the folder's
``lacl_encoder.json`` is switched to that backend (what :func:`lacl_search.core.encoding.load_encoder` then
serves by default).
"""

from __future__ import annotations

import json
import logging
import re
import shutil
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from torch import nn

from lacl_search.core.encoder import DOCUMENT_TOWER_DIR, Encoder
from lacl_search.core.encoding import BACKENDS, EXPORTED_BACKENDS, ONNX_DIR, onnx_file
from lacl_search.core.onnx_backend import EXPORT_META
from lacl_search.errors import ConfigError

log = logging.getLogger(__name__)

OPSET = 17
FFN_OUTPUT = r"layer\.\d+/output/dense/MatMul$"
CHECK_TEXTS = (
    "The cat sleeps on the sofa.",
    "Die Katze schläft auf dem Sofa.",
    "猫はソファで寝ています。",
    "Кошка спит на диване, а собака лежит у двери и ждёт хозяина.",
    "Interest rates rose again in the third quarter, according to the central bank's report.",
)


@dataclass(frozen=True)
class QuantOptions:
    """Dynamic int8 quantisation settings (ONNX Runtime ``quantize_dynamic``).

    Attributes:
        per_channel: one scale per output channel of each weight matrix instead of one per matrix.
        embeddings: also quantise the embedding tables (``Gather``); they hold most of the bytes.
        exclude: regular expressions; matching node names stay fp32. The default keeps the FFN output
            projections (1536 -> 384 after GELU, whose activations have outliers) in fp32: quantised
            alone they cost 70 % of int8's embedding error (benchmarks/int8_sensitivity.py).
        fuse: run ONNX Runtime's transformer optimiser first (fused attention, LayerNorm, GELU kernels).
    """

    per_channel: bool = True
    embeddings: bool = True
    exclude: tuple[str, ...] = (FFN_OUTPUT,)
    fuse: bool = True


class _Tower(nn.Module):
    """One side of the encoder as a traceable module: ids and mask in, embedding out."""

    def __init__(self, encoder: Encoder, side: str) -> None:
        super().__init__()
        self.encoder, self.side = encoder, side

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.encoder(input_ids, attention_mask, side=self.side)  # [B, H]


def export(folder: str | Path, *, backend: str | None = None, quant: QuantOptions | None = None) -> Path:
    """Write ``folder/onnx/`` (fp32 and int8 graphs, ``export.json``); returns that folder.

    Args:
        folder: a model folder (``save_pretrained`` output or the installed default).
        backend: if given, make it the folder's saved backend in ``lacl_encoder.json``.
        quant: int8 settings (default :class:`QuantOptions`).
    """
    if backend is not None and backend not in BACKENDS:
        raise ConfigError(f"backend must be one of {BACKENDS}, got {backend!r}")
    folder, quant = Path(folder), quant or QuantOptions()
    encoder = Encoder.from_pretrained(folder, device="cpu").eval()
    work = folder / f".{ONNX_DIR}.tmp"
    shutil.rmtree(work, ignore_errors=True)
    sides = ("query",) if encoder.config.tied else ("query", "document")
    for side in sides:
        fp32 = work / onnx_file(folder, "onnx-fp32", side, encoder.config.tied).relative_to(folder / ONNX_DIR)
        _trace(encoder, side, fp32)
        if quant.fuse:
            _fuse(fp32, encoder)
        _quantize(fp32, fp32.with_name("model_int8.onnx"), quant)
    meta = {
        "dim": encoder.dim,
        "opset": OPSET,
        "torch": torch.__version__,
        "onnxruntime": _ort_version(),
        "quantization": {"per_channel": quant.per_channel, "embeddings": quant.embeddings,
                         "exclude": list(quant.exclude), "fused": quant.fuse, "weights": "int8",
                         "activations": "dynamic uint8"},
        "fingerprint": encoder.fingerprint(),
        "parameters": _parameter_files(encoder, folder),
    }
    (work / EXPORT_META).write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    target = folder / ONNX_DIR
    shutil.rmtree(target, ignore_errors=True)
    work.rename(target)
    meta["check"] = check(folder, encoder)
    (target / EXPORT_META).write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    if backend is not None:
        replace(encoder.config, backend=backend).write(folder)
    log.info("exported %s to %s (%s)", folder, target, meta["check"])
    return target


def _trace(encoder: Encoder, side: str, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    for tower in (encoder.model, encoder.document_model):
        if tower is not None:  # explicit attention ops: the pattern ONNX Runtime's fusions recognise
            tower.set_attn_implementation("eager")
    ids = encoder.pad(encoder.token_ids(["an example text", "x"], side))
    torch.onnx.export(
        _Tower(encoder, side), (ids["input_ids"], ids["attention_mask"]), str(path),
        input_names=["input_ids", "attention_mask"], output_names=["embedding"],
        dynamic_axes={"input_ids": {0: "batch", 1: "seq"}, "attention_mask": {0: "batch", 1: "seq"},
                      "embedding": {0: "batch"}},
        opset_version=OPSET, do_constant_folding=True, dynamo=False,
    )  # fmt: skip


def _fuse(path: Path, encoder: Encoder) -> None:
    """Rewrite ``path`` with ONNX Runtime's BERT fusions (one Attention op per layer, SkipLayerNorm, ...)."""
    from onnxruntime.transformers.optimizer import optimize_model

    config = encoder.model.config
    model = optimize_model(str(path), model_type="bert", num_heads=config.num_attention_heads,
                           hidden_size=config.hidden_size)
    log.info("fused operators: %s", model.get_fused_operator_statistics())
    model.save_model_to_file(str(path))


def _quantize(fp32: Path, int8: Path, quant: QuantOptions) -> None:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    op_types = ["MatMul", "Attention"] + (["Gather", "EmbedLayerNormalization"] if quant.embeddings else [])
    names = [n.name for n in onnx.load(str(fp32), load_external_data=False).graph.node]
    exclude = [n for n in names if any(re.search(p, n) for p in quant.exclude)]
    # Fused contrib ops defeat ONNX shape inference: their outputs are float32 tensors.
    quantize_dynamic(fp32, int8, op_types_to_quantize=op_types, per_channel=quant.per_channel,
                     weight_type=QuantType.QInt8, nodes_to_exclude=exclude or None,
                     extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})


def _parameter_files(encoder: Encoder, folder: Path) -> list[list]:
    """``[name, file, key, shape]`` per parameter, in the order :meth:`Encoder.fingerprint` hashes them."""
    from safetensors import safe_open

    rows, keys = [], {}
    for name, param in encoder.named_parameters():
        tower, key = name.split(".", 1)
        file = "model.safetensors" if tower == "model" else f"{DOCUMENT_TOWER_DIR}/model.safetensors"
        if file not in keys:
            with safe_open(str(folder / file), framework="np") as fh:
                keys[file] = set(fh.keys())
        if key not in keys[file]:
            raise ConfigError(f"parameter {name} not found as {key!r} in {folder / file}")
        rows.append([name, file, key, list(param.shape)])
    return rows


def check(folder: Path, encoder: Encoder, texts: tuple[str, ...] = CHECK_TEXTS) -> dict[str, float]:
    """Minimum cosine between torch and each exported backend on ``texts`` (queries and documents)."""
    from lacl_search.core.encoding import load_encoder

    reference = np.concatenate([encoder.encode_queries(list(texts)), encoder.encode_documents(list(texts))])
    out = {}
    for backend in EXPORTED_BACKENDS:
        onnx = load_encoder(str(folder), backend=backend)
        got = np.concatenate([onnx.encode_queries(list(texts)), onnx.encode_documents(list(texts))])
        out[f"{backend}_min_cosine"] = round(float(_cosines(reference, got).min()), 6)
    return out


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise cosine of ``[n, dim]`` arrays."""
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def _ort_version() -> str:
    import onnxruntime

    return onnxruntime.__version__

