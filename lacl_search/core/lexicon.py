"""Query translation for the lexical leg: word translation tables learned from parallel text.

With a strong cross-lingual encoder BM25 adds little to an X -> English search, because a German query
shares only names and numbers with an English document. A :class:`Lexicon` maps each query word to its
likely English translations with probabilities ``t(e | f)`` (IBM Model 1, fitted on the training
languages' parallel descriptions by :mod:`lacl_search.evaluation.lexicon_fit`, keyed by Snowball stems);
the BM25 partition over documents in other languages then also searches those words, each weighted by its
probability (:func:`lacl_search.core.queries.bm25_partition_clause`). This is the probabilistic structured query of
classic cross-language IR, flattened to a weighted ``bool`` of term queries.

References: Brown et al., "The Mathematics of Statistical Machine Translation", CL 1993 (Model 1);
Darwish & Oard, "Probabilistic Structured Query Methods", SIGIR 2003.

Lexicons live in ``$LACL_HOME/lexicons/<name>.json.gz``; a fusion profile names the lexicon its weights
were fitted with, and search loads it from there (:func:`load_lexicon`).
"""

from __future__ import annotations

import gzip
import json
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from lacl_search.core.paths import cache_dir
from lacl_search.errors import ArtifactMissing, ConfigError

FORMAT = "lacl-lexicon"
VERSION = 1
TOP_TRANSLATIONS = 3  # per query word, as measured on the dev benchmarks (docs/fusion.md)
MIN_PROBABILITY = 0.1
MAX_TERMS = 32  # translated terms per query: a pasted paragraph must not become a thousand-clause query
# A query's translations together weigh at most as much as this many source words: a Chinese or Japanese query
# is a run of overlapping character bigrams, each with (noisier) translations, which would otherwise outweigh
# the query itself (dev, titles + base encoder, BM25 alone: ja -> en 0.308 uncapped, 0.391 capped at 6,
# 0.364 untranslated; fr -> en 0.542 / 0.526 / 0.380; the hybrid within +-0.01).
MAX_TRANSLATED_WORDS = 6
# Translations that are stop words of the target language are dropped: they match nearly every document in the
# language-agnostic fields (the analysed fields drop them anyway), which cost server time for no ranking signal
# (Lucene's English stop set, ``EnglishAnalyzer.ENGLISH_STOP_WORDS_SET``).
TARGET_STOP_WORDS = {"en": frozenset(
    "a an and are as at be but by for if in into is it no not of on or such that the their then there these "
    "they this to was will with".split())}
_WORD = re.compile(r"\w+")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\uf900-\ufaff]")
_NAME = re.compile(r"^[a-z0-9_.-]+$")
# Snowball stemmers for the source languages that have one; a lexicon fitted with ``stemmer="snowball"`` is
# keyed by stems, so a word's inflections share one entry (the stems are looked up, never searched).
SNOWBALL = {"da": "danish", "de": "german", "en": "english", "es": "spanish", "fi": "finnish", "fr": "french",
            "hu": "hungarian", "it": "italian", "nl": "dutch", "no": "norwegian", "pt": "portuguese",
            "ro": "romanian", "ru": "russian", "sv": "swedish", "tr": "turkish"}
STEMMERS = ("snowball",)

Table = Mapping[str, tuple[tuple[str, float], ...]]


def check_name(name: str) -> str:
    """``name`` if it can name a lexicon (a file name in the lexicon folder, never a path); else ConfigError."""
    if not isinstance(name, str) or not _NAME.match(name) or name.startswith("."):
        raise ConfigError(f"lexicon name {name!r}: use lower-case letters, digits, '.', '_' or '-'")
    return name


def tokens(text: str) -> list[str]:
    """Lower-cased word tokens; runs of CJK characters become overlapping character bigrams (as the
    index's language-agnostic analyzer does), so Chinese and Japanese need no segmenter."""
    out: list[str] = []
    for word in _WORD.findall(text.lower()):
        if _CJK.search(word):
            out += [word[i:i + 2] for i in range(max(1, len(word) - 1))]
        else:
            out.append(word)
    return out


def source_words(text: str, lang: str | None, stemmer: str | None = None) -> list[str]:
    """:func:`tokens` of ``text``, stemmed with ``lang``'s Snowball stemmer when ``stemmer`` is
    ``"snowball"`` and the language has one (CJK bigrams and other languages' words stay as they are)."""
    words = tokens(text)
    if stemmer == "snowball" and lang in SNOWBALL:
        return [_stem(word, lang) for word in words]
    return words


_stemmers = threading.local()  # Snowball stemmer objects hold state while they stem: one per thread


