"""Quality gate: do the ONNX backends retrieve like the torch encoder on the dev benchmarks?

Usage (one exported model folder; `lacl-search model export FOLDER` first):
    python benchmarks/quality_gate.py --model FOLDER [--queries 150] [--docs 1500] [--json gate.json]
    python benchmarks/quality_gate.py --model FOLDER --variant int8-noemb=OTHER_FOLDER  # another int8 export
    python benchmarks/quality_gate.py --model FOLDER --backends cuda-fp16 cuda-bf16 --encode-only  # on a GPU,
    python benchmarks/quality_gate.py --model FOLDER --backends torch cuda-fp16 cuda-bf16  # then here, cached

``cuda-DTYPE`` is the torch encoder on a CUDA GPU with that autocast dtype (fp32, fp16, bf16); the reference
stays the CPU torch encoder. Encoders are loaded only for embeddings not in the cache, so a GPU run's cache
(``--encode-only`` skips the metrics) can be judged on a machine without a GPU.

Per benchmark (X -> en for training languages and languages without parallel data, mono, mixed) and
backend: nDCG@10 and R@100 of exact dense retrieval, the cosine between the backend's and torch's
embeddings (min / median over queries and documents) and the top-10 overlap with torch's ranking.
Corpora are subsampled (every judged document of the sampled queries plus seeded random distractors;
the X -> en benchmarks share one English corpus), so numbers compare backends, not published models.

Gate (issue 10): a backend may be the CPU default if it loses <= 0.005 nDCG@10 on the mean and
<= 0.01 on every benchmark. Embeddings are cached under --cache, so variants only encode once.
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from lacl_search.core.encoding import load_encoder
from lacl_search.evaluation import metrics
from lacl_search.evaluation.exact import Benchmark, exact_search, load_benchmark, subsample_corpus

log = logging.getLogger("quality_gate")

DATA = Path("data/ddtp")
XLING = ("xling-de-en", "xling-ja-en", "xling-ru-en", "xling-da-en", "xling-ko-en")  # da, ko: no parallel data
OTHERS = ("mono-de", "mono-ja", "mixed")
MEAN_LOSS, MAX_LOSS = 0.005, 0.01


def load_benchmarks(queries: int, docs: int) -> list[Benchmark]:
    """The gate's benchmarks; the X -> en ones restricted to one shared English corpus subsample."""
    xling = [load_benchmark(DATA / name, max_queries=queries) for name in XLING]
    shared = _shared_corpus(xling, docs)
    out = [replace(b, doc_ids=shared.doc_ids, documents=shared.documents, doc_langs=shared.doc_langs,
                   corpus_key=shared.corpus_key) for b in xling]  # fmt: skip
    out += [subsample_corpus(load_benchmark(DATA / name, max_queries=queries), docs) for name in OTHERS]
    return out


def _shared_corpus(benches: list[Benchmark], docs: int) -> Benchmark:
    union = {q: r for b in benches for q, r in b.qrels.items()}
    return subsample_corpus(replace(benches[0], qrels=union, corpus_key="en"), docs)


def make_encoder(folder: str, backend: str):
    """A backend's encoder: ``cuda-DTYPE`` is torch on the GPU with that autocast dtype, the rest run on CPU."""
    if backend.startswith("cuda-"):
        encoder = load_encoder(folder, backend="torch", device="cuda")
        encoder.gpu_dtype = backend.removeprefix("cuda-")
        return encoder
    return load_encoder(folder, backend=backend, device="cpu")


def embed(get_encoder, bench: Benchmark, cache: Path, label: str) -> tuple[np.ndarray, np.ndarray, float]:
    """(query, document) embeddings of one backend, cached per corpus; returns encoding seconds too.

    ``get_encoder()`` is only called when an embedding is missing from the cache."""
    cache.mkdir(parents=True, exist_ok=True)
    d_file, q_file = cache / f"{label}-{bench.corpus_key.replace(':', '_')}.npy", cache / f"{label}-{bench.name}.npy"
    seconds = 0.0
    if not d_file.is_file():
        encoder = get_encoder()
        start = time.perf_counter()
        np.save(d_file, encoder.encode_documents(bench.documents, batch_size=32))
        seconds += time.perf_counter() - start
    if not q_file.is_file():
        encoder = get_encoder()
        start = time.perf_counter()
        np.save(q_file, encoder.encode_queries(bench.queries, batch_size=64))
        seconds += time.perf_counter() - start
    return np.load(q_file), np.load(d_file), seconds


