"""Training files from the DDTP train split (training languages only).

- ``ir.jsonl``: English short description (query) -> English long description (positive), with
  BM25-mined hard negatives that come from other source groups (siblings are likely false negatives).
- ``parallel.jsonl``: English <-> X pairs of short and of long descriptions.
- ``monolingual.jsonl``: non-parallel text, from packages kept out of the two files above (the
  ``mono`` split); each source group contributes its texts in exactly one language, so no two lines
  of the file translate each other.
"""

from __future__ import annotations

import logging
import random
from collections import Counter
from collections.abc import Iterator

import numpy as np

from lacl_provision.ddtp.benchmarks import language_table, package_title, unique_shorts
from lacl_provision.ddtp.ddtp import DdtpData, normalize
from lacl_provision.ddtp.splits import unit_hash

log = logging.getLogger(__name__)

MINING_DEPTH = 30


def bm25_top_k(texts: list[str], queries: list[str], k: int, chunk: int = 1000) -> np.ndarray:
    """Indices of the ``k`` best BM25 documents per query, best first.

    ``bm25s`` tokenizes (English stopwords) and computes the Lucene BM25 weights; scoring is one sparse
    product per chunk of queries (``queries x vocab`` @ ``vocab x docs``) and a top-k over each row's
    non-zero scores, much faster than ``BM25.retrieve``'s per-query dense loop on 30k+ queries.

    Returns:
        ``int`` array, shape ``(len(queries), k)``; ``-1`` pads rows matching fewer than ``k`` documents.
    """
    import bm25s  # heavy import, only when mining
    from scipy import sparse

    retriever = bm25s.BM25()
    retriever.index(bm25s.tokenize(texts, stopwords="en", show_progress=False), show_progress=False)
    s = retriever.scores
    weights = sparse.csc_matrix((s["data"], s["indices"], s["indptr"]), shape=(s["num_docs"], len(s["indptr"]) - 1))
    vocab = retriever.vocab_dict
    rows, cols = [], []
    for row, tokens in enumerate(bm25s.tokenize(queries, stopwords="en", return_ids=False, show_progress=False)):
        for col in {vocab[t] for t in tokens if t in vocab}:
            rows.append(row)
            cols.append(col)
    ones = np.ones(len(rows), np.float32)
    query_matrix = sparse.csr_matrix((ones, (rows, cols)), shape=(len(queries), weights.shape[1]))  # (queries, vocab)
    doc_term = weights.T.tocsr().astype(np.float32)  # (vocab, docs)
    out = np.full((len(queries), k), -1, dtype=np.int64)
    for start in range(0, len(queries), chunk):
        scores = (query_matrix[start:start + chunk] @ doc_term).tocsr()  # (chunk, docs), sparse
        for i in range(scores.shape[0]):
            lo, hi = scores.indptr[i], scores.indptr[i + 1]
            values, docs = scores.data[lo:hi], scores.indices[lo:hi]
            best = np.argpartition(-values, k - 1)[:k] if hi - lo > k else np.arange(hi - lo)
            best = best[np.argsort(-values[best], kind="stable")]
            out[start + i, : len(best)] = docs[best]
    return out


def ir_examples(data: DdtpData, md5s: set[str], groups: dict[str, str], negatives: int,
                seed: int) -> list[dict]:
    """English IR pairs with exactly ``negatives`` negatives each, BM25-mined where possible.

    Queries are unambiguous English short descriptions; the BM25 index (``bm25s``, English stopwords)
    holds the long descriptions of the same packages. A candidate is skipped when it is the positive,
    shares its source group, or has the same normalised text or short description. When the top
    ``MINING_DEPTH`` hits hold too few (big source groups), random other-group documents fill the list.

    Returns:
        ``{"query", "positive", "positive_title", "negatives", "negative_titles", "doc_id"}`` rows in md5
        order; titles are package names, as in the benchmark corpora, so training composes documents the
        way indexing does (``Encoder.document_text``).
    """
    shorts = unique_shorts(data.english, md5s)
    ids = sorted(m for m in shorts if data.english[m].long)
    texts = [data.english[m].long for m in ids]
    hits = bm25_top_k(texts, [shorts[m] for m in ids], min(MINING_DEPTH, len(ids)))
    rows, rng = [], random.Random(f"{seed}:negatives")
    for row, md5 in enumerate(ids):
        positive = normalize(texts[row])
        picked = []
        for j in hits[row][hits[row] >= 0]:
            cand = ids[int(j)]
            if cand == md5 or groups[cand] == groups[md5] or normalize(texts[int(j)]) == positive:
                continue
            if normalize(data.english[cand].short) == normalize(shorts[md5]):
                continue
            picked.append(int(j))
            if len(picked) == negatives:
                break
        for _ in range(50 * (negatives - len(picked))):  # bounded: a one-group corpus has no negatives
            cand = rng.randrange(len(ids))
            other = groups[ids[cand]] != groups[md5] and normalize(texts[cand]) != positive
            if len(picked) < negatives and other and texts[cand] not in [texts[p] for p in picked]:
                picked.append(cand)
        rows.append({"query": shorts[md5], "positive": texts[row], "positive_title": package_title(data, md5),
                     "negatives": [texts[p] for p in picked],
                     "negative_titles": [package_title(data, ids[p]) for p in picked], "doc_id": md5})
    return rows


def parallel_pairs(data: DdtpData, md5s: set[str], langs: list[str]) -> Iterator[dict[str, str]]:
    """English -> X pairs (``kind`` ``short`` or ``long``), each distinct pair once."""
    seen = set()
    for lang in langs:
        table = language_table(data, lang)
        for md5 in sorted(m for m in table if m in md5s):
            english, target = data.english[md5], table[md5]
            for kind, src, tgt in (("short", english.short, target.short), ("long", english.long, target.long)):
                if src and tgt and (lang, src, tgt) not in seen:
                    seen.add((lang, src, tgt))
                    yield {"source": src, "target": tgt, "lang": lang, "kind": kind}


def monolingual_texts(data: DdtpData, groups: dict[str, list[str]], langs: list[str],
                      seed: int) -> list[dict[str, str]]:
    """Non-parallel long descriptions: each source group in one language, balancing languages greedily.

    A whole group gets one language because sibling packages (``libfoo1``, ``libfoo-dev``) have
    near-identical descriptions, so two siblings in two languages would be a hidden parallel pair.
    Groups are visited in seeded-hash order; each goes to the language (among ``en`` and ``langs``
    having at least one of its long descriptions) with the fewest texts so far, so rare languages get
    all they have.

    Args:
        data: cleaned descriptions.
        groups: source group -> its md5s (the ``mono`` split).
        langs: training languages besides English.
        seed: visiting-order seed.
    """
    counts: Counter = Counter()
    rows, seen = [], set()
    order = ["en", *langs]
    tables = {lang: language_table(data, lang) for lang in order}
    for group in sorted(groups, key=lambda g: unit_hash(g, seed, "monolingual")):
        md5s = sorted(groups[group])
        options = [lang for lang in order if any(m in tables[lang] and tables[lang][m].long for m in md5s)]
        if not options:
            continue
        lang = min(options, key=lambda x: (counts[x], order.index(x)))
        for md5 in md5s:
            desc = tables[lang].get(md5)
            if desc and desc.long and (lang, normalize(desc.long)) not in seen:
                seen.add((lang, normalize(desc.long)))
                counts[lang] += 1
                rows.append({"text": desc.long, "lang": lang})
    return rows
