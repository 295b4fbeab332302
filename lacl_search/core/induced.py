"""Query translations induced from the encoder, for the languages no lexicon covers.

The DDTP lexicon (:mod:`lacl_search.core.lexicon`) translates the training languages only: by the data rules
the other languages get no parallel data, so their queries used to reach English documents through dense
retrieval alone (BM25 matches only names and numbers across languages). The multilingual encoder already maps
words of many languages near their English counterparts, so a word translation can be read off it: each word
of the query goes to its nearest words of an English vocabulary under the same encoder, the idea of
bilingual lexicon induction from a shared embedding space (Conneau et al., "Word Translation Without Parallel
Data", ICLR 2018), here with the dual encoder itself as the space and no alignment step. The vocabulary is the
lexicon's own target side (the English words it translates into: training data only); its vectors depend on
the encoder, so they are encoded once per encoder and kept next to the lexicon (:func:`load_induced`).

Single words are short, out-of-context inputs for a sentence encoder, and the nearest neighbour is often a
look-alike (Czech ``hra`` "game" lands on ``hero``), so only neighbours close to the best one are kept, and
only learned fusion uses them: its ranker is fitted with these translations on the training languages'
queries (translated by the encoder as if the lexicon lacked them) and learns how far to trust them
(``lang_induced``, :mod:`lacl_search.core.fusion_ranker`).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lacl_search.core.lexicon import MAX_TERMS, MAX_TRANSLATED_WORDS, TARGET_STOP_WORDS, Lexicon, lexicon_path

log = logging.getLogger(__name__)

# The first setting tried. Cross-validation inside the fit half preferred 0.70 by 0.0015 nDCG@10, within noise,
# and the report half of all three set-ups, refitted with it, moved by -0.0013 ... +0.0008: kept at 0.75
# (docs/fusion.md, "Eleventh session" and "Twelfth session"). Cosine between a query word and a vocabulary word,
# both encoded as queries.
MIN_SIMILARITY = 0.75  # a word whose best neighbour is further than this is left untranslated
MARGIN = 0.04  # neighbours kept: within this of the best one
TOP = 3  # and at most this many per word
MAX_WORDS = 32  # words encoded per query: a pasted paragraph must not cost hundreds of encodings
_WORD = re.compile(r"\w+")
_LATIN = re.compile(r"^[\x00-\u024f]+$")
_VOCABULARY_WORD = re.compile(r"^[a-z][a-z-]+$")

Translations = tuple[tuple[str, float], ...]


def source_words(text: str) -> list[str]:
    """The query's words to translate: lower-cased whole words (no CJK bigrams: the encoder reads words), Latin
    ones of at least 3 letters (shorter ones are mostly function words), at most :data:`MAX_WORDS`."""
    words = [w for w in _WORD.findall(text.lower()) if len(w) > 2 or not _LATIN.match(w)]
    return words[:MAX_WORDS]


def vocabulary(lexicon: Lexicon) -> tuple[str, ...]:
    """The lexicon's target words that can be translations: alphabetic, at least 3 letters, no stop word."""
    stop = TARGET_STOP_WORDS.get(lexicon.target, frozenset())
    words = {term for table in lexicon.tables.values() for options in table.values() for term, _ in options}
    return tuple(sorted(w for w in words if len(w) > 2 and _VOCABULARY_WORD.match(w) and w not in stop))


