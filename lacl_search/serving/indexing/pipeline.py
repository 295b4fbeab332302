"""Embed and write documents: an encoding thread feeding concurrent bulk writers, with an :class:`IndexReport`.

Documents flow: ``Iterable[Document]`` -> windows of ``batch_size * SORT_WINDOW_BATCHES`` -> stored-hash
lookup (:mod:`.incremental`: unchanged documents are skipped) -> :meth:`Encoder.encode_documents`
(length-sorted) -> bulk actions (``_id`` = ``doc_id``: a re-run is idempotent) -> :func:`.bulk.write_chunks`.
Encoding and writing overlap. Every per-document failure is counted and handed to ``on_failure``.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from opensearchpy import OpenSearch
from opensearchpy.exceptions import ConnectionError as TransportConnectionError

from lacl_search.core import schema
from lacl_search.core.langid import document_language
from lacl_search.core.types import Document

from .bulk import UNREACHABLE, Action, BulkOptions, ClusterDown, Outcome, index_action, write_chunks
from .incremental import content_hash, model_key, stored_hashes

if TYPE_CHECKING:  # either backend; importing torch here would tax every command's start-up
    from lacl_search.core.encoder import Encoder

log = logging.getLogger(__name__)

MAX_ERRORS_KEPT = 100
SORT_WINDOW_BATCHES = 16  # documents are length-sorted over this many encoder batches (2.5x faster on CPU)
# On a GPU one window must fill its large batches: encoding 512 documents per call left an H200 mostly idle
# (benchmarks/gpu_throughput.py --ingest-windows).
GPU_WINDOW = 8192
FailureHook = Callable[[str, str], None]


@dataclass
class IndexReport:
    """What a bulk job did.

    ``indexed`` counts the input's documents that are in the index and current after the run
    (``new + updated + skipped``); ``failed`` the valid documents that could not be written but may be
    on a re-run (429s past the retries, server errors, not attempted because the cluster stayed down);
    ``refused`` the documents the cluster rejected as such (a 4xx answer such as a mapping conflict: like
    a rejected record, a re-run would not help). ``indexed + failed + refused`` is the number of
    distinct input documents. ``encoded`` is what went through the encoder; ``throttled`` the 429 answers seen (each
    was retried); ``outage`` whether the cluster stayed unreachable past the retries.
    """

    indexed: int = 0
    new: int = 0
    updated: int = 0
    skipped: int = 0
    deleted: int = 0
    failed: int = 0
    refused: int = 0
    rejected: int = 0
    encoded: int = 0
    throttled: int = 0
    retries: int = 0
    connection_errors: int = 0
    bytes_sent: int = 0
    seconds: float = 0.0
    encode_seconds: float = 0.0
    outage: bool = False
    errors: list[dict] = field(default_factory=list)

    @property
    def written(self) -> int:
        return self.new + self.updated

    @property
    def docs_per_s(self) -> float:
        return self.written / self.seconds if self.seconds else 0.0

    @property
    def encode_docs_per_s(self) -> float:
        return self.encoded / self.encode_seconds if self.encode_seconds else 0.0

    def fail(self, doc_id: str, reason: str, on_failure: FailureHook | None, refused: bool = False) -> None:
        if refused:
            self.refused += 1
            reason = f"refused by the cluster: {reason}"
        else:
            self.failed += 1
        if len(self.errors) < MAX_ERRORS_KEPT:
            self.errors.append({"doc_id": doc_id, "reason": reason})
        if on_failure:
            on_failure(doc_id, reason)

    def add(self, outcome: Outcome, on_failure: FailureHook | None) -> None:
        """Count one chunk's outcome."""
        for _, kind in outcome.written:
            if kind == "delete":
                self.deleted += 1
            else:
                setattr(self, kind, getattr(self, kind) + 1)
        for doc_id, reason in outcome.failed:
            self.fail(doc_id, reason, on_failure)
        for doc_id, reason in outcome.refused:
            self.fail(doc_id, reason, on_failure, refused=True)
        self.throttled += outcome.throttled
        self.retries += outcome.retries
        self.connection_errors += outcome.connection_errors
        self.bytes_sent += outcome.bytes_sent

    def as_dict(self) -> dict:
        return {
            "indexed": self.indexed, "new": self.new, "updated": self.updated, "skipped": self.skipped,
            "deleted": self.deleted, "rejected": self.rejected, "refused": self.refused, "failed": self.failed,
            "encoded": self.encoded,
            "throttled_429": self.throttled, "retries": self.retries, "connection_errors": self.connection_errors,
            "seconds": round(self.seconds, 2), "docs_per_s": round(self.docs_per_s, 1),
            "encode_seconds": round(self.encode_seconds, 2), "encoder_docs_per_s": round(self.encode_docs_per_s, 1),
            "mb_sent": round(self.bytes_sent / 1e6, 1), "errors": self.errors[:MAX_ERRORS_KEPT],
        }


def with_language(doc: Document) -> Document:
    """``doc`` with its language code normalised, or detected when missing (a new object)."""
    return Document(doc.doc_id, doc.text, doc.title, document_language(doc.lang, doc.title, doc.text), doc.metadata)


def _windows(docs: Iterable[Document], size: int) -> Iterator[list[Document]]:
    batch: dict[str, Document] = {}
    for doc in docs:
        batch.pop(doc.doc_id, None)  # a later record with the same id wins
        batch[doc.doc_id] = doc
        if len(batch) == size:
            yield list(batch.values())
            batch = {}
    if batch:
        yield list(batch.values())


