"""lacl-search: language-agnostic cross-lingual retrieval on OpenSearch.

Serving flow: documents -> :class:`lacl_search.core.encoder.Encoder` -> bulk actions -> OpenSearch index
(BM25 text fields + ``knn_vector``) -> query -> :class:`lacl_search.serving.search.Hit`.
Training flow (``lacl_trainer``): pairs -> the same ``Encoder`` -> losses -> checkpoint.
"""

__version__ = "0.1.0"
