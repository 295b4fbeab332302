"""The bulk ingestion job: read a file, write rejects, embed and index the valid documents.

``run(config)`` returns the final report: indexed (= new + updated + skipped), rejected, failed,
encoded, 429s retried, seconds, docs/s (and the encoder's own docs/s), whether the alias moved. Broken
records go to the rejects file (JSONL: ``line``, ``reason``, ``record``) and never stop the job;
documents the cluster refuses after retries, or that were left unwritten because it stayed down, are
written there too (with their ``doc_id``) and make the job's exit status non-zero. Re-running the same
command completes them: unchanged documents are skipped, an unfinished rebuild is resumed.

Engines: ``local`` (this process: an encoding thread and concurrent bulk writers) and ``ray``
(:mod:`lacl_ingest.ray_engine`, Ray Data with a pool of encoder actors).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from opensearchpy import OpenSearch

from lacl_search.core.types import Document
from lacl_search.serving.indexing import LoadOptions, LoadResult, load

from .readers import FieldMap, Reject, read_records

if TYPE_CHECKING:  # either backend; importing torch here would tax every command's start-up
    from lacl_search.core.encoder import Encoder

log = logging.getLogger(__name__)


@dataclass
class IngestConfig:
    """One ingestion job."""

    input: Path
    index: str
    model: str = "default"
    rejects: Path | None = None
    format: str | None = None
    fields: FieldMap = field(default_factory=FieldMap)
    load: LoadOptions = field(default_factory=LoadOptions)
    show_progress: bool = True
    engine: str = "local"
    backend: str | None = None  # encoder backend for the documents (None: the fastest, see load_document_encoder)

    def __post_init__(self) -> None:
        self.input = Path(self.input)
        self.rejects = Path(self.rejects) if self.rejects else self.input.with_name(self.input.name + ".rejects.jsonl")


class RejectSink:
    """Streams rejects to a JSONL file (created lazily: no file when nothing is rejected)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = 0
        self.failed = 0
        self._fh: TextIO | None = None
        self._lock = threading.Lock()  # rejects come from the reader thread, failures from the writer

    def _write(self, row: dict) -> None:
        with self._lock:
            if self._fh is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._fh = self.path.open("w", encoding="utf-8")
            self._fh.write(json.dumps(row, ensure_ascii=False) + "\n")
            self._fh.flush()

    def reject(self, item: Reject) -> None:
        self.count += 1
        self._write(item.as_dict())

    def failure(self, doc_id: str, reason: str) -> None:
        self.failed += 1
        self._write({"line": None, "doc_id": doc_id, "reason": f"indexing failed: {reason}"})

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()


def _documents(items: Iterator[Document | Reject], sink: RejectSink) -> Iterator[Document]:
    """The valid documents of ``items``; rejects go to ``sink`` (a later record with the same id wins)."""
    for item in items:
        if isinstance(item, Reject):
            sink.reject(item)
            continue
        yield item


def count_records(path: Path, fmt: str | None) -> int | None:
    """Records in the input, for the progress bar's ETA (JSONL: lines; Parquet: rows; CSV: unknown)."""
    fmt = fmt or path.suffix.lower().lstrip(".")
    if fmt in ("jsonl", "ndjson", "json"):
        with path.open("rb") as fh:
            return sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b""))
    if fmt in ("parquet", "pq"):
        import pyarrow.parquet as pq

        return pq.ParquetFile(path).metadata.num_rows
    return None


def progress(docs: Iterator[Document], config: IngestConfig) -> Iterator[Document]:
    """``docs`` behind a progress bar with an ETA (records read; the writer follows within a window)."""
    if not config.show_progress:
        return docs
    from tqdm.auto import tqdm

    return tqdm(docs, desc="ingest", unit="doc", total=count_records(config.input, config.format), smoothing=0.05)


def summary(config: IngestConfig, result: LoadResult, report: dict, sink: RejectSink) -> dict:
    """The job's report: where it wrote, whether the alias moved, the counts, the rejects file."""
    return {"index": config.index, "concrete_index": result.index, "target": result.mode,
            "switched": result.switched, "count": result.count, "problem": result.problem, **report,
            "rejects_file": str(config.rejects) if sink.count or sink.failed else None}


def run(config: IngestConfig, client: OpenSearch, encoder: Encoder | None = None) -> dict:
    """Run the job and return its report as a dict."""
    items = read_records(config.input, config.fields, config.format)
    if encoder is None:
        from lacl_search.core.encoding import load_document_encoder

        encoder = load_document_encoder(config.model, backend=config.backend)
    sink = RejectSink(config.rejects)
    stale = config.rejects.exists()
    docs = progress(_documents(items, sink), config)
    try:
        result, report = load(client, config.index, encoder, docs, options=config.load, on_failure=sink.failure)
    finally:
        sink.close()
    if stale and sink.count == 0 and sink.failed == 0:
        config.rejects.unlink()  # an old rejects file must not describe this run
    report.rejected = sink.count
    warn_without_profile(client, config.index, encoder)
    return summary(config, result, report.as_dict(), sink)


def warn_without_profile(client: OpenSearch, index: str, encoder: Encoder) -> None:
    """Warn when the index has no language-aware fusion profile fitted for the model that filled it."""
    from lacl_search.serving import profiles

    try:
        found = profiles.find(client, index, encoder.fingerprint())
    except Exception:  # noqa: BLE001 - a warning must never fail a finished job
        return
    if found is None:
        log.warning("index %s has no fusion profile fitted for this model: hybrid search uses min-max 0.5/0.5; "
                    "fit one with `MODEL=... bash scripts/fit_fusion.sh`, then `lacl-search fusion apply` (or "
                    "save it as fusion_profile.json in the model's folder: every later ingest stores it)", index)
