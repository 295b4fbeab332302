"""lacl-search: language-agnostic cross-lingual retrieval on OpenSearch.

Serving flow: documents -> :class:`lacl_search.encoder.Encoder` -> bulk actions -> OpenSearch index
(BM25 text fields + ``knn_vector``) -> query -> :class:`lacl_search.search.Hit`.
Training flow (``lacl_search.trainer``): pairs -> the same ``Encoder`` -> losses -> checkpoint.
"""

__version__ = "0.1.0"
