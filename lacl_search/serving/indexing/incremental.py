"""Incremental ingestion: a content hash per document, looked up in batches, so unchanged ones are skipped.

Each indexed document stores ``content_hash`` (:data:`lacl_search.core.schema.CONTENT_HASH`): a hash of
everything that went into its ``_source`` and its vector (body, title, language as given, metadata) and
of the model that embedded it (weights fingerprint, document prefix). A re-run looks the stored hashes
up with one ``mget`` per window of documents (realtime: no refresh needed) and splits the window into
``skipped`` (same hash: neither encoded nor written), ``updated`` (different hash) and ``new`` (absent).
The same idea as the ``skip_existing`` option of OpenSearch's ``text_embedding`` processor.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable

from opensearchpy import OpenSearch
from opensearchpy.helpers import scan

from lacl_search.core import schema
from lacl_search.core.types import Document

from .bulk import Action, delete_action

log = logging.getLogger(__name__)


def content_hash(doc: Document, model_key: str) -> str:
    """A hash of ``doc`` as given (before language detection) and of ``model_key`` (see :func:`model_key`)."""
    payload = json.dumps([model_key, doc.title, doc.text, doc.lang, doc.metadata], ensure_ascii=False,
                         sort_keys=True, default=str)
    return hashlib.blake2b(payload.encode("utf-8"), digest_size=16).hexdigest()


def model_key(fingerprint: str, document_prefix: str) -> str:
    """What of the model a document's vector depends on: its weights' fingerprint and its document prefix."""
    return f"{fingerprint}|{document_prefix}"


def stored_hashes(client: OpenSearch, index: str, doc_ids: list[str]) -> dict[str, str | None]:
    """``doc_id -> stored content hash`` for the ids found in ``index`` (None: found, but no hash stored)."""
    if not doc_ids:
        return {}
    response = client.mget(index=index, body={"ids": doc_ids}, params={"_source_includes": schema.CONTENT_HASH,
                                                                      "realtime": "true"})
    return {d["_id"]: d.get("_source", {}).get(schema.CONTENT_HASH) for d in response["docs"] if d.get("found")}


def indexed_ids(client: OpenSearch, index: str) -> Iterable[str]:
    """Every document id in ``index`` (a scroll without sources)."""
    query = {"query": {"match_all": {}}, "_source": False}
    for hit in scan(client, query=query, index=index, size=5000, scroll="2m"):
        yield hit["_id"]


def missing_deletes(client: OpenSearch, index: str, keep: set[str]) -> Iterable[list[Action]]:
    """Delete actions for the documents of ``index`` whose id is not in ``keep`` (lists of up to 1000)."""
    batch: list[Action] = []
    for doc_id in indexed_ids(client, index):
        if doc_id not in keep:
            batch.append(delete_action(index, doc_id))
            if len(batch) == 1000:
                yield batch
                batch = []
    if batch:
        yield batch
