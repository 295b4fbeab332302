"""Index size and the Lucene engine's scalar quantisation: bytes per document, R@100 and nDCG@10.

Usage (a running cluster; the model's saved backend or --backend encodes):
    python benchmarks/index_quantization.py --bench data/ddtp/xling-de-en [--backend onnx-int8] [--queries 300]

Builds two throw-away indices holding only ``doc_id`` and the vector (HNSW, ``engine: lucene``, the
project's m / ef_construction): float32 vectors, and the same with ``encoder: sq`` (Lucene's int7
scalar quantisation, OpenSearch >= 2.16; k-NN docs "Lucene scalar quantization"). After a force-merge to
one segment it reports store bytes per document and the k-NN retrieval quality of each (top 100),
then deletes both. The project indices' own bytes per document (text fields, analyzers, _source)
come from ``_cat/indices``.
"""

from __future__ import annotations

import argparse
import logging
import sys
import uuid
from pathlib import Path

from opensearchpy.helpers import bulk

from lacl_search.core import schema
from lacl_search.core.encoding import BACKENDS, load_encoder
from lacl_search.core.settings import ClusterSettings
from lacl_search.evaluation import metrics
from lacl_search.evaluation.exact import load_benchmark
from lacl_search.serving.client import connect

log = logging.getLogger("index_quantization")


def mapping(dim: int, space: str, sq: bool) -> dict:
    params = {"m": schema.HnswParams().m, "ef_construction": schema.HnswParams().ef_construction}
    if sq:
        params["encoder"] = {"name": "sq"}
    method = {"name": "hnsw", "engine": "lucene", "space_type": space, "parameters": params}
    return {"settings": {"index": {"knn": True, "number_of_shards": 1, "number_of_replicas": 0}},
            "mappings": {"properties": {"doc_id": {"type": "keyword"},
                                        "vector": {"type": "knn_vector", "dimension": dim, "method": method}}}}


def build(client, name: str, body: dict, doc_ids: list[str], d_emb) -> int:
    client.indices.create(index=name, body=body)
    actions = ({"_index": name, "_id": d, "_source": {"doc_id": d, "vector": v.tolist()}}
               for d, v in zip(doc_ids, d_emb, strict=True))
    bulk(client, actions, chunk_size=500, request_timeout=300)
    client.indices.refresh(index=name)
    client.indices.forcemerge(index=name, max_num_segments=1, request_timeout=600)
    stats = client.indices.stats(index=name, metric="store")
    return int(stats["indices"][name]["primaries"]["store"]["size_in_bytes"])


def knn_run(client, name: str, query_ids: list[str], q_emb, k: int = 100) -> dict[str, dict[str, float]]:
    run = {}
    for qid, vector in zip(query_ids, q_emb, strict=True):
        body = {"size": k, "_source": False, "query": {"knn": {"vector": {"vector": vector.tolist(), "k": k}}}}
        run[qid] = {h["_id"]: float(h["_score"]) for h in client.search(index=name, body=body)["hits"]["hits"]}
    return run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", type=Path, default=Path("data/ddtp/xling-de-en"))
    parser.add_argument("--model", default="default")
    parser.add_argument("--backend", choices=BACKENDS)
    parser.add_argument("--queries", type=int, default=300)
    ClusterSettings.add_arguments(parser)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    client = connect(ClusterSettings.from_args(args))
    bench = load_benchmark(args.bench, max_queries=args.queries)
    encoder = load_encoder(args.model, backend=args.backend)
    d_emb = encoder.encode_documents(bench.documents, batch_size=32)  # [N, dim]
    q_emb = encoder.encode_queries(bench.queries)  # [Q, dim]
    w = sys.stdout.write
    w(f"{bench.name}: {len(bench.doc_ids)} documents, {len(bench.query_ids)} queries, dim {encoder.dim}, "
      f"backend {getattr(encoder, 'backend', 'torch')}\n\n")
    w("| vectors | bytes/doc | nDCG@10 | R@100 |\n|---|---|---|---|\n")
    for sq in (False, True):
        name = f"bench-sq-{uuid.uuid4().hex[:8]}"
        try:
            size = build(client, name, mapping(encoder.dim, encoder.config.space_type, sq), bench.doc_ids, d_emb)
            result = metrics.aggregate(metrics.per_query(bench.qrels, knn_run(client, name, bench.query_ids, q_emb)))
        finally:
            client.indices.delete(index=name, ignore_unavailable=True)
        w(f"| {'lucene sq (int7)' if sq else 'float32'} | {size / len(bench.doc_ids):.0f} | "
          f"{result['ndcg@10']:.4f} | {result['recall@100']:.4f} |\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
