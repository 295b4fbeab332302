"""BEIR-format benchmarks built from DDTP descriptions of the dev split.

Three kinds (query = a short description, document = a long description, title = package name):

- ``xling-<lang>-en``: queries in ``lang``, corpus = English long descriptions of all dev packages.
- ``mono-<lang>``: queries and corpus in ``lang``.
- ``mixed``: one corpus holding every language version of each package (doc id ``<md5>-<lang>``);
  every language version of the right package is relevant, which exposes language bias.

A query whose short description is shared by another package in its language ("transitional package")
is ambiguous and never used. Documents with identical text (sibling packages) are all relevant.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from lacl_provision.ddtp.ddtp import DdtpData, Description, normalize


@dataclass(frozen=True)
class BenchmarkSpec:
    """Sizes of the dev benchmarks.

    Attributes:
        max_queries: query cap of a single-language benchmark (seeded sample).
        mixed_per_lang: query cap per language in ``mixed``.
        mixed_max_packages: ``mixed`` holds at most this many packages (seeded sample of the dev
            packages translated into at least one other language), to keep it embeddable on a CPU.
        min_queries: a benchmark with fewer usable queries is not built.
        min_mono_docs: a monolingual benchmark with a smaller corpus is not built.
        seed: sampling seed.
    """

    max_queries: int = 500
    mixed_per_lang: int = 100
    mixed_max_packages: int = 1500
    min_queries: int = 50
    min_mono_docs: int = 200
    seed: int = 13


@dataclass
class Benchmark:
    """One BEIR dataset in memory.

    Attributes:
        name: folder name (``xling-de-en``, ``mono-en``, ``mixed``, ``quickstart``).
        corpus: ``{"_id", "title", "text", "lang"}`` rows.
        queries: ``{"_id", "text", "lang"}`` rows.
        qrels: ``(query_id, doc_id, score)`` triples.
    """

    name: str
    corpus: list[dict[str, str]]
    queries: list[dict[str, str]]
    qrels: list[tuple[str, str, int]]


def language_table(data: DdtpData, lang: str) -> dict[str, Description]:
    """Return md5 -> description for ``lang`` (``en`` is the originals)."""
    return data.english if lang == "en" else data.translations.get(lang, {})


def unique_shorts(table: dict[str, Description], allowed: set[str]) -> dict[str, str]:
    """Return md5 -> short description for shorts used by exactly one allowed md5 of the table."""
    counts = Counter(normalize(d.short) for m, d in table.items() if m in allowed and d.short)
    return {m: d.short for m, d in table.items() if m in allowed and d.short and counts[normalize(d.short)] == 1}


def package_title(data: DdtpData, md5: str) -> str:
    """A description's title: its (first) package name, never the short description."""
    return data.packages.get(md5, [""])[0]


def make_doc(data: DdtpData, desc: Description, doc_id: str) -> dict[str, str]:
    """One corpus row; the title is the (first) package name, never the short description; ``group`` is
    the description's md5, shared by all its translations (``lacl-search ingest --metadata-field group``
    and ``search --group-by group`` return one hit per translation set)."""
    title = package_title(data, desc.md5)
    return {"_id": doc_id, "title": title, "text": desc.long, "lang": desc.lang, "group": desc.md5}


def sample(items: Iterable[str], cap: int, seed: int, salt: str) -> list[str]:
    """Return at most ``cap`` of ``items``, a seeded sample in sorted order."""
    pool = sorted(items)
    if len(pool) > cap:
        pool = sorted(random.Random(f"{seed}:{salt}").sample(pool, cap))
    return pool


def twin_qrels(corpus: list[dict[str, str]], targets: dict[str, list[str]]) -> list[tuple[str, str, int]]:
    """Expand query -> relevant doc ids with documents of identical (lang, text), and flatten."""
    by_text: dict[tuple[str, str], list[str]] = defaultdict(list)
    key_of = {}
    for doc in corpus:
        key = (doc["lang"], normalize(doc["text"]))
        by_text[key].append(doc["_id"])
        key_of[doc["_id"]] = key
    qrels = []
    for qid, doc_ids in targets.items():
        relevant = sorted({twin for d in doc_ids for twin in by_text[key_of[d]]})
        qrels += [(qid, doc_id, 1) for doc_id in relevant]
    return qrels


