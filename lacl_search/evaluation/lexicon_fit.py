"""Learn a query-translation :class:`~lacl_search.core.lexicon.Lexicon` from parallel text (IBM Model 1).

Input: the parallel file ``lacl-search data ddtp`` writes (``train/parallel.jsonl``: one JSON object per
line with ``source`` (English), ``target`` (the translation), ``lang`` and ``kind`` (``short`` / ``long``)).
It holds the training languages only and never a reserved description, so a lexicon fitted on it uses no
evaluation data. Long descriptions longer than ``max_tokens`` on either side are skipped (Model 1 has no
notion of position, and long pairs cost quadratic memory).

Model 1 (Brown et al. 1993) with a NULL source word, vectorised: every (English token slot, source word)
cell of every pair is one array entry; an EM iteration is three ``bincount`` calls. As in
``nltk.translate.ibm1`` and GIZA++'s first stage, ``t(e | f)`` starts uniform.

Source words are Snowball-stemmed first (German, Spanish, French, Italian, Portuguese, Russian, ...; the
stems only key the table, on both sides of the lookup, and are never searched), so that a word's inflections
pool their counts: with a few thousand pairs per language most inflected forms are seen a handful of times or
never (dev, fit halves, translated BM25 alone: Russian -> English 0.373 unstemmed, 0.426 stemmed; mean of the
eight X -> en sets 0.384 -> 0.390).
English words stay as they are: they are searched through the index's analysers, which stem them.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from lacl_search.core.langid import normalize_lang
from lacl_search.core.lexicon import Lexicon, source_words, tokens
from lacl_search.errors import ArtifactMissing, ConfigError

log = logging.getLogger(__name__)
ITERATIONS = 10  # dev, fit halves, translated BM25 alone on the eight X -> en sets: 0.3904 at 5, 0.3946 at 10
MAX_TOKENS = 60
STEMMER: str | None = "snowball"
KEEP_TOP, KEEP_MIN = 5, 0.05  # what the file keeps per source word (search uses the top 3 of >= 0.1)


def model1(pairs: Iterable[tuple[Sequence[str], Sequence[str]]], *, iterations: int = ITERATIONS,
           keep_top: int = KEEP_TOP, keep_min: float = KEEP_MIN) -> dict[str, tuple[tuple[str, float], ...]]:
    """``t(e | f)`` by EM over ``(source tokens f, target tokens e)`` pairs: for each source word, its
    ``keep_top`` most likely target words of probability ``>= keep_min``, best first."""
    f_ids: dict[str, int] = {}
    e_ids: dict[str, int] = {}
    slots, es, fs = [], [], []
    n_slots = 0
    for source, target in pairs:
        if not source or not target:
            continue
        words = sorted({f_ids.setdefault(w, len(f_ids)) for w in source}) + [-1]  # -1: NULL
        for e in target:
            e_id = e_ids.setdefault(e, len(e_ids))
            slots += [n_slots] * len(words)
            es += [e_id] * len(words)
            fs += words
            n_slots += 1
    if not n_slots:
        return {}
    null = len(f_ids)
    f_arr = np.asarray(fs, dtype=np.int64)
    f_arr[f_arr < 0] = null
    slot_arr = np.asarray(slots, dtype=np.int64)
    cells, cell_of = np.unique(f_arr * len(e_ids) + np.asarray(es, dtype=np.int64), return_inverse=True)
    cell_f, cell_e = cells // len(e_ids), cells % len(e_ids)
    t = np.ones(len(cells))
    for _ in range(iterations):
        w = t[cell_of]
        posterior = w / np.bincount(slot_arr, w, minlength=n_slots)[slot_arr]
        counts = np.bincount(cell_of, posterior, minlength=len(cells))
        t = counts / np.bincount(cell_f, counts, minlength=null + 1)[cell_f]
    e_words = {i: w for w, i in e_ids.items()}
    f_words = {i: w for w, i in f_ids.items()}
    keep = (cell_f != null) & (t >= keep_min)
    by_f: dict[int, list[tuple[float, str]]] = {}
    for f, e, p in zip(cell_f[keep].tolist(), cell_e[keep].tolist(), t[keep].tolist(), strict=True):
        by_f.setdefault(f, []).append((p, e_words[e]))
    return {f_words[f]: tuple((e, round(p, 4)) for p, e in sorted(c, key=lambda x: (-x[0], x[1]))[:keep_top])
            for f, c in sorted(by_f.items())}


def read_parallel(path: Path, *, max_tokens: int = MAX_TOKENS,
                  stemmer: str | None = None) -> dict[str, list[tuple[list[str], list[str]]]]:
    """``lang -> [(translation tokens, English tokens), ...]`` from a parallel JSONL file (translation tokens
    stemmed as :func:`~lacl_search.core.lexicon.source_words` does with ``stemmer``)."""
    if not path.is_file():
        raise ArtifactMissing(f"parallel file not found: {path} (write it with 'lacl-search data ddtp')")
    by_lang: dict[str, list[tuple[list[str], list[str]]]] = {}
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, start=1):
            try:
                row = json.loads(line)
                lang, source, target = normalize_lang(row["lang"]), row["source"], row["target"]
            except (ValueError, KeyError, TypeError) as exc:
                raise ConfigError(f"{path}:{n}: not a parallel pair ({exc})") from None
            f, e = source_words(target, lang, stemmer), tokens(source)
            if row.get("kind") == "long" and (len(f) > max_tokens or len(e) > max_tokens):
                continue
            by_lang.setdefault(lang, []).append((f, e))
    return by_lang


def fit_lexicon(parallel: Path, *, name: str, langs: Sequence[str] = (), target: str = "en",
                iterations: int = ITERATIONS, stemmer: str | None = STEMMER) -> Lexicon:
    """One Model-1 table per source language in ``parallel`` (or only ``langs``), into ``target``; source words
    stemmed with ``stemmer`` (None: lower-cased words)."""
    by_lang = read_parallel(parallel, stemmer=stemmer)
    wanted = [normalize_lang(lang) for lang in langs] or sorted(by_lang)
    missing = [lang for lang in wanted if lang not in by_lang]
    if missing:
        raise ConfigError(f"{parallel} has no pairs for {', '.join(missing)} (it has {', '.join(sorted(by_lang))})")
    tables, pairs = {}, {}
    for lang in wanted:
        tables[lang] = model1(by_lang[lang], iterations=iterations)
        pairs[lang] = len(by_lang[lang])
        log.info("lexicon %s: %d pairs, %d source words", lang, pairs[lang], len(tables[lang]))
    meta = {"data": str(parallel), "pairs": pairs, "iterations": iterations, "model": "ibm1",
            "max_tokens": MAX_TOKENS}
    return Lexicon(name=name, target=target, tables=tables, meta=meta, stemmer=stemmer)