@dataclass
class _Work:
    """What the encoding thread hands the writer: actions to write, or ids left unwritten."""

    actions: list[Action] = field(default_factory=list)
    unwritten: list[str] = field(default_factory=list)


class Embedder:
    """Turns windows of documents into bulk actions, skipping those whose stored hash is current."""

    def __init__(self, client: OpenSearch, index: str, encoder: Encoder, *, batch_size: int, incremental: bool):
        self.client, self.index, self.encoder, self.batch_size = client, index, encoder, batch_size
        self.incremental = incremental
        on_gpu = getattr(getattr(encoder, "device", None), "type", "cpu") == "cuda"
        self.window = max(batch_size * SORT_WINDOW_BATCHES, GPU_WINDOW if on_gpu else 0)  # documents per encode
        self.key = model_key(encoder.fingerprint(), encoder.config.document_prefix)
        self.skipped = self.encoded = 0
        self.seconds = 0.0

    def actions(self, window: list[Document]) -> list[Action]:
        """Index actions for the documents of ``window`` that are new or changed (raises on an outage)."""
        hashes = [content_hash(d, self.key) for d in window]
        stored = stored_hashes(self.client, self.index, [d.doc_id for d in window]) if self.incremental else {}
        todo = [(d, h) for d, h in zip(window, hashes, strict=True) if stored.get(d.doc_id, "") != h]
        self.skipped += len(window) - len(todo)
        if not todo:
            return []
        docs = [with_language(d) for d, _ in todo]
        start = time.perf_counter()
        vectors = self.encoder.encode_documents(docs, batch_size=self.batch_size)
        self.seconds += time.perf_counter() - start
        self.encoded += len(docs)
        out = []
        for doc, (_, digest), vector in zip(docs, todo, vectors, strict=True):
            source = schema.document_source(doc.doc_id, doc.text, vector, doc.lang, doc.title, doc.metadata, digest)
            out.append(index_action(self.index, doc.doc_id, source, "updated" if doc.doc_id in stored else "new"))
        return out


class _EncodingThread(threading.Thread):
    """Runs an :class:`Embedder` over the input in the background; hands :class:`_Work` through a queue."""

    def __init__(self, embedder: Embedder, docs: Iterable[Document], down: ClusterDown,
                 seen: set[str] | None) -> None:
        super().__init__(daemon=True, name="lacl-encode")
        self.embedder, self.docs, self.down, self.seen = embedder, docs, down, seen
        self.out: queue.Queue = queue.Queue(maxsize=2 * SORT_WINDOW_BATCHES)
        self.error: BaseException | None = None
        self._halt = threading.Event()

    def run(self) -> None:
        size = self.embedder.batch_size
        try:
            for window in _windows(self.docs, self.embedder.window):
                if self._halt.is_set():
                    return
                if self.seen is not None:
                    self.seen.update(d.doc_id for d in window)
                if not self.down.is_set():
                    try:
                        actions = self.embedder.actions(window)
                    except (TransportConnectionError, OSError):
                        self.down.set()
                if self.down.is_set():  # list the rest as unwritten: reading is cheap, encoding is not
                    self.out.put(_Work(unwritten=[d.doc_id for d in window]))
                    continue
                for offset in range(0, len(actions), size):
                    self.out.put(_Work(actions=actions[offset : offset + size]))
        except BaseException as exc:  # noqa: BLE001 - re-raised in the writer thread
            self.error = exc
        finally:
            self.out.put(None)

    def work(self) -> Iterator[_Work]:
        while (item := self.out.get()) is not None:
            yield item
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
    *,
    options: BulkOptions | None = None,
    on_failure: FailureHook | None = None,
    incremental: bool = True,
    seen: set[str] | None = None,
) -> IndexReport:
    """Embed and index ``docs`` into ``index``; never raises for a per-document failure or an outage.

    Args:
        client: OpenSearch client.
        index: concrete index (or alias with one write index).
        encoder: the document encoder.
        docs: documents (a generator is fine: memory stays bounded).
        options: batching, retry, concurrency and compression settings.
        on_failure: called with ``(doc_id, reason)`` for each document that could not be written.
        incremental: look stored content hashes up and skip unchanged documents.
        seen: when given, every valid input id is added to it (for deleting what the input lacks).
    """
    options = options or BulkOptions()
    report = IndexReport()
    start = time.perf_counter()
    down = ClusterDown()
    embedder = Embedder(client, index, encoder, batch_size=options.batch_size, incremental=incremental)
    producer = _EncodingThread(embedder, docs, down, seen)
    producer.start()

    def batches() -> Iterator[list[Action]]:
        for work in producer.work():
            for doc_id in work.unwritten:
                report.fail(doc_id, UNREACHABLE, on_failure)
            yield work.actions

    try:
        write_chunks(client, batches(), options, down, lambda outcome: report.add(outcome, on_failure))
    finally:
        producer.stop()
    report.skipped, report.encoded = embedder.skipped, embedder.encoded
    report.indexed = report.new + report.updated + report.skipped
    report.outage = down.is_set()
    report.seconds = time.perf_counter() - start
    report.encode_seconds = embedder.seconds
    log.info("%s: %d new, %d updated, %d unchanged, %d failed, %d 429s retried, in %.1f s", index, report.new,
             report.updated, report.skipped, report.failed, report.throttled, report.seconds)
    return report
