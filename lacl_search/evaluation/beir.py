"""Reading BEIR datasets and writing TREC run files.

A dataset folder holds ``corpus.jsonl`` (``_id``, ``title``, ``text``, optional ``lang``),
``queries.jsonl`` (``_id``, ``text``, optional ``lang``) and ``qrels/<split>.tsv`` (header
``query-id corpus-id score``). Format reference: beir-cellar/beir ``beir/datasets/data_loader.py``.
Readers return new objects and never modify what the caller passes in.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from lacl_search.indexing import Document
from lacl_search.paths import sha256_file


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
                    raise ValueError(f"{path}:{lineno}: invalid JSON ({exc.msg})") from None


def _require(path: Path) -> Path:
    if not path.is_file():
        raise FileNotFoundError(f"BEIR dataset file missing: {path}")
    return path


def iter_corpus(dataset: Path) -> Iterator[Document]:
    """Documents of ``dataset/corpus.jsonl``."""
    path = _require(Path(dataset) / "corpus.jsonl")
    for lineno, row in _jsonl(path):
        if "_id" not in row or not isinstance(row.get("text"), str):
            raise ValueError(f"{path}:{lineno}: a corpus record needs '_id' and a string 'text'")
        meta = {k: v for k, v in row.items() if k not in ("_id", "title", "text", "lang")}
        yield Document(str(row["_id"]), row["text"], row.get("title") or None, row.get("lang"), meta or None)


def load_queries(dataset: Path) -> list[Query]:
    """Queries of ``dataset/queries.jsonl``."""
    path = _require(Path(dataset) / "queries.jsonl")
    out = []
    for lineno, row in _jsonl(path):
        if "_id" not in row or not isinstance(row.get("text"), str):
            raise ValueError(f"{path}:{lineno}: a query record needs '_id' and a string 'text'")
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
            raise ValueError(f"{path}: the first line must be the header 'query-id\\tcorpus-id\\tscore'")
        for lineno, row in enumerate(reader, start=2):
            if len(row) < 3:
                raise ValueError(f"{path}:{lineno}: expected 3 tab-separated columns")
            qrels.setdefault(row[0], {})[row[1]] = int(row[2])
    return qrels


def corpus_fingerprint(dataset: Path) -> str:
    """sha256 (16 hex digits) of ``corpus.jsonl``: same file -> same value."""
    return sha256_file(_require(Path(dataset) / "corpus.jsonl"))[:16]


def write_trec_run(path: Path, run: Mapping[str, Mapping[str, float]], tag: str) -> None:
    """Write ``run`` as a TREC run file: ``qid Q0 docid rank score tag``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        for qid in sorted(run):
            ranked = sorted(run[qid].items(), key=lambda kv: (-kv[1], kv[0]))
            for rank, (doc_id, score) in enumerate(ranked, start=1):
                fh.write(f"{qid} Q0 {doc_id} {rank} {score:.6f} {tag}\n")