def single_language(data: DdtpData, dev: set[str], query_lang: str, doc_lang: str,
                    spec: BenchmarkSpec) -> Benchmark | None:
    """Build ``xling-<query_lang>-en`` (doc_lang ``en``) or ``mono-<lang>`` from the dev md5s.

    Returns:
        The benchmark, or ``None`` when it would have fewer than ``spec.min_queries`` queries (or,
        for a monolingual one, fewer than ``spec.min_mono_docs`` documents).
    """
    docs = {m: d for m, d in language_table(data, doc_lang).items() if m in dev and d.long}
    shorts = unique_shorts(language_table(data, query_lang), dev)
    candidates = [m for m in shorts if m in docs]
    mono = query_lang == doc_lang
    if len(candidates) < spec.min_queries or (mono and len(docs) < spec.min_mono_docs):
        return None
    name = f"mono-{doc_lang}" if mono else f"xling-{query_lang}-en"
    chosen = sample(candidates, spec.max_queries, spec.seed, name)
    corpus = [make_doc(data, docs[m], m) for m in sorted(docs)]
    queries = [{"_id": m, "text": shorts[m], "lang": query_lang} for m in chosen]
    return Benchmark(name, corpus, queries, twin_qrels(corpus, {m: [m] for m in chosen}))


def multilingual(data: DdtpData, md5s: set[str], langs: list[str], per_lang: int, seed: int,
                 name: str = "mixed") -> Benchmark:
    """Build a mixed-language benchmark: every language version of a package is relevant.

    Args:
        data: cleaned descriptions.
        md5s: packages to include (dev md5s for ``mixed``).
        langs: languages of documents and queries (``en`` included).
        per_lang: query cap per language.
        seed: sampling seed.
        name: folder name.
    """
    corpus, versions = [], defaultdict(list)
    for lang in langs:
        table = language_table(data, lang)
        for md5 in sorted(md5s):
            if md5 in table and table[md5].long:
                corpus.append(make_doc(data, table[md5], f"{md5}-{lang}"))
                versions[md5].append(f"{md5}-{lang}")
    queries, targets = [], {}
    for lang in langs:
        shorts = unique_shorts(language_table(data, lang), md5s)
        for md5 in sample([m for m in shorts if m in versions], per_lang, seed, f"{name}-{lang}"):
            queries.append({"_id": f"{md5}-{lang}", "text": shorts[md5], "lang": lang})
            targets[f"{md5}-{lang}"] = versions[md5]
    return Benchmark(name, corpus, queries, twin_qrels(corpus, targets))


def dev_benchmarks(data: DdtpData, dev: set[str], langs: list[str], spec: BenchmarkSpec) -> list[Benchmark]:
    """All dev benchmarks of ``langs``: cross-lingual to English, monolingual (en first) and mixed."""
    out = []
    for lang in langs:
        out.append(single_language(data, dev, lang, "en", spec))
    for lang in ["en", *langs]:
        out.append(single_language(data, dev, lang, lang, spec))
    mixed_langs = ["en", *langs]
    tables = [language_table(data, lang) for lang in mixed_langs]
    translated = [m for m in dev if sum(1 for t in tables if m in t and t[m].long) >= 2]
    chosen = set(sample(translated, spec.mixed_max_packages, spec.seed, "mixed-packages"))
    out.append(multilingual(data, chosen, mixed_langs, spec.mixed_per_lang, spec.seed))
    return [b for b in out if b is not None]


def quickstart(data: DdtpData, pool: set[str], langs: list[str], n_docs: int, seed: int) -> Benchmark:
    """A small multilingual demo corpus (~``n_docs`` documents) with one example query per language.

    Packages translated into the most of ``langs`` come first (ties broken by a seeded shuffle), so
    the corpus holds many language versions of the same packages.
    """
    rng = random.Random(f"{seed}:quickstart")
    tables = [language_table(data, lang) for lang in langs]
    ranked = sorted(pool)
    rng.shuffle(ranked)
    count = {m: sum(1 for t in tables if m in t and t[m].long) for m in ranked}
    ranked.sort(key=lambda m: -count[m])
    chosen, total = set(), 0
    for md5 in ranked:
        if total >= n_docs:
            break
        chosen.add(md5)
        total += count[md5]
    return multilingual(data, chosen, langs, 1, seed, name="quickstart")
