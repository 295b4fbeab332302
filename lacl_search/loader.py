"""Load documents into a logical index (an alias), re-using or re-building its concrete index.

- The alias already points at an index built with the same model (same fingerprint): documents are
  written into it (``_id`` = ``doc_id``, so re-runs overwrite rather than duplicate).
- Otherwise (new alias, new model, or ``rebuild=True``): a new concrete index is created in bulk-load
  state, filled, switched to serving settings, and the alias moves to it atomically.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from opensearchpy import OpenSearch

from lacl_search import indices
from lacl_search.encoder import Encoder
from lacl_search.indexing import Document, IndexReport, index_documents

log = logging.getLogger(__name__)


@dataclass
class LoadOptions:
    """Options of :func:`load_documents`."""

    model_name: str = "default"
    rebuild: bool = False
    keep_old: bool = False
    replicas: int | None = None
    batch_size: int = 32
    chunk_size: int = 200
    extra_meta: dict | None = None


def load_documents(
    client: OpenSearch,
    alias: str,
    encoder: Encoder,
    docs: Iterable[Document],
    options: LoadOptions | None = None,
    on_failure: Callable[[str, str], None] | None = None,
) -> tuple[str, IndexReport]:
    """Embed ``docs`` into the index behind ``alias``; return the concrete index and the report.

    When a new index is built and some documents failed, the alias is still switched only if at
    least one document was indexed; the failures are in the report either way.
    """
    options = options or LoadOptions()
    existing = None
    if not options.rebuild:
        existing = indices.find_index(client, alias, model_fingerprint=encoder.fingerprint())
    if existing:
        log.info("writing into existing index %s (alias %s, same model)", existing, alias)
        report = index_documents(client, existing, encoder, docs, options.batch_size, options.chunk_size,
                                 on_failure=on_failure)
        client.indices.refresh(index=existing)
        return existing, report
    index = indices.create_index(client, alias, encoder, options.model_name, options.extra_meta)
    try:
        report = index_documents(client, index, encoder, docs, options.batch_size, options.chunk_size,
                                 on_failure=on_failure)
    except BaseException:
        client.indices.delete(index=index, ignore_unavailable=True)
        raise
    indices.finish_loading(client, index, options.replicas)
    if report.indexed == 0:
        client.indices.delete(index=index)
        log.error("no document was indexed: alias %s left unchanged", alias)
        return "", report
    indices.switch_alias(client, alias, index, delete_old=not options.keep_old)
    return index, report