@lru_cache(maxsize=1 << 18)
def _stem(word: str, lang: str) -> str:
    cache = _stemmers.__dict__.setdefault("by_lang", {})
    if lang not in cache:
        import snowballstemmer  # only when a stemmed lexicon is used: every command imports this module

        cache[lang] = snowballstemmer.stemmer(SNOWBALL[lang])
    return cache[lang].stemWord(word)


@dataclass(frozen=True)
class Lexicon:
    """Word translation tables from several source languages into one target language.

    Attributes:
        name: the name profiles refer to it by (``ddtp``).
        target: the language translations are in (``en``).
        tables: source language -> source word -> ``((target word, probability), ...)``, best first.
        meta: how it was built (data, pairs per language, iterations).
        stemmer: how source words are normalised before lookup: None (lower-cased words) or ``"snowball"``
            (the tables are keyed by Snowball stems; :func:`source_words`).
    """

    name: str
    target: str
    tables: Mapping[str, Table]
    meta: Mapping[str, object] = field(default_factory=dict)
    stemmer: str | None = None

    def __post_init__(self) -> None:
        check_name(self.name)
        if self.stemmer is not None and self.stemmer not in STEMMERS:
            raise ConfigError(f"lexicon {self.name!r}: unknown stemmer {self.stemmer!r} (known: {', '.join(STEMMERS)})")

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(sorted(self.tables))

    def translate(self, text: str, lang: str | None, *, top: int = TOP_TRANSLATIONS,
                  min_probability: float = MIN_PROBABILITY) -> tuple[tuple[str, float], ...]:
        """The target-language terms for ``text`` in ``lang``, each weighted by the sum over the query's
        words of ``t(term | word)`` (at most ``top`` translations per word, those of probability
        ``>= min_probability``, the target's stop words left out), scaled by ``min(1, MAX_TRANSLATED_WORDS /
        words)``; empty when ``lang`` is the target or has no table. Heaviest first."""
        table = self.tables.get(lang or "")
        if table is None or lang == self.target:
            return ()
        words = source_words(text, lang, self.stemmer)
        scale = min(1.0, MAX_TRANSLATED_WORDS / max(1, len(words)))
        stop = TARGET_STOP_WORDS.get(self.target, frozenset())
        weights: dict[str, float] = {}
        for word in words:
            for term, prob in table.get(word, ())[:top]:
                if prob >= min_probability and term not in stop:
                    weights[term] = weights.get(term, 0.0) + prob * scale
        ranked = sorted(weights.items(), key=lambda item: (-item[1], item[0]))[:MAX_TERMS]
        return tuple((term, round(weight, 4)) for term, weight in ranked)

    def to_file(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        data = {"format": FORMAT, "version": VERSION, "name": self.name, "target": self.target,
                "stemmer": self.stemmer, "meta": dict(self.meta),
                "tables": {lang: {w: [[t, p] for t, p in ts] for w, ts in sorted(table.items())}
                           for lang, table in sorted(self.tables.items())}}
        with gzip.open(path, "wt", encoding="utf-8") as fh:
            json.dump(data, fh, ensure_ascii=False, separators=(",", ":"))
        return path

    @classmethod
    def from_file(cls, path: str | Path) -> Lexicon:
        path = Path(path)
        try:
            with gzip.open(path, "rt", encoding="utf-8") as fh:
                data = json.load(fh)
        except FileNotFoundError:
            raise ArtifactMissing(f"lexicon not found: {path}") from None
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{path}: not a gzipped lexicon file ({exc})") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ConfigError(f"{path}: not a lacl-search lexicon")
        if data.get("version") != VERSION:
            raise ConfigError(f"{path}: lexicon version {data.get('version')} is not supported (expected {VERSION})")
        try:
            tables = {lang: {w: tuple((str(t), float(p)) for t, p in ts) for w, ts in table.items()}
                      for lang, table in data["tables"].items()}
            return cls(name=str(data["name"]), target=str(data["target"]), tables=tables, meta=data.get("meta", {}),
                       stemmer=data.get("stemmer"))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ConfigError(f"{path}: a damaged lexicon ({type(exc).__name__}: {exc})") from None


def lexicon_path(name: str) -> Path:
    """Where the lexicon called ``name`` is kept: ``$LACL_HOME/lexicons/<name>.json.gz``."""
    return cache_dir("lexicons") / f"{name}.json.gz"


@lru_cache(maxsize=4)
def load_lexicon(name: str) -> Lexicon:
    """The lexicon called ``name``, from :func:`lexicon_path`; loaded once per process."""
    path = lexicon_path(check_name(name))
    if not path.is_file():
        raise ArtifactMissing(f"lexicon {name!r} not found at {path}: build it with "
                              f"'lacl-search fusion lexicon --name {name}'")
    return Lexicon.from_file(path)
