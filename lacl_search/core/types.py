"""The vocabulary shared by every layer: :class:`Mode`, :class:`Fusion`, :class:`Document`, :class:`Hit`.

One definition each, used by the library, the command line (its ``choices``), the demo and evaluation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from lacl_search.errors import BadInput


class _Choice(str, Enum):
    """A string enum whose ``str()`` is its value (so it prints and serialises as the plain name)."""

    def __str__(self) -> str:
        return self.value

    @classmethod
    def parse(cls, value: str | _Choice) -> _Choice:
        """The member named ``value`` (case-insensitive), or :class:`BadInput` listing the choices."""
        if isinstance(value, cls):
            return value
        try:
            return cls(str(value).strip().lower())
        except ValueError:
            raise BadInput(f"{cls.__name__.lower()} must be one of {cls.choices()}, got {value!r}") from None

    @classmethod
    def choices(cls) -> list[str]:
        return [m.value for m in cls]


class Mode(_Choice):
    """How a query is answered: lexical BM25, dense k-NN, or both fused."""

    BM25 = "bm25"
    DENSE = "dense"
    HYBRID = "hybrid"


class Fusion(_Choice):
    """How hybrid search combines its legs.

    ``minmax``: min-max normalisation + weighted arithmetic mean (OpenSearch ``normalization-processor``);
    ``rrf``: reciprocal rank fusion (``score-ranker-processor``; Cormack et al., SIGIR 2009);
    ``zscore``: z-score normalisation + weighted arithmetic mean (server-side from OpenSearch 3.0);
    ``wrrf``: RRF with per-leg weights (server-side from OpenSearch 3.x);
    ``language``: language-aware fusion with the index's fitted profile
    (:mod:`lacl_search.core.fusion_profile`);
    ``learned``: the profile's learned ranker over the same legs (:mod:`lacl_search.core.fusion_ranker`;
    client-side only: one ``_msearch`` of the legs, then a fetch of the page);
    ``auto`` (the default): ``language`` where the index has a profile fitted for the encoder, else
    ``minmax``. Every option also runs on the client, so each works on both server lines
    (:mod:`lacl_search.serving.cluster`).
    """

    MINMAX = "minmax"
    RRF = "rrf"
    ZSCORE = "zscore"
    WRRF = "wrrf"
    LANGUAGE = "language"
    LEARNED = "learned"
    AUTO = "auto"


@dataclass
class Document:
    """A document to index. ``lang`` None means: detect it.

    Attributes:
        doc_id: the caller's id; also the OpenSearch ``_id``, so re-ingesting is idempotent.
        text: the body.
        title: optional title; the encoder composes title and body (:meth:`Encoder.document_text`).
        lang: ISO 639-1 code, or None.
        metadata: filterable caller metadata.
    """

    doc_id: str
    text: str
    title: str | None = None
    lang: str | None = None
    metadata: dict | None = None


@dataclass
class Hit:
    """One search result.

    Attributes:
        doc_id: the document's id.
        score: the score the ranking used (BM25, cosine-derived k-NN score, or fused).
        lang: the document's language code, if known.
        title: the document's title, if any.
        text: the document's text.
        scores: score parts: ``bm25``, ``dense`` (raw, per retriever) and ``fused`` (None when absent).
        highlights: BM25 highlight fragments with ``<em>`` tags.
        metadata: the document's metadata.
        variants: with grouping, the other languages the hit's group has in the index (under the filters).
    """

    doc_id: str
    score: float
    lang: str | None = None
    title: str | None = None
    text: str = ""
    scores: dict[str, float | None] = field(default_factory=dict)
    highlights: list[str] = field(default_factory=list)
    metadata: dict = field(default_factory=dict)
    variants: list[str] = field(default_factory=list)
