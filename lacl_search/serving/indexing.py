"""The write path: embed documents and load them into a versioned index behind an alias.

Documents flow: ``Iterable[Document]`` -> :meth:`Encoder.encode_documents` (a background thread,
length-sorted windows) -> bulk actions (``_id`` = ``doc_id``, so a re-run is idempotent) ->
``opensearchpy.helpers.streaming_bulk`` (retries with backoff on 429 per :class:`BulkOptions`), with
every per-document failure counted in an :class:`IndexReport`. Encoding and bulk writes overlap.

A logical index name (``docs``) is an alias. Each build is a concrete index ``<alias>-<timestamp>``
whose mapping ``_meta`` records the model and its fingerprint. :func:`load_documents` writes into the
concrete index built with the same model, or builds a new one (bulk-load settings, then serving
settings) and moves the alias to it in one atomic ``_aliases`` call.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from opensearchpy import NotFoundError, OpenSearch
from opensearchpy.helpers import streaming_bulk

from lacl_search.core import schema
from lacl_search.core.encoder import Encoder
from lacl_search.core.langid import document_language
from lacl_search.core.types import Document
from lacl_search.errors import BadInput, ClusterError

log = logging.getLogger(__name__)

MAX_ERRORS_KEPT = 100
SORT_WINDOW_BATCHES = 16  # documents are length-sorted over this many encoder batches (2.5x faster on CPU)
_INVALID_NAME_CHARS = ' "*\\<|,>/?#:'


@dataclass(frozen=True)
class BulkOptions:
    """How documents are batched and written, and how 429s are retried.

    Attributes:
        batch_size: documents per encoder batch.
        chunk_size: documents per bulk request.
        max_chunk_bytes: bytes per bulk request (whichever limit is reached first).
        max_retries: bulk retries of a chunk answered 429.
        initial_backoff: seconds before the first retry (doubling after each).
        max_backoff: the longest wait between retries, in seconds.
    """

    batch_size: int = 32
    chunk_size: int = 200
    max_chunk_bytes: int = 50 * 1024 * 1024
    max_retries: int = 5
    initial_backoff: float = 2.0
    max_backoff: float = 60.0

    def __post_init__(self) -> None:
        if min(self.batch_size, self.chunk_size, self.max_chunk_bytes) < 1 or self.max_retries < 0:
            raise BadInput("batch_size, chunk_size and max_chunk_bytes must be >= 1, max_retries >= 0")
        if self.initial_backoff < 0 or self.max_backoff < self.initial_backoff:
            raise BadInput("backoff must satisfy 0 <= initial_backoff <= max_backoff")


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
    return Document(doc.doc_id, doc.text, doc.title, document_language(doc.lang, doc.title, doc.text), doc.metadata)


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
                vectors = self.encoder.encode_documents(batch, batch_size=self.batch_size)
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
    *,
    options: BulkOptions | None = None,
    on_failure: Callable[[str, str], None] | None = None,
) -> IndexReport:
    """Embed and index ``docs`` into ``index``; never raises for a per-document failure.

    Args:
        client: OpenSearch client.
        index: concrete index (or alias with one write index).
        encoder: the document encoder.
        docs: documents (a generator is fine: memory stays bounded).
        options: batching and retry settings.
        on_failure: called with ``(doc_id, reason)`` for each document the cluster refused.
    """
    options = options or BulkOptions()
    report = IndexReport()
    start = time.perf_counter()
    producer = _EncodingThread(encoder, index, docs, options.batch_size)
    producer.start()
    try:
        results = streaming_bulk(
            client, producer.actions(), chunk_size=options.chunk_size, max_chunk_bytes=options.max_chunk_bytes,
            max_retries=options.max_retries, initial_backoff=options.initial_backoff,
            max_backoff=options.max_backoff, raise_on_error=False, raise_on_exception=False,
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


# ------------------------------------------------------------------------------- versioned indices
def model_meta(encoder: Encoder, model_name: str) -> dict:
    """The ``_meta`` entries describing the model that fills an index."""
    return {
        "model": model_name,
        "model_fingerprint": encoder.fingerprint(),
        "pooling": encoder.config.pooling,
        "query_prefix": encoder.config.query_prefix,
        "document_prefix": encoder.config.document_prefix,
    }


def icu_available(client: OpenSearch) -> bool:
    return "analysis-icu" in {p["component"] for p in client.cat.plugins(format="json")}


def check_index_name(alias: str) -> str:
    """``alias`` if OpenSearch accepts it as an index name, else :class:`BadInput`."""
    if not alias or alias != alias.lower() or any(c in alias for c in _INVALID_NAME_CHARS) or alias[0] in "-_+":
        raise BadInput(f"invalid index name {alias!r}: use lower-case letters, digits, '-', '_' or '.'")
    return alias


def create_index(client: OpenSearch, alias: str, encoder: Encoder, model_name: str,
                 extra_meta: dict | None = None) -> str:
    """Create a new concrete index for ``alias`` (in bulk-load state) and return its name."""
    check_index_name(alias)
    name = f"{alias}-{time.strftime('%Y%m%d%H%M%S')}-{int(time.time() * 1000) % 1000:03d}"
    meta = {**model_meta(encoder, model_name), **(extra_meta or {})}
    body = schema.index_body(encoder.dim, encoder.config.space_type, meta, icu=icu_available(client))
    client.indices.create(index=name, body=body)
    log.info("created index %s for alias %s (dim %d, %s)", name, alias, encoder.dim, encoder.config.space_type)
    return name


def alias_targets(client: OpenSearch, alias: str) -> list[str]:
    """Concrete indices behind ``alias`` (empty if the alias does not exist)."""
    try:
        return sorted(client.indices.get_alias(name=alias))
    except NotFoundError:
        return []


def index_meta(client: OpenSearch, index: str) -> dict:
    mapping = client.indices.get_mapping(index=index)
    return next(iter(mapping.values()))["mappings"].get("_meta", {})


def find_index(client: OpenSearch, alias: str, **expected: object) -> str | None:
    """The concrete index behind ``alias`` whose ``_meta`` has every ``expected`` value, else None."""
    for index in alias_targets(client, alias):
        meta = index_meta(client, index)
        if all(meta.get(key) == value for key, value in expected.items()):
            return index
    return None


def finish_loading(client: OpenSearch, index: str, replicas: int | None = None) -> None:
    """Apply serving settings (refresh on, replicas) and refresh once."""
    client.indices.put_settings(index=index, body=schema.serving_settings(replicas))
    client.indices.refresh(index=index)


def switch_alias(client: OpenSearch, alias: str, index: str, *, delete_old: bool = True) -> list[str]:
    """Point ``alias`` at ``index`` atomically; return (and optionally delete) the indices it left."""
    if client.indices.exists(index=alias) and not client.indices.exists_alias(name=alias):
        raise ClusterError(f"{alias!r} is a concrete index, not an alias: delete or rename it first")
    old = [i for i in alias_targets(client, alias) if i != index]
    actions = [{"remove": {"index": i, "alias": alias}} for i in old] + [{"add": {"index": index, "alias": alias}}]
    client.indices.update_aliases(body={"actions": actions})
    log.info("alias %s -> %s", alias, index)
    if delete_old and old:
        client.indices.delete(index=",".join(old))
        log.info("deleted old indices %s", old)
    return old


def delete_alias_and_indices(client: OpenSearch, alias: str) -> None:
    """Remove ``alias`` and every index behind it (tests and ``--recreate``)."""
    targets = alias_targets(client, alias)
    if targets:
        client.indices.delete(index=",".join(targets))


# ------------------------------------------------------------------------------- the load job
@dataclass(frozen=True)
class LoadOptions:
    """Options of :func:`load_documents`.

    Attributes:
        model_name: the model's name as given (recorded in ``_meta``).
        rebuild: build a new concrete index even when one with the same model exists.
        keep_old: keep the indices the alias pointed to before a switch.
        replicas: replicas after loading (None: auto-expand 0-1).
        bulk: batching and retry settings.
        extra_meta: more ``_meta`` entries (e.g. a corpus fingerprint).
    """

    model_name: str = "default"
    rebuild: bool = False
    keep_old: bool = False
    replicas: int | None = None
    bulk: BulkOptions = field(default_factory=BulkOptions)
    extra_meta: dict | None = None


def load_documents(client: OpenSearch, alias: str, encoder: Encoder, docs: Iterable[Document], *,
                   options: LoadOptions | None = None,
                   on_failure: Callable[[str, str], None] | None = None) -> tuple[str, IndexReport]:
    """Embed ``docs`` into the index behind ``alias``; return the concrete index and the report.

    When a new index is built and some documents failed, the alias is still switched only if at
    least one document was indexed; the failures are in the report either way.
    """
    options = options or LoadOptions()
    existing = None if options.rebuild else find_index(client, alias, model_fingerprint=encoder.fingerprint())
    if existing:
        log.info("writing into existing index %s (alias %s, same model)", existing, alias)
        report = index_documents(client, existing, encoder, docs, options=options.bulk, on_failure=on_failure)
        client.indices.refresh(index=existing)
        return existing, report
    index = create_index(client, alias, encoder, options.model_name, options.extra_meta)
    try:
        report = index_documents(client, index, encoder, docs, options=options.bulk, on_failure=on_failure)
    except BaseException:
        client.indices.delete(index=index, ignore_unavailable=True)
        raise
    finish_loading(client, index, options.replicas)
    if report.indexed == 0:
        client.indices.delete(index=index)
        log.error("no document was indexed: alias %s left unchanged", alias)
        return "", report
    switch_alias(client, alias, index, delete_old=not options.keep_old)
    return index, report
