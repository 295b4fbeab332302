"""Ingest throughput per encoder backend: documents per second into OpenSearch, and encoder-only.

Usage (a running cluster; an exported model folder):
    python benchmarks/ingest_throughput.py --model FOLDER [--docs 600] [--backends torch onnx-int8]

For each backend the first --docs documents of the quickstart corpus are ingested with the ingest
job (``lacl_ingest.job.run``: language detection, encoding, bulk writes) into a throw-away index,
then encoded again alone (same texts, same batch size): once in one call (one global length sort), and
once in the ingest job's windows (``BulkOptions.batch_size * SORT_WINDOW_BATCHES`` documents per call,
each sorted by length on its own: the same encoding work the job does). ``ingest / windows`` near 1 means
the cluster is hidden behind encoding. Indices are deleted afterwards unless --keep.
"""

from __future__ import annotations

import argparse
import itertools
import logging
import sys
import tempfile
import time
import uuid
from pathlib import Path

from lacl_ingest.job import IngestConfig, run
from lacl_ingest.readers import FieldMap
from lacl_search.core.encoding import load_encoder
from lacl_search.core.settings import ClusterSettings
from lacl_search.evaluation import beir
from lacl_search.serving.client import connect
from lacl_search.serving.indexing import BulkOptions
from lacl_search.serving.indexing.pipeline import SORT_WINDOW_BATCHES

CORPUS = Path("data/ddtp/quickstart/corpus.jsonl")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--docs", type=int, default=600)
    parser.add_argument("--backends", nargs="+", default=["torch", "onnx-fp32", "onnx-int8", "openvino"])
    parser.add_argument("--keep", action="store_true", help="keep the indices (named ingest-bench-BACKEND-*)")
    parser.add_argument("--no-encoder-only", action="store_true", help="skip the encoder-only pass")
    ClusterSettings.add_arguments(parser)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    client = connect(ClusterSettings.from_args(args))
    with tempfile.TemporaryDirectory() as tmp:
        subset = Path(tmp) / "corpus.jsonl"
        with CORPUS.open(encoding="utf-8") as src:
            subset.write_text("".join(itertools.islice(src, args.docs)), encoding="utf-8")
        docs = list(beir.iter_corpus_file(subset))
        w = sys.stdout.write
        w(f"{len(docs)} quickstart documents\n\n| backend | ingest docs/s | encoder-only docs/s, one call | "
          "encoder-only docs/s, ingest windows | ingest / windows |\n|---|---|---|---|---|\n")
        for backend in args.backends:
            encoder = load_encoder(args.model, backend=backend, device="cpu")
            encoder.encode_documents(docs[:32])  # warm-up
            index = f"ingest-bench-{backend}-{uuid.uuid4().hex[:6]}"
            start = time.perf_counter()
            config = IngestConfig(subset, index, show_progress=False, rejects=Path(tmp) / "rejects.jsonl",
                                  fields=FieldMap(id="_id"))  # BEIR corpus ids
            report = run(config, client, encoder=encoder)
            ingest = len(docs) / (time.perf_counter() - start)
            alone = windowed = float("nan")
            if not args.no_encoder_only:
                start = time.perf_counter()
                encoder.encode_documents(docs)
                alone = len(docs) / (time.perf_counter() - start)
                size = BulkOptions().batch_size * SORT_WINDOW_BATCHES
                start = time.perf_counter()
                for i in range(0, len(docs), size):
                    encoder.encode_documents(docs[i : i + size], batch_size=BulkOptions().batch_size)
                windowed = len(docs) / (time.perf_counter() - start)
            w(f"| {backend} | {ingest:.1f} | {alone:.1f} | {windowed:.1f} | {ingest / windowed:.2f} |\n")
            sys.stdout.flush()
            logging.warning("%s: %s", backend, {k: report.get(k) for k in ("indexed", "count", "failed")})
            if not args.keep:
                client.indices.delete(index=f"{index}*", ignore_unavailable=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
