"""Write one TREC run per retrieval leg for a dev benchmark, for offline fusion and fitting.

Usage: python benchmarks/fusion_legs.py --index ALIAS --dataset data/ddtp/xling-de-en --out runs/legs/xling-de-en
    [--model default] [--depth 100]

Legs (each a run file in --out): ``bm25_most`` (today's BM25: base fields + the query language's fields,
``most_fields``), ``bm25_base`` (language-agnostic fields only, plain standard-analyzer BM25),
``bm25_same`` / ``bm25_other`` (BM25 over the documents in the query's language / over all others, see
``lacl_search.core.queries.bm25_partition_clause``), ``dense`` (k-NN). ``query_langs.json`` holds each
query's detected language (``lacl_search.core.langid.detect_query_language``). All requests go to the real
index, in ``_msearch`` batches.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from lacl_search.core import queries
from lacl_search.core.encoder import Encoder
from lacl_search.core.langid import detect_query_language
from lacl_search.core.settings import ClusterSettings
from lacl_search.evaluation import beir, runs
from lacl_search.serving.client import connect

log = logging.getLogger("fusion-legs")
LEGS = ("bm25_most", "bm25_base", "bm25_same", "bm25_other", "dense")


def leg_bodies(text: str, lang: str | None, vector: list[float], depth: int) -> dict[str, dict | None]:
    """The request body of each leg (None where the leg does not exist: no language, no partition)."""
    def request(clause: dict) -> dict:
        return {"size": depth, "query": clause, "_source": False}

    return {
        "bm25_most": queries.bm25_query(text, depth, lang) | {"_source": False},
        "bm25_base": queries.bm25_query(text, depth, None) | {"_source": False},
        "bm25_same": request(queries.bm25_partition_clause(text, lang, same=True)) if lang else None,
        "bm25_other": request(queries.bm25_partition_clause(text, lang, same=False)) if lang else None,
        "dense": queries.knn_query(vector, depth) | {"_source": False},
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", required=True)
    parser.add_argument("--dataset", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--model", default="default")
    parser.add_argument("--depth", type=int, default=100)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    client = connect(ClusterSettings.from_env())
    qrels = beir.load_qrels(args.dataset)
    found = [q for q in beir.load_queries(args.dataset) if q.query_id in qrels]
    vectors = Encoder.load(args.model).encode_queries([q.text for q in found]).tolist()
    langs = {q.query_id: detect_query_language(q.text) for q in found}
    out: dict[str, dict[str, dict[str, float]]] = {leg: {} for leg in LEGS}
    for start in range(0, len(found), 50):
        lines, keys = [], []
        for q, vector in zip(found[start : start + 50], vectors[start : start + 50], strict=True):
            for leg, body in leg_bodies(q.text, langs[q.query_id], vector, args.depth).items():
                if body is not None:
                    lines += [{"index": args.index}, body]
                    keys.append((leg, q.query_id))
        for (leg, qid), resp in zip(keys, client.msearch(body=lines)["responses"], strict=True):
            if "error" in resp:
                raise RuntimeError(f"{leg} {qid}: {resp['error']}")
            out[leg][qid] = {h["_id"]: float(h["_score"]) for h in resp["hits"]["hits"]}
    args.out.mkdir(parents=True, exist_ok=True)
    for leg, run in out.items():
        runs.write_trec_run(args.out / f"{leg}.trec", run, leg)
    (args.out / "query_langs.json").write_text(json.dumps(langs, indent=1) + "\n", encoding="utf-8")
    log.info("%s: %d queries, legs written to %s", args.dataset.name, len(found), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