def compare(bench: Benchmark, emb: dict[str, tuple[np.ndarray, np.ndarray]]) -> dict[str, dict]:
    """Metrics per backend, plus cosine to torch and top-10 overlap with torch's ranking."""
    runs = {label: exact_search(q, d, bench.doc_ids, bench.query_ids) for label, (q, d, *_) in emb.items()}
    out = {}
    for label, run in runs.items():
        row = metrics.aggregate(metrics.per_query(bench.qrels, run))
        if label != "torch":
            cos = np.concatenate([(emb[label][i] * emb["torch"][i]).sum(1) for i in (0, 1)])
            top = [len(set(_top(run[q])) & set(_top(runs["torch"][q]))) / 10 for q in bench.query_ids]
            row |= {"cos_min": float(cos.min()), "cos_median": float(np.median(cos)), "top10_overlap": fmean(top)}
        out[label] = row
    return out


def _top(ranking: dict[str, float], k: int = 10) -> list[str]:
    return sorted(ranking, key=ranking.get, reverse=True)[:k]


def fmean(values: list[float]) -> float:
    return statistics.fmean(values) if values else 0.0


def gate(table: dict[str, dict[str, dict]], label: str) -> dict[str, float | bool]:
    losses = [table[b]["torch"]["ndcg@10"] - table[b][label]["ndcg@10"] for b in table]
    return {"mean_loss": fmean(losses), "max_loss": max(losses),
            "passed": fmean(losses) <= MEAN_LOSS and max(losses) <= MAX_LOSS}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="exported model folder")
    parser.add_argument("--backends", nargs="+", default=["torch", "onnx-fp32", "onnx-int8", "openvino"])
    parser.add_argument("--variant", action="append", default=[], metavar="LABEL=FOLDER",
                        help="also gate FOLDER's onnx-int8 graph under LABEL (another quantisation)")
    parser.add_argument("--queries", type=int, default=150, help="queries sampled per benchmark")
    parser.add_argument("--docs", type=int, default=1500, help="corpus subsample size")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/lacl-quality-gate"))
    parser.add_argument("--json", type=Path, help="write the table as JSON")
    parser.add_argument("--encode-only", action="store_true", help="fill the cache, skip the metrics")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s: %(message)s")
    benches = load_benchmarks(args.queries, args.docs)
    specs = [(b, args.model, b) for b in args.backends]
    specs += [(label, folder, "onnx-int8") for label, folder in (v.split("=", 1) for v in args.variant)]
    emb: dict[str, dict[str, tuple]] = {b.name: {} for b in benches}
    for label, folder, backend in specs:
        loaded = functools.cache(functools.partial(make_encoder, folder, backend))
        for bench in benches:
            q, d, seconds = embed(loaded, bench, args.cache / f"{args.queries}-{args.docs}", label)
            emb[bench.name][label] = (q, d)
            log.info("%s %s: %d queries, %d docs, %.1f s encoding", label, bench.name, len(q), len(d), seconds)
    if args.encode_only:
        return 0
    table = {b.name: compare(b, emb[b.name]) for b in benches}
    verdicts = {label: gate(table, label) for label, *_ in specs if label != "torch"}
    _print(table, verdicts, [label for label, *_ in specs], benches)
    if args.json:
        args.json.write_text(json.dumps({"table": table, "gate": verdicts, "queries": args.queries,
                                         "docs": args.docs}, indent=1) + "\n", encoding="utf-8")
    return 0


def _print(table: dict, verdicts: dict, labels: list[str], benches: list[Benchmark]) -> None:
    w = sys.stdout.write
    w("| benchmark | queries | docs | " + " | ".join(f"{x} nDCG@10 / R@100" for x in labels) + " | "
      + " | ".join(f"{x} cos min / median, top-10 overlap" for x in labels if x != "torch") + " |\n")
    w("|" + "---|" * (3 + 2 * len(labels) - 1) + "\n")
    for bench in benches:
        row = table[bench.name]
        cells = [f"{row[x]['ndcg@10']:.4f} / {row[x]['recall@100']:.4f}" for x in labels]
        cells += [f"{row[x]['cos_min']:.4f} / {row[x]['cos_median']:.4f}, {row[x]['top10_overlap']:.3f}"
                  for x in labels if x != "torch"]
        w(f"| {bench.name} | {len(bench.query_ids)} | {len(bench.doc_ids)} | " + " | ".join(cells) + " |\n")
    means = [f"{fmean([table[b.name][x]['ndcg@10'] for b in benches]):.4f}" for x in labels]
    w("| mean nDCG@10 | | | " + " | ".join(means) + " |" + " |" * (len(labels) - 1) + "\n\n")
    for label, v in verdicts.items():
        w(f"gate {label}: mean loss {v['mean_loss']:+.4f}, max loss {v['max_loss']:+.4f} -> "
          f"{'PASS' if v['passed'] else 'FAIL'}\n")


if __name__ == "__main__":
    raise SystemExit(main())
