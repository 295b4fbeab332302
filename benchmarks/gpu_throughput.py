"""GPU encoding throughput: documents per second of the torch encoder on CUDA, per autocast dtype and batch budget.

Usage (on a machine with a CUDA GPU; one run, the same documents for every setting):
    python benchmarks/gpu_throughput.py --model default --corpus data/ddtp/full-corpus.jsonl --docs 50000 \
        --json gpu.json

For each (dtype, padded tokens per batch) it times ``Encoder.encode_documents`` over ``--docs`` real documents,
tokenisation on the CPU included (what ingest pays), after one warm-up pass; it also times tokenisation alone,
reports the peak GPU memory, the cosine of each setting's embeddings to fp32 on the same GPU (min and
median), and the latency of encoding one query at a time (fp16). Without a GPU it exits with a one-line
error: CPU throughput is ``encode_throughput.py``'s job.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

import numpy as np
import torch

from lacl_search.core.encoder import AUTOCAST_DTYPES, GPU_MAX_TOKENS, Encoder
from lacl_search.core.types import Document

log = logging.getLogger("gpu_throughput")


def read_corpus(path: Path, limit: int) -> list[Document]:
    docs = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            docs.append(Document(row.get("_id") or row["id"], row.get("text", ""), title=row.get("title") or None,
                                 lang=row.get("lang")))
            if len(docs) >= limit:
                break
    return docs


def timed_encode(encoder: Encoder, docs: list[Document], dtype: str, max_tokens: int) -> tuple[np.ndarray, float]:
    encoder.gpu_dtype, encoder.gpu_max_tokens = dtype, max_tokens
    encoder.encode_documents(docs[:2048])  # warm-up: kernels and allocator for this setting
    torch.cuda.synchronize()
    start = time.perf_counter()
    emb = encoder.encode_documents(docs)  # returns host numpy: every batch is synchronised
    return emb, time.perf_counter() - start


def ingest_windows(encoder: Encoder, docs: list[Document], windows: list[int]) -> list[dict]:
    """docs/s of the ingest job's encoding side (``Embedder.actions``: language codes, content hashes,
    encoding, bulk actions; no cluster) when it hands the encoder ``window`` documents per call."""
    from lacl_search.serving.indexing.pipeline import Embedder

    encoder.gpu_dtype, encoder.gpu_max_tokens = "fp16", GPU_MAX_TOKENS
    rows = []
    for window in windows:
        embedder = Embedder(None, "bench", encoder, batch_size=32, incremental=False)
        embedder.actions(docs[:window])  # warm-up
        start = time.perf_counter()
        actions = sum(len(embedder.actions(docs[i : i + window])) for i in range(0, len(docs), window))
        seconds = time.perf_counter() - start
        rows.append({"window": window, "docs_per_s": actions / seconds, "seconds": seconds})
        log.info("%s", rows[-1])
    return rows


def query_latency(encoder: Encoder, path: Path, n: int = 200) -> dict:
    """p50 / p95 ms of one query at a time (fp16), the way a search process encodes."""
    if not path.is_file():
        return {}
    with path.open(encoding="utf-8") as fh:
        queries = [json.loads(line)["text"] for line, _ in zip(fh, range(n), strict=False)]
    encoder.gpu_dtype = "fp16"
    for q in queries[:20]:
        encoder.encode_queries([q])
    times = []
    for q in queries:
        start = time.perf_counter()
        encoder.encode_queries([q])
        times.append(1000 * (time.perf_counter() - start))
    return {"query_ms_p50": float(np.percentile(times, 50)), "query_ms_p95": float(np.percentile(times, 95)),
            "query_count": len(times)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="default")
    parser.add_argument("--corpus", type=Path, default=Path("data/ddtp/full-corpus.jsonl"))
    parser.add_argument("--docs", type=int, default=50000)
    parser.add_argument("--settings", nargs="+", default=["fp16:16384", "fp16:65536", "fp16:262144",
                                                          "bf16:65536", "fp32:65536"],
                        help="DTYPE:MAX_TOKENS pairs (padded tokens per batch)")
    parser.add_argument("--queries", type=Path, default=Path("data/ddtp/mixed/queries.jsonl"),
                        help="queries for the one-at-a-time latency (fp16)")
    parser.add_argument("--ingest-windows", type=int, nargs="*", default=[],
                        help="also time the ingest job's encoding side with these documents per encoder call")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s: %(message)s")
    if not torch.cuda.is_available():
        print("error: no CUDA GPU visible to torch; run encode_throughput.py for CPU numbers", file=sys.stderr)
        return 2
    settings = [(d, int(t)) for d, t in (s.split(":") for s in args.settings)]
    if bad := [d for d, _ in settings if d not in AUTOCAST_DTYPES]:
        print(f"error: unknown dtype {bad[0]!r}; choose from {sorted(AUTOCAST_DTYPES)}", file=sys.stderr)
        return 2
    docs = read_corpus(args.corpus, args.docs)
    encoder = Encoder.load(args.model, device="cuda")
    texts = [encoder.document_text(d) for d in docs]
    start = time.perf_counter()
    lengths = [len(x) for x in encoder.token_ids(texts, "document")]
    tokenize_s = time.perf_counter() - start
    info = {"gpu": torch.cuda.get_device_name(0), "torch": torch.__version__, "docs": len(docs),
            "mean_tokens": float(np.mean(lengths)), "tokenize_docs_per_s": len(docs) / tokenize_s}
    log.info("%s", info)
    reference = None
    rows = []
    for dtype, max_tokens in sorted(settings, key=lambda s: s[0] != "fp32"):  # fp32 first: the reference
        torch.cuda.reset_peak_memory_stats()
        emb, seconds = timed_encode(encoder, docs, dtype, max_tokens)
        if reference is None and dtype == "fp32":
            reference = emb
        cos = (emb * reference).sum(1) if reference is not None else np.array([np.nan])
        rows.append({"dtype": dtype, "max_tokens": max_tokens, "seconds": seconds, "docs_per_s": len(docs) / seconds,
                     "peak_gpu_mib": torch.cuda.max_memory_allocated() / 2**20,
                     "cos_fp32_min": float(cos.min()), "cos_fp32_median": float(np.median(cos))})
        log.info("%s", rows[-1])
    info |= query_latency(encoder, args.queries)
    windows = ingest_windows(encoder, docs, args.ingest_windows)
    _print(info, rows, windows)
    if args.json:
        args.json.write_text(json.dumps({"info": info, "rows": rows, "ingest_windows": windows}, indent=1) + "\n",
                             encoding="utf-8")
    return 0


def _print(info: dict, rows: list[dict], windows: list[dict]) -> None:
    w = sys.stdout.write
    w(f"{info['gpu']}, torch {info['torch']}: {info['docs']} documents, mean {info['mean_tokens']:.0f} tokens; "
      f"tokenisation alone {info['tokenize_docs_per_s']:.0f} docs/s\n")
    if "query_ms_p50" in info:
        w(f"one query at a time (fp16, {info['query_count']} queries): p50 {info['query_ms_p50']:.2f} ms, "
          f"p95 {info['query_ms_p95']:.2f} ms\n")
    w("\n")
    w("| dtype | padded tokens / batch | docs/s | seconds | peak GPU MiB | cos to fp32 min / median |\n")
    w("|---|---|---|---|---|---|\n")
    for r in rows:
        w(f"| {r['dtype']} | {r['max_tokens']} | {r['docs_per_s']:.0f} | {r['seconds']:.1f} | "
          f"{r['peak_gpu_mib']:.0f} | {r['cos_fp32_min']:.5f} / {r['cos_fp32_median']:.6f} |\n")
    if windows:
        w("\n| ingest encoding side: documents per encoder call | docs/s |\n|---|---|\n")
        for r in windows:
            w(f"| {r['window']} | {r['docs_per_s']:.0f} |\n")


if __name__ == "__main__":
    raise SystemExit(main())
