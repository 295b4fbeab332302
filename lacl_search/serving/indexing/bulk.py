"""Bulk writes that survive 429 storms and outages: byte-aware chunks, retries with backoff, concurrency.

A chunk is bounded by documents (``chunk_size``) and by bytes (``max_chunk_bytes``), so a few long
documents never exceed the cluster's request limit. Each chunk is sent by one of ``concurrency``
threads with ``_bulk``; the items answered 429 (the write queue is full) are re-sent alone after an
exponential backoff with jitter, up to ``max_retries`` times; a chunk that cannot reach the cluster is
retried the same way. When a chunk exhausts its retries on connection errors the cluster is taken as
down: :class:`ClusterDown` is set, and every later document is reported unwritten without another
attempt (the caller lists them, and a re-run completes them).

Reference: the retry loop of ``opensearchpy.helpers.actions.streaming_bulk`` (which retries 429 only, in
one thread, and counts chunks by an estimate of their size).
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from opensearchpy import OpenSearch
from opensearchpy.exceptions import ConnectionError as TransportConnectionError
from opensearchpy.exceptions import TransportError

from lacl_search.errors import BadInput

try:  # orjson writes float32 vectors directly and in their shortest form (half the bytes, ~10x faster)
    import orjson

    def _dumps(obj: dict) -> bytes:
        return orjson.dumps(obj, option=orjson.OPT_SERIALIZE_NUMPY)
except ImportError:  # pragma: no cover - orjson comes with the demo extra
    def _dumps(obj: dict) -> bytes:
        return json.dumps(obj, ensure_ascii=False, default=lambda v: v.tolist()).encode("utf-8")

# only what the writer reads of the answer (the full answer repeats index, version, shards per item)
_FILTER_PATH = "errors,items.*.status,items.*.error.type,items.*.error.reason"
UNREACHABLE = "not written: the cluster stayed unreachable"


@dataclass(frozen=True)
class BulkOptions:
    """How documents are batched and written, and how 429s and outages are retried.

    Attributes:
        batch_size: documents per encoder batch.
        chunk_size: documents per bulk request.
        max_chunk_bytes: bytes per bulk request (whichever limit is reached first).
        max_retries: re-sends of a document answered 429, or of a chunk that could not reach the cluster.
        initial_backoff: seconds before the first retry (doubling after each, with jitter).
        max_backoff: the longest wait between retries, in seconds.
        concurrency: bulk requests in flight at once (threads).
        compress: gzip request bodies (pays off only on links slower than ~100 Mbit/s; see docs/results.md).
    """

    batch_size: int = 32
    chunk_size: int = 500
    max_chunk_bytes: int = 10 * 1024 * 1024
    max_retries: int = 8
    initial_backoff: float = 0.5
    max_backoff: float = 30.0
    concurrency: int = 2
    compress: bool = False

    def __post_init__(self) -> None:
        if min(self.batch_size, self.chunk_size, self.max_chunk_bytes, self.concurrency) < 1 or self.max_retries < 0:
            raise BadInput("batch_size, chunk_size, max_chunk_bytes, concurrency must be >= 1, max_retries >= 0")
        if self.initial_backoff < 0 or self.max_backoff < self.initial_backoff:
            raise BadInput("backoff must satisfy 0 <= initial_backoff <= max_backoff")

    def backoff(self, attempt: int) -> float:
        """Seconds to wait before retry ``attempt`` (0-based): doubling, capped, 50-100 % jitter."""
        return min(self.max_backoff, self.initial_backoff * 2**attempt) * random.uniform(0.5, 1.0)


@dataclass
class Outcome:
    """What became of the documents of one chunk (``failed``: ``(doc_id, reason)``)."""

    written: list[tuple[str, str]] = field(default_factory=list)  # (doc_id, kind)
    failed: list[tuple[str, str]] = field(default_factory=list)  # worth retrying: 429s left, 5xx, outage
    refused: list[tuple[str, str]] = field(default_factory=list)  # the document itself is bad (4xx)
    throttled: int = 0  # item answers 429 seen
    retries: int = 0  # re-sent requests (429 or connection)
    connection_errors: int = 0
    bytes_sent: int = 0


@dataclass(frozen=True)
class Action:
    """One serialised bulk action: its id, its kind (``new``/``updated``/``delete``), its NDJSON lines."""

    doc_id: str
    kind: str
    payload: bytes


def index_action(index: str, doc_id: str, source: dict, kind: str = "new") -> Action:
    head = _dumps({"index": {"_index": index, "_id": doc_id}})
    return Action(doc_id, kind, head + b"\n" + _dumps(source) + b"\n")


def delete_action(index: str, doc_id: str) -> Action:
    return Action(doc_id, "delete", _dumps({"delete": {"_index": index, "_id": doc_id}}) + b"\n")


def chunks(actions: Iterable[Action], chunk_size: int, max_chunk_bytes: int) -> Iterator[list[Action]]:
    """Group actions into chunks of at most ``chunk_size`` actions and ``max_chunk_bytes`` bytes.

    An action larger than ``max_chunk_bytes`` on its own travels alone (the cluster decides).
    """
    chunk: list[Action] = []
    size = 0
    for action in actions:
        if chunk and (len(chunk) == chunk_size or size + len(action.payload) > max_chunk_bytes):
            yield chunk
            chunk, size = [], 0
        chunk.append(action)
        size += len(action.payload)
    if chunk:
        yield chunk


def bulk_client(client: OpenSearch, compress: bool, concurrency: int = 1) -> OpenSearch:
    """``client``, or a copy of it with request compression switched to ``compress`` (and a connection pool
    of ``concurrency``); the copy keeps the hosts, credentials, TLS and timeout settings."""
    transport = client.transport
    if bool(transport.kwargs.get("http_compress")) == compress:
        return client
    return OpenSearch(
        hosts=transport.hosts, max_retries=transport.max_retries, retry_on_timeout=transport.retry_on_timeout,
        pool_maxsize=max(concurrency, transport.pool_maxsize or 1), **{**transport.kwargs, "http_compress": compress},
    )


class ClusterDown(threading.Event):
    """Set once a chunk exhausted its retries on connection errors: later writes are not attempted."""


def _reason(error: object) -> str:
    if isinstance(error, dict):
        return f"{error.get('type')}: {error.get('reason')}"[:500]
    return str(error)[:500]


def send_chunk(client: OpenSearch, chunk: list[Action], options: BulkOptions, down: ClusterDown) -> Outcome:
    """Send one chunk; re-send what was answered 429 (or everything, on a connection error)."""
    out = Outcome()
    pending = chunk
    for attempt in range(options.max_retries + 1):
        if down.is_set():
            out.failed += [(a.doc_id, UNREACHABLE) for a in pending]
            return out
        body = b"".join(a.payload for a in pending)
        try:
            response = client.bulk(body=body, params={"filter_path": _FILTER_PATH})
        except (TransportConnectionError, OSError) as exc:  # also ConnectionTimeout
            out.connection_errors += 1
            if attempt == options.max_retries:
                down.set()
                out.failed += [(a.doc_id, f"{UNREACHABLE} ({type(exc).__name__})") for a in pending]
                return out
            out.retries += 1
            time.sleep(options.backoff(attempt))
            continue
        except TransportError as exc:
            if exc.status_code != 429 or attempt == options.max_retries:
                out.failed += [(a.doc_id, f"bulk request failed ({exc.status_code}): {_reason(exc.error)}")
                               for a in pending]
                return out
            out.throttled += len(pending)
            out.retries += 1
            time.sleep(options.backoff(attempt))
            continue
        out.bytes_sent += len(body)
        retry: list[Action] = []
        for action, item in zip(pending, response["items"], strict=True):
            answer = next(iter(item.values()))
            status = answer.get("status", 500)
            if 200 <= status < 300 or (action.kind == "delete" and status == 404):
                out.written.append((action.doc_id, action.kind))
            elif status == 429:
                out.throttled += 1
                retry.append(action)
            elif 400 <= status < 500:
                out.refused.append((action.doc_id, _reason(answer.get("error"))))
            else:
                out.failed.append((action.doc_id, _reason(answer.get("error"))))
        if not retry:
            return out
        if attempt == options.max_retries:
            out.failed += [(a.doc_id, f"429 too many requests after {attempt} retries") for a in retry]
            return out
        out.retries += 1
        time.sleep(options.backoff(attempt))
        pending = retry
    return out


def write_chunks(client: OpenSearch, batches: Iterable[list[Action]], options: BulkOptions, down: ClusterDown,
                 collect: Callable[[Outcome], None]) -> None:
    """Send ``batches`` (lists of actions) with ``options.concurrency`` requests in flight.

    ``collect`` is called in the caller's thread with each chunk's :class:`Outcome` (in order of
    submission), so reports need no locks.
    """
    client = bulk_client(client, options.compress, options.concurrency)
    window = 2 * options.concurrency  # bounded: memory stays flat whatever the input size
    flat = (a for batch in batches for a in batch)
    with ThreadPoolExecutor(options.concurrency, thread_name_prefix="lacl-bulk") as pool:
        inflight: deque[Future[Outcome]] = deque()
        for chunk in chunks(flat, options.chunk_size, options.max_chunk_bytes):
            inflight.append(pool.submit(send_chunk, client, chunk, options, down))
            while len(inflight) >= window or (inflight and inflight[0].done()):
                collect(inflight.popleft().result())
        while inflight:
            collect(inflight.popleft().result())
