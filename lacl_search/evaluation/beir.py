"""Reading BEIR datasets and writing TREC run files.

A dataset folder holds ``corpus.jsonl`` (``_id``, ``title``, ``text``, optional ``lang``),
``queries.jsonl`` (``_id``, ``text``, optional ``lang``) and ``qrels/<split>.tsv`` (header
``query-id corpus-id score``). Format reference: beir-cellar/beir ``beir/datasets/data_loader.py``.
Readers return new objects and never modify what the caller passes in.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from lacl_search.core.langid import detect_language, document_language, normalize_lang
from lacl_search.core.paths import sha256_file
from lacl_search.core.types import Document
from lacl_search.errors import ArtifactMissing, BadInput


@dataclass(frozen=True)
class Query:
    query_id: str
    text: str
    lang: str | None = None


def _jsonl(path: Path) -> Iterator[tuple[int, dict]]:
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if line.strip():
                try:
                    yield lineno, json.loads(line)
                except json.JSONDecodeError as exc:
                    raise BadInput(f"{path}:{lineno}: invalid JSON ({exc.msg})") from None


def _require(path: Path) -> Path:
    if not path.is_file():
        raise ArtifactMissing(f"BEIR dataset file missing: {path}")
    return path


def iter_corpus(dataset: Path) -> Iterator[Document]:
    """Documents of ``dataset/corpus.jsonl``."""
    return iter_corpus_file(Path(dataset) / "corpus.jsonl")


def iter_corpus_file(path: Path) -> Iterator[Document]:
    """Documents of a BEIR ``corpus.jsonl`` file."""
    path = _require(Path(path))
    for lineno, row in _jsonl(path):
        if "_id" not in row or not isinstance(row.get("text"), str):
            raise BadInput(f"{path}:{lineno}: a corpus record needs '_id' and a string 'text'")
        meta = {k: v for k, v in row.items() if k not in ("_id", "title", "text", "lang")}
        yield Document(str(row["_id"]), row["text"], row.get("title") or None, row.get("lang"), meta or None)


def load_queries(dataset: Path) -> list[Query]:
    """Queries of ``dataset/queries.jsonl``."""
    return load_queries_file(Path(dataset) / "queries.jsonl")


def load_queries_file(path: Path) -> list[Query]:
    """Queries of a BEIR ``queries.jsonl`` file (``_id``, ``text``, optional ``lang``)."""
    path = _require(Path(path))
    out = []
    for lineno, row in _jsonl(path):
        if "_id" not in row or not isinstance(row.get("text"), str):
            raise BadInput(f"{path}:{lineno}: a query record needs '_id' and a string 'text'")
        out.append(Query(str(row["_id"]), row["text"], row.get("lang")))
    return out


def load_qrels(dataset: Path, split: str = "test") -> dict[str, dict[str, int]]:
    """``{query_id: {doc_id: relevance}}`` from ``dataset/qrels/<split>.tsv``."""
    path = _require(Path(dataset) / "qrels" / f"{split}.tsv")
    qrels: dict[str, dict[str, int]] = {}
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh, delimiter="\t")
        header = next(reader, None)
        if header is None or [h.strip() for h in header[:3]] != ["query-id", "corpus-id", "score"]:
            raise BadInput(f"{path}: the first line must be the header 'query-id\\tcorpus-id\\tscore'")
        for lineno, row in enumerate(reader, start=2):
            if len(row) < 3:
                raise BadInput(f"{path}:{lineno}: expected 3 tab-separated columns")
            qrels.setdefault(row[0], {})[row[1]] = int(row[2])
    return qrels


def corpus_fingerprint(dataset: Path) -> str:
    """sha256 (16 hex digits) of ``corpus.jsonl``: same file -> same value."""
    return sha256_file(_require(Path(dataset) / "corpus.jsonl"))[:16]


def document_languages(dataset: Path) -> dict[str, str | None]:
    """``{doc_id: lang}`` for the corpus of ``dataset``: the one source of document languages
    (:func:`lacl_search.core.langid.document_language`, which indexing uses too)."""
    return {doc.doc_id: document_language(doc.lang, doc.title, doc.text) for doc in iter_corpus(dataset)}


def document_groups(dataset: Path, key: str = "group") -> dict[str, str]:
    """``{doc_id: value}`` of the corpus field ``key`` (DDTP: ``group``, the md5 shared by a description's
    translations; ingested as ``metadata.<key>``, what ``group_by`` reads), for the documents that have it."""
    return {doc.doc_id: str(doc.metadata[key]) for doc in iter_corpus(dataset)
            if doc.metadata and doc.metadata.get(key) is not None}


def query_languages(queries: list[Query]) -> dict[str, str | None]:
    """``{query_id: lang}``: the query's ``lang`` field (normalised), else detected."""
    return {q.query_id: normalize_lang(q.lang) or detect_language(q.text) for q in queries}
