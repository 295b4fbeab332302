"""lacl-search: language-agnostic cross-lingual retrieval on OpenSearch.

Serving flow: documents -> :class:`Encoder` -> bulk actions (:func:`load_documents`) -> OpenSearch index
(BM25 text fields + ``knn_vector``) -> :class:`SearchRequest` -> :class:`Searcher` -> :class:`Hit`.
Training flow (``lacl_trainer``): pairs -> the same :class:`Encoder` -> losses -> checkpoint.
Evaluation: runs (:func:`search_run`, :func:`exact_run`) -> TREC files -> :func:`score_run`.

The public API is importable from the package root (``from lacl_search import Encoder, Searcher``);
names are loaded on first use, so ``import lacl_search`` itself is cheap (no torch, no client).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

_EXPORTS = {
    # core
    "Encoder": "lacl_search.core.encoder",
    "EncoderConfig": "lacl_search.core.encoding",
    "load_encoder": "lacl_search.core.encoding",
    "Document": "lacl_search.core.types",
    "Hit": "lacl_search.core.types",
    "Mode": "lacl_search.core.types",
    "Fusion": "lacl_search.core.types",
    "SearchRequest": "lacl_search.core.request",
    "ClusterSettings": "lacl_search.core.settings",
    "Term": "lacl_search.core.filters",
    "Terms": "lacl_search.core.filters",
    "Range": "lacl_search.core.filters",
    "And": "lacl_search.core.filters",
    "Or": "lacl_search.core.filters",
    "Not": "lacl_search.core.filters",
    "Lexicon": "lacl_search.core.lexicon",
    "load_lexicon": "lacl_search.core.lexicon",
    # serving
    "make_client": "lacl_search.serving.client",
    "connect": "lacl_search.serving.client",
    "Searcher": "lacl_search.serving.search",
    "AsyncSearcher": "lacl_search.serving.async_search",
    "make_async_client": "lacl_search.serving.async_search",
    "BulkOptions": "lacl_search.serving.indexing",
    "LoadOptions": "lacl_search.serving.indexing",
    "load_documents": "lacl_search.serving.indexing",
    "IndexReport": "lacl_search.serving.indexing",
    # evaluation
    "search_run": "lacl_search.evaluation.runs",
    "exact_run": "lacl_search.evaluation.runs",
    "fuse_runs": "lacl_search.evaluation.runs",
    "read_trec_run": "lacl_search.evaluation.runs",
    "write_trec_run": "lacl_search.evaluation.runs",
    "score_run": "lacl_search.evaluation.scoring",
    # errors
    "LaclError": "lacl_search.errors",
    "BadInput": "lacl_search.errors",
    "ConfigError": "lacl_search.errors",
    "ArtifactMissing": "lacl_search.errors",
    "IndexMissing": "lacl_search.errors",
    "ClusterUnavailable": "lacl_search.errors",
    "ClusterError": "lacl_search.errors",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> object:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'lacl_search' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])


if TYPE_CHECKING:  # static analysers see the real names
    from lacl_search.core.encoder import Encoder  # noqa: F401
    from lacl_search.core.encoding import EncoderConfig, load_encoder  # noqa: F401
    from lacl_search.core.filters import And, Not, Or, Range, Term, Terms  # noqa: F401
    from lacl_search.core.lexicon import Lexicon, load_lexicon  # noqa: F401
    from lacl_search.core.request import SearchRequest  # noqa: F401
    from lacl_search.core.settings import ClusterSettings  # noqa: F401
    from lacl_search.core.types import Document, Fusion, Hit, Mode  # noqa: F401
    from lacl_search.errors import (  # noqa: F401
        ArtifactMissing,
        BadInput,
        ClusterError,
        ClusterUnavailable,
        ConfigError,
        IndexMissing,
        LaclError,
    )
    from lacl_search.evaluation.runs import exact_run, fuse_runs, read_trec_run, search_run, write_trec_run  # noqa: F401
    from lacl_search.evaluation.scoring import score_run  # noqa: F401
    from lacl_search.serving.async_search import AsyncSearcher, make_async_client  # noqa: F401
    from lacl_search.serving.client import connect, make_client  # noqa: F401
    from lacl_search.serving.indexing import BulkOptions, IndexReport, LoadOptions, load_documents  # noqa: F401
    from lacl_search.serving.search import Searcher  # noqa: F401
