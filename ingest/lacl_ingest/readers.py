"""Readers for bulk ingestion: JSONL, Parquet and CSV records -> documents or rejects.

Every record is validated on its own. A broken record (invalid JSON, undecodable bytes, missing id or
text, empty text, wrong types) becomes a :class:`Reject` with its line (or row) number and the reason;
it never stops the job and never hides the valid records around it.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from lacl_search.core.types import Document
from lacl_search.errors import ArtifactMissing, BadInput

FORMATS = ("jsonl", "parquet", "csv")


@dataclass(frozen=True)
class FieldMap:
    """Which input fields hold the document's parts."""

    id: str = "id"
    text: str = "text"
    title: str | None = "title"
    lang: str | None = "lang"
    metadata: tuple[str, ...] = field(default_factory=tuple)


@dataclass
class Reject:
    """A record that could not become a document."""

    line: int
    reason: str
    record: str | None = None

    def as_dict(self) -> dict:
        return {"line": self.line, "reason": self.reason, "record": self.record}


Item = Document | Reject


def detect_format(path: Path) -> str:
    suffix = path.suffix.lower().lstrip(".")
    if suffix in ("jsonl", "ndjson", "json"):
        return "jsonl"
    if suffix in ("parquet", "pq"):
        return "parquet"
    if suffix in ("csv", "tsv"):
        return "csv"
    raise BadInput(f"cannot tell the format of {path.name}; pass --format jsonl|parquet|csv")


def _optional_str(record: dict, key: str | None, what: str) -> str | None:
    if key is None or record.get(key) is None:
        return None
    value = record[key]
    if not isinstance(value, str):
        raise ValueError(f"field {key!r} ({what}) must be a string, got {type(value).__name__}")
    return value.strip() or None


def to_document(record: object, fields: FieldMap) -> Document:
    """Validate one record; raise ValueError naming the problem."""
    if not isinstance(record, dict):
        raise ValueError(f"record must be an object, got {type(record).__name__}")
    doc_id = record.get(fields.id)
    if doc_id is None or doc_id == "":
        raise ValueError(f"missing id field {fields.id!r}")
    if isinstance(doc_id, bool) or not isinstance(doc_id, (str, int)):
        raise ValueError(f"id field {fields.id!r} must be a string or integer, got {type(doc_id).__name__}")
    if fields.text not in record or record[fields.text] is None:
        raise ValueError(f"missing text field {fields.text!r}")
    text = record[fields.text]
    if not isinstance(text, str):
        raise ValueError(f"text field {fields.text!r} must be a string, got {type(text).__name__}")
    if not text.strip():
        raise ValueError(f"text field {fields.text!r} is empty")
    metadata = {}
    for key in fields.metadata:
        value = record.get(key)
        if isinstance(value, (dict, set)):
            raise ValueError(f"metadata field {key!r} must be a scalar or a list, got {type(value).__name__}")
        if value is not None:
            metadata[key] = value
    title = _optional_str(record, fields.title, "title")
    lang = _optional_str(record, fields.lang, "lang")
    return Document(str(doc_id), text.strip(), title, lang, metadata or None)


def _validated(lineno: int, record: object, raw: str | None, fields: FieldMap) -> Item:
    try:
        return to_document(record, fields)
    except ValueError as exc:
        return Reject(lineno, str(exc), raw)


def read_jsonl(path: Path, fields: FieldMap) -> Iterator[Item]:
    with path.open("rb") as fh:
        for lineno, raw_bytes in enumerate(fh, start=1):
            item = parse_jsonl_line(lineno, raw_bytes, fields)
            if item is not None:
                yield item


def parse_jsonl_line(lineno: int, raw_bytes: bytes, fields: FieldMap) -> Item | None:
    """One JSONL line as a document or a reject (None for a blank line); shared by every engine."""
    try:
        raw = raw_bytes.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Reject(lineno, f"undecodable bytes (not UTF-8) at byte {exc.start}", None)
    if not raw.strip():
        return None
    try:
        record = json.loads(raw)
    except json.JSONDecodeError as exc:
        return Reject(lineno, f"invalid JSON: {exc.msg} at column {exc.colno}", raw.rstrip("\n")[:1000])
    return _validated(lineno, record, raw.rstrip("\n")[:1000], fields)


def _has_undecodable(row: dict) -> bool:
    return any(isinstance(v, str) and any("\udc80" <= ch <= "\udcff" for ch in v) for v in row.values())


def read_csv(path: Path, fields: FieldMap) -> Iterator[Item]:
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    # surrogateescape keeps undecodable bytes visible per row, so one bad row rejects only itself
    with path.open(encoding="utf-8", errors="surrogateescape", newline="") as fh:
        reader = csv.DictReader(fh, delimiter=delimiter)
        for row in reader:
            record = {k: (v if v != "" else None) for k, v in row.items() if k is not None}
            if _has_undecodable(record):
                yield Reject(reader.line_num, "undecodable bytes (not UTF-8)", None)
                continue
            yield _validated(reader.line_num, record, None, fields)


def read_parquet(path: Path, fields: FieldMap) -> Iterator[Item]:
    import pyarrow.parquet as pq

    row = 0
    for batch in pq.ParquetFile(path).iter_batches(batch_size=1024):
        for record in batch.to_pylist():
            row += 1
            yield _validated(row, record, None, fields)


def read_records(path: Path, fields: FieldMap, fmt: str | None = None) -> Iterator[Item]:
    """Documents and rejects from ``path`` in file order."""
    path = Path(path)
    if not path.is_file():
        raise ArtifactMissing(f"input file not found: {path}")
    fmt = fmt or detect_format(path)
    readers = {"jsonl": read_jsonl, "csv": read_csv, "parquet": read_parquet}
    if fmt not in readers:
        raise BadInput(f"format must be one of {FORMATS}, got {fmt!r}")
    return readers[fmt](path, fields)
