"""Which layers lose accuracy under dynamic int8 quantisation? One operator group quantised at a time.

Usage (a folder exported with `lacl-search model export FOLDER`):
    python benchmarks/int8_sensitivity.py --model FOLDER [--texts 160] [--per-layer ffn_out]

Groups of the fused fp32 graph (``onnx/model.onnx``): ``embeddings`` (EmbedLayerNormalization's
tables), ``attention`` (fused QKV + attention), ``attn_out``, ``ffn_in``, ``ffn_out`` (the 1536 -> 384
projection after GELU), and ``all``. Each variant quantises only that group (per-channel int8
weights, dynamic uint8 activations) and reports the cosine to the fp32 graph on queries and documents
sampled from every dev benchmark language (min / median / mean of 1 - cos). ``--per-layer GROUP``
also quantises that group one layer at a time.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from pathlib import Path

import numpy as np

from lacl_search.core.onnx_backend import OnnxEncoder
from lacl_search.evaluation import beir

GROUPS = {
    "embeddings": r"^EmbedLayerNormalization",
    "attention": r"^Attention",
    "attn_out": r"/attention/output/dense/MatMul$",
    "ffn_in": r"/intermediate/dense/MatMul$",
    "ffn_out": r"layer\.\d+/output/dense/MatMul$",
}
BENCHES = ("xling-de-en", "xling-ja-en", "xling-ru-en", "xling-da-en", "xling-ko-en", "mixed")


def sample_texts(n: int) -> list[tuple[str, str]]:
    """(side, text) pairs: queries of every benchmark and mixed-language documents."""
    out = []
    for name in BENCHES:
        queries = [q.text for q in beir.load_queries(Path("data/ddtp") / name)]
        out += [("query", t) for t in queries[:: max(1, len(queries) // (n // (2 * len(BENCHES))))]]
    docs = list(beir.iter_corpus(Path("data/ddtp/mixed")))
    out += [("document", f"{d.title}\n{d.text}" if d.title else d.text) for d in docs[:: max(1, len(docs) // (n // 2))]]
    return out


def embed(encoder: OnnxEncoder, texts: list[tuple[str, str]]) -> np.ndarray:
    return np.concatenate([encoder.encode([t for s, t in texts if s == side], side) for side in ("query", "document")])


def quantized_variant(fp32: Path, nodes: list[str], out: Path) -> None:
    from onnx import TensorProto
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(fp32, out, nodes_to_quantize=nodes, per_channel=True, weight_type=QuantType.QInt8,
                     op_types_to_quantize=["MatMul", "Attention", "EmbedLayerNormalization", "Gather"],
                     extra_options={"DefaultTensorType": TensorProto.FLOAT})


def int8_encoder(folder: Path, graph: Path, nodes: list[str], work: Path) -> OnnxEncoder:
    """An ``onnx-int8`` encoder whose graph is ``graph`` with ``nodes`` quantised: ``work`` becomes a stand-in
    of ``folder`` (its files linked, the variant graph written as ``onnx/model_int8.onnx``)."""
    (work / "onnx").mkdir(parents=True, exist_ok=True)
    for item in [*folder.iterdir(), *(folder / "onnx").iterdir()]:
        link = work / item.relative_to(folder)
        if item.is_file() and item.name != "model_int8.onnx" and not link.exists():
            link.symlink_to(item)
    quantized_variant(graph, nodes, work / "onnx" / "model_int8.onnx")
    return OnnxEncoder.from_pretrained(work, backend="onnx-int8")


def main() -> int:
    import onnx

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--texts", type=int, default=160)
    parser.add_argument("--per-layer", choices=sorted(GROUPS))
    args = parser.parse_args()
    folder = Path(args.model)
    fp32 = folder / "onnx" / "model.onnx"
    names = [n.name for n in onnx.load(str(fp32), load_external_data=False).graph.node]
    texts = sample_texts(args.texts)
    reference = embed(OnnxEncoder.from_pretrained(folder, backend="onnx-fp32"), texts)
    variants = {g: [n for n in names if re.search(p, n)] for g, p in GROUPS.items()}
    variants["all"] = [n for group in list(variants.values()) for n in group]
    if args.per_layer:
        for layer in range(12):
            variants[f"{args.per_layer}[{layer}]"] = [n for n in variants[args.per_layer]
                                                      if f"layer.{layer}/" in n or n.endswith(f"_{layer}")]
    w = sys.stdout.write
    w(f"{len(texts)} texts; cosine to the fp32 graph\n\n| quantised | nodes | cos min | cos median | mean 1-cos |\n"
      "|---|---|---|---|---|\n")
    with tempfile.TemporaryDirectory() as tmp:
        for label, nodes in variants.items():
            cos = (embed(int8_encoder(folder, fp32, nodes, Path(tmp)), texts) * reference).sum(1)
            w(f"| {label} | {len(nodes)} | {cos.min():.4f} | {np.median(cos):.4f} | {np.mean(1 - cos):.5f} |\n")
            sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
