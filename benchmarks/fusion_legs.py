"""Write one TREC run per retrieval leg for a dev benchmark, for offline fusion and fitting.

Usage: python benchmarks/fusion_legs.py --index ALIAS --dataset data/ddtp/xling-de-en --out runs/legs/xling-de-en
    [--model default] [--depth 100] [--lexicon ddtp] [--legs bm25_other ...]

Legs (each a run file in --out): ``bm25_most`` (today's BM25: base fields + the query language's fields,
``most_fields``), ``bm25_base`` (language-agnostic fields only, plain standard-analyzer BM25),
``bm25_same`` / ``bm25_other`` (BM25 over the documents in the query's language / over all others, see
``lacl_search.core.queries.bm25_partition_clause``), ``dense`` (k-NN), ``dense_translated`` (k-NN of the
query's lexicon translations, encoded, over the documents in the lexicon's target language; needs
``--lexicon``; queries it does not translate have no hits), ``bm25_other_induced`` / ``dense_translated_induced``
(the same two legs with the query's translations induced from the encoder, :mod:`lacl_search.core.induced`, for
every query of a known language other than the lexicon's target, covered or not: what search sends for a
language the lexicon lacks, and what a covered one would get without its table; needs ``--lexicon``).
``query_langs.json`` holds each
query's detected language (``lacl_search.core.langid.detect_query_language``). All requests go to the real
index, in ``_msearch`` batches. With ``--lexicon`` (a name or a ``.json.gz`` path, see
:mod:`lacl_search.core.lexicon`) ``bm25_other`` also searches each query's translations, as search does with a
profile fitted on these runs, ``bm25_other_plain`` keeps the leg without them (what languages the lexicon has
no table for get), and ``legs.json`` records the lexicon for ``lacl-search fusion fit``. ``--legs`` re-runs only
some legs (the others' files are kept; without ``dense`` or ``dense_translated`` no query is encoded).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

import numpy as np

from lacl_search.core import induced, queries
from lacl_search.core.encoder import Encoder
from lacl_search.core.langid import detect_query_language
from lacl_search.core.lexicon import Lexicon, load_lexicon
from lacl_search.core.settings import ClusterSettings
from lacl_search.evaluation import beir, runs
from lacl_search.serving.client import connect
from lacl_search.serving.language_plan import Translations, translated_knn_query, translation_text

log = logging.getLogger("fusion-legs")
LEGS = ("bm25_most", "bm25_base", "bm25_same", "bm25_other", "bm25_other_plain", "dense", "dense_translated",
        "bm25_other_induced", "dense_translated_induced")
NEEDS_LEXICON = {"dense_translated", "bm25_other_induced", "dense_translated_induced"}
ENCODED = {"dense", "dense_translated", "dense_translated_induced", "bm25_other_induced"}


def leg_bodies(text: str, lang: str | None, vector: list[float] | None, depth: int,
               lexicon: Lexicon | None = None, translated_vector: list[float] | None = None,
               induced: Translations = (), induced_vector: list[float] | None = None) -> dict[str, dict | None]:
    """The request body of each leg (None where the leg does not exist: no language, no partition, no
    lexicon, no vector, no translation); ``induced``: the query's translations induced from the encoder,
    ``induced_vector`` their encoded text."""
    def request(clause: dict) -> dict:
        return {"size": depth, "query": clause, "_source": False}

    translated = lexicon.translate(text, lang) if lexicon is not None else ()
    other = queries.bm25_partition_clause(text, lang, same=False, translations=translated) if lang else None
    return {
        "bm25_most": queries.bm25_query(text, depth, lang) | {"_source": False},
        "bm25_base": queries.bm25_query(text, depth, None) | {"_source": False},
        "bm25_same": request(queries.bm25_partition_clause(text, lang, same=True)) if lang else None,
        "bm25_other": request(other) if other else None,
        "bm25_other_plain": request(queries.bm25_partition_clause(text, lang, same=False))
        if lang and lexicon is not None else None,
        "dense": queries.knn_query(vector, depth) | {"_source": False} if vector is not None else None,
        "dense_translated": translated_knn_query(translated_vector, depth, lexicon.target) | {"_source": False}
        if translated_vector is not None and lexicon is not None else None,
        "bm25_other_induced": request(queries.bm25_partition_clause(text, lang, same=False, translations=induced))
        if induced and lang else None,
        "dense_translated_induced": translated_knn_query(induced_vector, depth, lexicon.target) | {"_source": False}
        if induced_vector is not None and lexicon is not None else None,
    }


def induce(found: list, langs: dict[str, str | None], lexicon: Lexicon,
           encoder: Encoder) -> tuple[list[Translations], list[list[float] | None]]:
    """Each query's translations induced from the encoder (empty for the target language, an unknown one,
    or no word close enough) and the vectors of their texts."""
    table = induced.load_induced(lexicon, fingerprint=encoder.fingerprint(), encode=encoder.encode_queries)
    words = [induced.source_words(q.text) if langs[q.query_id] not in (None, lexicon.target) else [] for q in found]
    unique = sorted({w for ws in words for w in ws})
    vectors = dict(zip(unique, encoder.encode_queries(unique), strict=True)) if unique else {}
    terms = [table.translate(ws, np.asarray([vectors[w] for w in ws])) if ws else () for ws in words]
    return terms, encode_present(encoder, [translation_text(t) for t in terms])


def encode_present(encoder: Encoder, texts: list[str]) -> list[list[float] | None]:
    """The query vector of each non-empty text (None for an empty one), in one batch."""
    todo = [i for i, text in enumerate(texts) if text]
    encoded: list[list[float] | None] = [None] * len(texts)
    if todo:
        for i, vector in zip(todo, encoder.encode_queries([texts[i] for i in todo]).tolist(), strict=True):
            encoded[i] = vector
    return encoded


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", required=True)
    parser.add_argument("--dataset", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--model", default="default")
    parser.add_argument("--depth", type=int, default=100)
    parser.add_argument("--lexicon", help="query-translation lexicon (name or .json.gz path) for bm25_other")
    parser.add_argument("--legs", nargs="+", choices=LEGS,
                        help="legs to (re-)run (default: all; dense_translated and the induced legs only with "
                             "--lexicon)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    client = connect(ClusterSettings.from_env())
    qrels = beir.load_qrels(args.dataset)
    found = [q for q in beir.load_queries(args.dataset) if q.query_id in qrels]
    lexicon = None
    if args.lexicon:
        lexicon = Lexicon.from_file(args.lexicon) if args.lexicon.endswith(".json.gz") else load_lexicon(args.lexicon)
    if args.legs is None:
        args.legs = [leg for leg in LEGS if lexicon is not None or leg not in NEEDS_LEXICON]
    if NEEDS_LEXICON & set(args.legs) and lexicon is None:
        parser.error(f"the legs {sorted(NEEDS_LEXICON & set(args.legs))} need --lexicon")
    langs = {q.query_id: detect_query_language(q.text) for q in found}
    vectors: list = [None] * len(found)
    translated_vectors: list = [None] * len(found)
    encoder = Encoder.load(args.model) if ENCODED & set(args.legs) else None
    if "dense" in args.legs:
        vectors = encoder.encode_queries([q.text for q in found]).tolist()
    if "dense_translated" in args.legs:  # the translations' text, encoded (queries the lexicon translates)
        translated_vectors = encode_present(
            encoder, [translation_text(lexicon.translate(q.text, langs[q.query_id])) for q in found])
    induced_terms: list[Translations] = [()] * len(found)
    induced_vectors: list = [None] * len(found)
    if {"bm25_other_induced", "dense_translated_induced"} & set(args.legs):
        induced_terms, induced_vectors = induce(found, langs, lexicon, encoder)
    out: dict[str, dict[str, dict[str, float]]] = {leg: {} for leg in args.legs}
    for start in range(0, len(found), 50):
        lines, keys = [], []
        batch = slice(start, start + 50)
        for q, vector, translated_vector, terms, induced_vector in zip(
                found[batch], vectors[batch], translated_vectors[batch], induced_terms[batch], induced_vectors[batch],
                strict=True):
            for leg, body in leg_bodies(q.text, langs[q.query_id], vector, args.depth, lexicon,
                                        translated_vector, terms, induced_vector).items():
                if body is not None and leg in out:
                    lines += [{"index": args.index}, body]
                    keys.append((leg, q.query_id))
        if not lines:  # e.g. only the translated dense leg, and no query of this batch translated
            continue
        for (leg, qid), resp in zip(keys, client.msearch(body=lines)["responses"], strict=True):
            if "error" in resp:
                raise RuntimeError(f"{leg} {qid}: {resp['error']}")
            out[leg][qid] = {h["_id"]: float(h["_score"]) for h in resp["hits"]["hits"]}
    args.out.mkdir(parents=True, exist_ok=True)
    for leg, run in out.items():
        runs.write_trec_run(args.out / f"{leg}.trec", run, leg)
    (args.out / "query_langs.json").write_text(json.dumps(langs, indent=1) + "\n", encoding="utf-8")
    if "bm25_other" in args.legs:
        meta = {"lexicon": lexicon.name if lexicon is not None else None}
        (args.out / "legs.json").write_text(json.dumps(meta) + "\n", encoding="utf-8")
        if lexicon is None:
            (args.out / "bm25_other_plain.trec").unlink(missing_ok=True)
    log.info("%s: %d queries, legs written to %s", args.dataset.name, len(found), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
