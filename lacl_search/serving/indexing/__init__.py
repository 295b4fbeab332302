"""The write path: embed documents and load them into a versioned index behind an alias.

Documents flow: ``Iterable[Document]`` -> stored-hash lookup (:mod:`.incremental`, unchanged documents
skipped) -> :meth:`Encoder.encode_documents` (a background thread, length-sorted windows) -> bulk
actions (``_id`` = ``doc_id``) -> concurrent, byte-bounded bulk requests that retry 429s and outages
(:mod:`.bulk`), every per-document failure counted in an :class:`IndexReport` (:mod:`.pipeline`).

A logical index name (``docs``) is an alias. Each build is a concrete index ``<alias>-<timestamp>``
whose mapping ``_meta`` records the model and its build state (:mod:`.versions`). :func:`load_documents`
writes into the index built with the same model, or builds (or resumes) another one and moves the alias
to it only when it is complete (:mod:`.load`).

Modules: ``bulk`` (chunks, retries, concurrency), ``incremental`` (content hashes), ``pipeline``
(encode + write, the report), ``versions`` (concrete indices, ``_meta``, the alias), ``load`` (the job).
"""

from lacl_search.core.types import Document

from .bulk import BulkOptions, bulk_client
from .incremental import content_hash, model_key
from .load import LoadOptions, LoadResult, finish_build, load, load_documents, prepare_target
from .pipeline import MAX_ERRORS_KEPT, SORT_WINDOW_BATCHES, IndexReport, index_documents, with_language
from .versions import (
    alias_targets,
    check_index_name,
    create_index,
    delete_alias_and_indices,
    find_index,
    find_unfinished,
    finish_loading,
    icu_available,
    index_meta,
    model_meta,
    switch_alias,
)

__all__ = [
    "MAX_ERRORS_KEPT", "SORT_WINDOW_BATCHES", "BulkOptions", "Document", "IndexReport", "LoadOptions",
    "LoadResult", "alias_targets", "bulk_client", "check_index_name", "content_hash", "create_index",
    "delete_alias_and_indices", "find_index", "find_unfinished", "finish_build", "finish_loading",
    "icu_available", "index_documents", "index_meta", "load", "load_documents", "model_key", "model_meta",
    "prepare_target", "switch_alias", "with_language",
]