@dataclass(frozen=True)
class InducedLexicon:
    """Nearest-neighbour word translations into ``target`` over ``vocabulary`` (rows of ``vectors``,
    unit length, encoded by the encoder that encodes the query words)."""

    target: str
    vocabulary: tuple[str, ...]
    vectors: np.ndarray

    def __post_init__(self) -> None:
        if self.vectors.shape[0] != len(self.vocabulary):
            raise ValueError(f"{len(self.vocabulary)} vocabulary words but {self.vectors.shape[0]} vectors")

    def translate(self, words: Sequence[str], word_vectors: np.ndarray) -> Translations:
        """The weighted translations of ``words`` (:func:`source_words`) given their vectors (one row each,
        encoded as queries): per word, the vocabulary words within :data:`MARGIN` of its best neighbour, if that
        one is at least :data:`MIN_SIMILARITY` (at most :data:`TOP`), sharing weight 1 in proportion to their
        similarity; summed over the words, scaled by ``min(1, MAX_TRANSLATED_WORDS / translated words)`` as the
        lexicon does, heaviest first, at most :data:`MAX_TERMS`."""
        if not words or not self.vocabulary:
            return ()
        similarity = _unit_rows(word_vectors) @ self.vectors.T
        top = min(TOP, len(self.vocabulary))
        candidates = np.argpartition(-similarity, top - 1, axis=1)[:, :top]  # the top ones, unordered: O(n)
        per_word = []
        for row, found in zip(similarity, candidates, strict=True):
            best = found[np.lexsort((found, -row[found]))]  # best first, ties by vocabulary order
            kept = [(self.vocabulary[i], float(row[i])) for i in best
                    if row[i] >= MIN_SIMILARITY and row[i] >= row[best[0]] - MARGIN]
            if kept:
                per_word.append(kept)
        scale = min(1.0, MAX_TRANSLATED_WORDS / max(1, len(per_word)))
        weights: dict[str, float] = {}
        for kept in per_word:
            total = sum(s for _, s in kept)
            for term, s in kept:
                weights[term] = weights.get(term, 0.0) + s / total * scale
        ranked = sorted(weights.items(), key=lambda item: (-item[1], item[0]))[:MAX_TERMS]
        return tuple((term, round(weight, 4)) for term, weight in ranked)


def _unit_rows(vectors: np.ndarray | Sequence) -> np.ndarray:
    """``vectors`` as float32 rows of unit length (a zero row stays zero)."""
    rows = np.asarray(vectors, dtype=np.float32)
    return rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)


def vectors_path(lexicon: Lexicon, fingerprint: str) -> Path:
    """Where the vocabulary's vectors under the encoder with ``fingerprint`` are kept, beside the lexicon (the
    name also carries a digest of the vocabulary: a lexicon built again with other words gets new vectors)."""
    return _vectors_path(lexicon.name, fingerprint, vocabulary(lexicon))


def _vectors_path(name: str, fingerprint: str, words: Sequence[str]) -> Path:
    digest = hashlib.sha1("\n".join(words).encode()).hexdigest()[:12]
    return lexicon_path(name).with_name(f"{name}.induced-{fingerprint}-{digest}.npy")


def load_induced(lexicon: Lexicon, *, fingerprint: str,
                 encode: Callable[[list[str]], np.ndarray]) -> InducedLexicon:
    """The induced lexicon over ``lexicon``'s target words for one encoder: its vectors read from
    :func:`vectors_path`, or encoded with ``encode`` (the encoder's query encoding) and written there once
    (a damaged file is encoded again; the vectors of the lexicon's older vocabularies are removed)."""
    words = vocabulary(lexicon)
    if not words:  # nothing to translate into
        return InducedLexicon(lexicon.target, words, np.zeros((0, 0), dtype=np.float32))
    path = _vectors_path(lexicon.name, fingerprint, words)
    vectors = None
    if path.is_file():
        try:
            vectors = np.load(path, allow_pickle=False)
        except (OSError, ValueError, EOFError) as exc:
            log.warning("%s is damaged (%s): encoding the vocabulary again", path, exc)
    if vectors is None or vectors.ndim != 2 or vectors.shape[0] != len(words):
        log.info("encoding the %d target words of lexicon %s once, for induced translations (%s)",
                 len(words), lexicon.name, path)
        vectors = _unit_rows(encode(list(words)))
        for older in path.parent.glob(f"{lexicon.name}.induced-{fingerprint}-*.npy"):
            if not older.name.endswith(".tmp.npy"):  # another writer's file in progress stays
                older.unlink(missing_ok=True)
        tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp.npy")  # one writer's file, renamed in one step
        np.save(tmp, vectors)
        tmp.replace(path)
    return InducedLexicon(lexicon.target, words, np.asarray(vectors, dtype=np.float32))
