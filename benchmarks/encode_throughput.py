"""Throughput: documents per second of torch fp32, ONNX fp32, ONNX int8 and OpenVINO on the same texts, one run.

Usage (an exported model folder; `lacl-search model export FOLDER` first):
    python benchmarks/encode_throughput.py --model FOLDER [--docs 128] [--batch-sizes 1 8 32] [--threads 1 2]
        [--max-tokens 0 512]

Texts are the first --docs documents of the quickstart corpus (title + body, ``passage: `` prefix, as
ingest encodes them), then per length bucket (tokens: <= 64, 65-192, > 192) at the largest batch size
and thread count. ``--max-tokens`` also bounds each CPU batch's padded tokens (0: no bound; the
encoders' default is ``lacl_search.core.encoding.CPU_MAX_TOKENS``). Each configuration encodes after one
warm-up batch; docs/s = texts / wall seconds (tokenisation included). Numbers depend on what else the
machine runs; print them, never assert them.
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import sys
import time
from pathlib import Path

from lacl_search.core.encoding import load_encoder
from lacl_search.core.types import Document

log = logging.getLogger("encode_throughput")

CORPUS = Path("data/ddtp/quickstart/corpus.jsonl")
BUCKETS = {"short <=64": (0, 64), "medium 65-192": (65, 192), "long >192": (193, 10**6)}
BACKENDS = ("torch", "onnx-fp32", "onnx-int8", "openvino")


def read_documents(path: Path, limit: int) -> list[Document]:
    docs = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            docs.append(Document(row["_id"], row.get("text", ""), title=row.get("title") or None))
            if len(docs) >= limit:
                break
    return docs


def make_encoder(folder: str, backend: str, threads: int):
    if backend == "torch":
        import torch

        torch.set_num_threads(threads)
        return load_encoder(folder, backend="torch", device="cpu")
    return load_encoder(folder, backend=backend, threads=threads)


def docs_per_second(encoder, docs: list[Document], batch_size: int) -> float:
    encoder.encode_documents(docs[:batch_size], batch_size=batch_size)  # warm-up
    start = time.perf_counter()
    encoder.encode_documents(docs, batch_size=batch_size)
    return len(docs) / (time.perf_counter() - start)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--docs", type=int, default=128)
    parser.add_argument("--bucket-docs", type=int, default=48, help="documents per length bucket")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--max-tokens", type=int, nargs="+", default=[0],
                        help="padded tokens per CPU batch to try (0: none)")
    parser.add_argument("--backends", nargs="+", default=list(BACKENDS))
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    pool = read_documents(CORPUS, 4000)
    docs = pool[: args.docs]
    rows = []
    probe = make_encoder(args.model, "onnx-fp32", 1)
    lengths = [len(x) for x in probe.token_ids([probe.document_text(d) for d in pool], "document")]
    buckets = {name: [d for d, n in zip(pool, lengths, strict=True) if lo <= n <= hi][: args.bucket_docs]
               for name, (lo, hi) in BUCKETS.items()}
    mean_tokens = sum(lengths[: args.docs]) / len(docs)
    for backend in args.backends:
        for threads in args.threads:
            encoder = make_encoder(args.model, backend, threads)
            for batch_size, max_tokens in itertools.product(args.batch_sizes, args.max_tokens):
                encoder.cpu_max_tokens = max_tokens or None
                rate = docs_per_second(encoder, docs, batch_size)
                label = f"{batch_size}" + (f", <= {max_tokens} tokens" if max_tokens else "")
                rows.append({"backend": backend, "threads": threads, "batch": label, "texts": "sample",
                             "docs_per_s": rate})
                log.warning("%s threads %d batch %s: %.1f docs/s", backend, threads, label, rate)
        encoder = make_encoder(args.model, backend, max(args.threads))
        encoder.cpu_max_tokens = None
        for name, bucket in buckets.items():
            rate = docs_per_second(encoder, bucket, max(args.batch_sizes))
            rows.append({"backend": backend, "threads": max(args.threads), "batch": max(args.batch_sizes),
                         "texts": name, "docs_per_s": rate})
    _print(rows, len(docs), mean_tokens)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")
    return 0


def _print(rows: list[dict], n: int, mean_tokens: float) -> None:
    w = sys.stdout.write
    w(f"{n} quickstart documents, mean {mean_tokens:.0f} tokens; docs/s\n\n")
    w("| texts | threads | batch | " + " | ".join(BACKENDS) + " | openvino / onnx-fp32 |\n")
    w("|" + "---|" * (len(BACKENDS) + 4) + "\n")
    keys = sorted({(r["texts"], r["threads"], r["batch"]) for r in rows}, key=lambda k: (k[0] != "sample", k))
    for key in keys:
        rate = {r["backend"]: r["docs_per_s"] for r in rows if (r["texts"], r["threads"], r["batch"]) == key}
        cells = [f"{rate[b]:.1f}" if b in rate else "-" for b in BACKENDS]
        ratio = f"{rate['openvino'] / rate['onnx-fp32']:.2f}x" if {"openvino", "onnx-fp32"} <= set(rate) else "-"
        w(f"| {key[0]} | {key[1]} | {key[2]} | " + " | ".join(cells) + f" | {ratio} |\n")


if __name__ == "__main__":
    raise SystemExit(main())
