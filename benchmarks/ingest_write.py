"""Write-path throughput with precomputed vectors: bulk docs/s for compression x chunk size x concurrency.

A stub encoder hands out precomputed (seeded, unit-length) vectors, so only the write path is timed:
hash, serialise, chunk, send, retry. Each configuration loads the same documents into a fresh 1-shard
index (bulk-load settings, as the job does) and is repeated; the median docs/s is reported.

    python benchmarks/ingest_write.py --corpus data/ddtp/quickstart/corpus.jsonl --docs 4000 --dim 384 \
        --out artifacts/bench/ingest_write.json
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from lacl_search.core.encoder import EncoderConfig
from lacl_search.core.settings import ClusterSettings
from lacl_search.core.types import Document
from lacl_search.serving.client import make_client
from lacl_search.serving.indexing import BulkOptions, create_index, index_documents

log = logging.getLogger("ingest_write")


class StubEncoder:
    """Precomputed vectors behind the part of the :class:`Encoder` interface the write path uses."""

    def __init__(self, dim: int, seed: int = 0) -> None:
        self.dim = dim
        self.config = EncoderConfig()
        self._rng = np.random.default_rng(seed)
        self._bank = self._rng.standard_normal((4096, dim)).astype(np.float32)
        self._bank /= np.linalg.norm(self._bank, axis=1, keepdims=True)

    def fingerprint(self) -> str:
        return f"stub-{self.dim}"

    def encode_documents(self, documents, *, batch_size: int = 32, show_progress: bool = False) -> np.ndarray:
        idx = self._rng.integers(0, len(self._bank), len(documents))
        return self._bank[idx]


def read_corpus(path: Path, n: int) -> list[Document]:
    rows = [json.loads(line) for line in path.open(encoding="utf-8")]
    cycle = itertools.islice(itertools.cycle(rows), n)
    return [Document(f"{r['_id']}-{i}", r["text"], r.get("title"), r.get("lang")) for i, r in enumerate(cycle)]


def run_one(client, encoder: StubEncoder, docs: list[Document], options: BulkOptions) -> float:
    index = create_index(client, "bench-ingest-write", encoder, "stub")
    try:
        report = index_documents(client, index, encoder, docs, options=options, incremental=False)
        assert report.failed == 0 and report.new == len(docs), report.as_dict()
        return report.new / report.seconds
    finally:
        client.indices.delete(index=index)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--corpus", type=Path, default=Path("data/ddtp/quickstart/corpus.jsonl"))
    p.add_argument("--docs", type=int, default=4000)
    p.add_argument("--dim", type=int, default=384)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--compress", default="false,true")
    p.add_argument("--chunk-sizes", default="200,500")
    p.add_argument("--concurrency", default="1,2,4")
    p.add_argument("--out", type=Path)
    args = p.parse_args()
    logging.basicConfig(level=logging.WARNING)
    client = make_client(ClusterSettings.from_env())
    encoder, docs = StubEncoder(args.dim), read_corpus(args.corpus, args.docs)
    rows = []
    ints = lambda text: [int(x) for x in text.split(",")]  # noqa: E731
    grid = itertools.product([c == "true" for c in args.compress.split(",")], ints(args.chunk_sizes),
                             ints(args.concurrency))
    for compress, chunk_size, concurrency in grid:
        options = BulkOptions(chunk_size=chunk_size, concurrency=concurrency, compress=compress, batch_size=64)
        rates = [run_one(client, encoder, docs, options) for _ in range(args.repeats)]
        row = {"compress": compress, "chunk_size": chunk_size, "concurrency": concurrency,
               "docs_per_s": round(statistics.median(rates), 1), "runs": [round(r, 1) for r in rates]}
        rows.append(row)
        sys.stdout.write(json.dumps(row) + "\n")
        sys.stdout.flush()
        time.sleep(1.0)
    result = {"docs": args.docs, "dim": args.dim, "corpus": str(args.corpus), "rows": rows}
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
