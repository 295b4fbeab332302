"""Probe: would an encoder-induced lexicon help the languages that have no parallel data? (prints numbers)

For X -> English benchmarks whose query language has no table in the DDTP lexicon (da, sk, pl, cs, uk, ko),
query translation needs a lexicon that uses no parallel data of X. This probe builds one from the encoder:
each query word's nearest words (cosine >= ``--threshold``, at most 3) in an English vocabulary (the
English side of ``train/parallel.jsonl``, words seen >= 3 times), both embedded as one-word queries by the
same encoder. It re-runs the other-language BM25 leg with those translations (weights as
:meth:`~lacl_search.core.lexicon.Lexicon.translate` gives: each word's translations share its weight, the
whole capped at 6 words) and fuses the saved legs with a fitted profile, once with the saved other-language
leg and once with the probe's:

    OPENSEARCH_URL=http://127.0.0.1:9200 python benchmarks/encoder_lexicon_probe.py \\
      --model runs/fusion-trained/lacl-all-s1 --index dev-en-lacl-all-s1 --legs runs/lex2/titles-trained/legs \\
      --profile runs/lex2/titles-trained/profile.json --benchmarks xling-{da,sk,pl,cs,uk,ko}-en

The profile's weights are not refitted for the probe's leg, and nothing here is used by search
(docs/fusion.md, "Eighth session").
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import json
import logging
import re
import sys
import time
from pathlib import Path

import numpy as np

from lacl_search.core import queries
from lacl_search.core.encoder import Encoder
from lacl_search.core.fusion_profile import FusionProfile
from lacl_search.core.lexicon import MAX_TERMS, MAX_TRANSLATED_WORDS, TARGET_STOP_WORDS, tokens
from lacl_search.core.settings import ClusterSettings
from lacl_search.evaluation import beir, fusion_fit, metrics, runs
from lacl_search.serving.client import connect

log = logging.getLogger("encoder-lexicon-probe")
_WORD = re.compile(r"\w+")
TOP = 3


def english_vocabulary(parallel: Path, min_count: int = 3) -> list[str]:
    stop = TARGET_STOP_WORDS["en"]
    counts: collections.Counter[str] = collections.Counter()
    with open(parallel, encoding="utf-8") as fh:
        for line in fh:
            counts.update(w for w in tokens(json.loads(line)["source"]) if w.isalpha() and len(w) > 2 and w not in stop)
    return sorted(w for w, c in counts.items() if c >= min_count)


def translations(encoder: Encoder, words: list[str], vocab: list[str], vectors: np.ndarray,
                 threshold: float) -> dict[str, list[tuple[str, float]]]:
    if not words:
        return {}
    sims = encoder.encode(words, "query", batch_size=256) @ vectors.T
    out = {}
    for i, word in enumerate(words):
        best = np.argsort(-sims[i])[:TOP]
        out[word] = [(vocab[j], float(sims[i, j])) for j in best if sims[i, j] >= threshold]
    return out


def translate(text: str, table: dict[str, list[tuple[str, float]]]) -> list[tuple[str, float]]:
    words = [w for w in _WORD.findall(text.lower()) if w in table]
    scale = min(1.0, MAX_TRANSLATED_WORDS / max(1, len(words)))
    weights: collections.Counter[str] = collections.Counter()
    for word in words:
        total = sum(s for _, s in table[word]) or 1.0
        for term, sim in table[word]:
            weights[term] += sim / total * scale
    return [(t, round(w, 4)) for t, w in weights.most_common(MAX_TERMS)]


def ndcg(qrels: dict, run: dict, qids: list[str]) -> float:
    per = metrics.per_query({q: qrels[q] for q in qids}, {q: run.get(q, {}) for q in qids})
    return float(np.mean([v["ndcg@10"] for v in per.values()]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--index", required=True)
    parser.add_argument("--legs", type=Path, required=True)
    parser.add_argument("--profile", type=Path, required=True)
    parser.add_argument("--benchmarks", nargs="+", required=True)
    parser.add_argument("--data", type=Path, default=Path("data/ddtp"))
    parser.add_argument("--threshold", type=float, default=0.85)
    parser.add_argument("--depth", type=int, default=30)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    log.setLevel(logging.INFO)
    client = connect(ClusterSettings.from_env())
    profile = FusionProfile.from_json(args.profile.read_text(encoding="utf-8"))
    encoder = Encoder.load(args.model)
    vocab = english_vocabulary(args.data / "train" / "parallel.jsonl")
    start = time.perf_counter()
    vectors = encoder.encode(vocab, "query", batch_size=256)
    log.info("English vocabulary: %d words, embedded in %.0f s", len(vocab), time.perf_counter() - start)
    known = set(vocab)
    print("| benchmark | queries | BM25 other, untranslated | BM25 other, encoder lexicon | dense "
          "| language-aware | language-aware, encoder lexicon |")
    print("|---|---|---|---|---|---|---|")
    for name in args.benchmarks:
        data = args.data / name
        texts = {q.query_id: q.text for q in beir.load_queries(data)}
        qrels = beir.load_qrels(data)
        langs = json.loads((args.legs / name / "query_langs.json").read_text(encoding="utf-8"))
        legs = {leg: runs.read_trec_run(args.legs / name / f"{leg}.trec")
                for leg in ("bm25_same", "bm25_other_plain", "bm25_base", "dense")}
        legs["bm25_other"] = legs["bm25_other_plain"]
        detected = [q for q in qrels if langs.get(q)]
        words = sorted({w for q in detected for w in _WORD.findall(texts[q].lower())
                        if w not in known and not w.isdigit()})
        table = translations(encoder, words, vocab, vectors, args.threshold)
        lines = []
        for q in detected:
            clause = queries.bm25_partition_clause(texts[q], langs[q], same=False,
                                                   translations=translate(texts[q], table))
            lines += [{"index": args.index}, {"query": clause, "size": args.depth, "_source": False}]
        probe = {}
        for start in range(0, len(lines), 200):
            batch = client.msearch(body=lines[start:start + 200])["responses"]
            for q, resp in zip(detected[start // 2:], batch, strict=False):
                if "error" in resp:
                    raise RuntimeError(f"{name} {q}: {resp['error']}")
                probe[q] = {h["_id"]: float(h["_score"]) for h in resp["hits"]["hits"]}
        bench = fusion_fit.LegRuns(name, legs, {q: langs.get(q) for q in qrels}, qrels).cut(args.depth)
        probed = dataclasses.replace(bench, legs={**bench.legs, "bm25_other": probe}).cut(args.depth)
        all_q = list(qrels)
        print(f"| {name} | {len(all_q)} ({len(detected)} detected) "
              f"| {ndcg(qrels, bench.legs['bm25_other'], detected):.3f} | {ndcg(qrels, probe, detected):.3f} "
              f"| {ndcg(qrels, bench.legs['dense'], all_q):.3f} "
              f"| {ndcg(qrels, fusion_fit.fuse_benchmark(bench, profile, 10), all_q):.3f} "
              f"| {ndcg(qrels, fusion_fit.fuse_benchmark(probed, profile, 10), all_q):.3f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
