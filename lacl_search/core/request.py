"""The search request: one keyword-only object with one validator, shared by every caller.

The library, the command line, the demo and evaluation all build a :class:`SearchRequest`, so the
limits (query length, page depth, weights) are checked in one place and stated once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from lacl_search.core import filters as F
from lacl_search.core import queries
from lacl_search.core.langid import normalize_lang
from lacl_search.core.types import Fusion, Mode
from lacl_search.errors import BadInput

MAX_QUERY_CHARS = 2000
MAX_WINDOW = 10_000  # offset + k: OpenSearch's default index.max_result_window
DEFAULT_WEIGHT = 0.5  # the dense leg's share of a fixed-weight fusion when the caller gives none
_UNWEIGHTED = (Fusion.LANGUAGE, Fusion.LEARNED, Fusion.RRF)


def _fusion(fusion: Fusion, weight: float | None) -> Fusion:
    """``fusion`` as a request with ``weight`` runs it: ``auto`` with a weight is min-max at that weight (the
    caller asked for a fixed weighting), and a fusion that has no use for the weight refuses it."""
    if weight is None:
        return fusion
    if fusion is Fusion.AUTO:
        return Fusion.MINMAX
    if fusion in _UNWEIGHTED:
        why = "is unweighted (wrrf takes a weight)" if fusion is Fusion.RRF else "weighs by the index's fusion profile"
        raise BadInput(f"weight is for the fixed-weight fusions (minmax, zscore, wrrf); {fusion.value} fusion {why}")
    return fusion


def _codes(langs: Sequence[str] | None) -> tuple[str, ...]:
    """Normalised language codes, unknown ones dropped, duplicates removed, order kept."""
    return tuple(dict.fromkeys(code for code in (normalize_lang(x) for x in langs or ()) if code))


@dataclass(frozen=True, kw_only=True)
class SearchRequest:
    """What to search and how.

    Attributes:
        query: query text in any language (stripped; 1 to ``MAX_QUERY_CHARS`` characters).
        mode: :class:`Mode` (or its name).
        k: hits per page.
        offset: hits skipped before the page (pagination; ``offset + k <= MAX_WINDOW``).
        langs: only documents in these languages (ISO 639-1 or locale codes; normalised).
        filter: a structured filter (:mod:`lacl_search.core.filters`) on ``lang``, ``doc_id`` or metadata.
        fusion: :class:`Fusion` for hybrid search (``auto``: the index's language-aware profile when it
            has one for the encoder, else ``minmax``; ``auto`` with a ``weight`` is ``minmax`` at that weight).
        weight: the dense leg's share of a fixed-weight fusion (``minmax``, ``zscore``, ``wrrf``) in ``[0, 1]``
            (BM25 gets ``1 - weight``); None: 0.5 (:attr:`dense_weight`). Giving one asks for that weighting,
            so it is refused with ``language``, ``learned`` and ``rrf`` fusion, whose weights come from elsewhere
            (the index's profile; none), instead of being ignored.
        query_lang: the query's language when the caller knows it (skips detection).
        explain: attach each leg's score to hybrid hits (one extra request; off by default: without it a
            hybrid hit carries its fused score only).
        group_by: return one hit per value of this metadata key (e.g. a translation set's id): the best
            ranked one, or one in ``prefer_langs`` when the group has it; the group's other languages in
            the index (under the filters) go to ``Hit.variants``.
        prefer_langs: languages to rank first without filtering the others out (``Hit.score`` is then the
            ranking score below; the retrieval scores stay in ``Hit.scores``).
        prefer_boost: how much a preferred language adds to a hit's score normalised to [0, 1] within the
            candidates (0.2: a preferred document overtakes others up to a fifth of the score range above it).
        fetch: False: hits carry their id, scores, language and metadata only (no title, text or highlights),
            for callers that need the ranking alone (``search --queries`` runs): less to send, parse and
            highlight.
        depth: hits each hybrid leg contributes to normalisation and fusion (server-side
            ``pagination_depth``; default :data:`~lacl_search.core.queries.HYBRID_DEPTH`): deeper costs server
            time, shallower moves min-max normalisation (docs/fusion.md, "Hybrid depth").
    """

    query: str
    mode: Mode = Mode.HYBRID
    k: int = 10
    offset: int = 0
    langs: tuple[str, ...] = ()
    filter: F.Filter | None = None
    fusion: Fusion = Fusion.AUTO
    weight: float | None = None
    query_lang: str | None = None
    explain: bool = False
    group_by: str | None = None
    prefer_langs: tuple[str, ...] = ()
    prefer_boost: float = 0.2
    depth: int | None = None
    fetch: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.query, str) or not self.query.strip():
            raise BadInput("query is empty")
        query = self.query.strip()
        if len(query) > MAX_QUERY_CHARS:
            raise BadInput(f"query is {len(query)} characters long; the limit is {MAX_QUERY_CHARS}")
        if isinstance(self.k, bool) or not isinstance(self.k, int) or self.k < 1:
            raise BadInput(f"k must be a positive integer, got {self.k!r}")
        if isinstance(self.offset, bool) or not isinstance(self.offset, int) or self.offset < 0:
            raise BadInput(f"offset must be a non-negative integer, got {self.offset!r}")
        if self.offset + self.k > MAX_WINDOW:
            raise BadInput(f"offset + k must be at most {MAX_WINDOW}, got {self.offset + self.k}")
        if self.weight is not None and not 0.0 <= float(self.weight) <= 1.0:
            raise BadInput(f"weight must lie in [0, 1], got {self.weight}")
        if isinstance(self.langs, str) or isinstance(self.prefer_langs, str):
            raise BadInput("langs and prefer_langs take a list of language codes, not one string")
        if not 0.0 <= float(self.prefer_boost) <= 1.0:
            raise BadInput(f"prefer_boost must lie in [0, 1], got {self.prefer_boost}")
        if self.depth is not None and (isinstance(self.depth, bool) or not isinstance(self.depth, int)
                                       or not 1 <= self.depth <= MAX_WINDOW):
            raise BadInput(f"depth must be an integer in [1, {MAX_WINDOW}], got {self.depth!r}")
        if self.group_by is not None and not str(self.group_by).strip():
            raise BadInput("group_by names a metadata key")
        object.__setattr__(self, "query", query)
        object.__setattr__(self, "mode", Mode.parse(self.mode))
        object.__setattr__(self, "fusion", _fusion(Fusion.parse(self.fusion), self.weight))
        object.__setattr__(self, "weight", None if self.weight is None else float(self.weight))
        object.__setattr__(self, "langs", _codes(self.langs))
        object.__setattr__(self, "prefer_langs", _codes(self.prefer_langs))
        object.__setattr__(self, "query_lang", normalize_lang(self.query_lang))

    @property
    def dense_weight(self) -> float:
        """The dense leg's share of a fixed-weight fusion (``weight``, else :data:`DEFAULT_WEIGHT`)."""
        return DEFAULT_WEIGHT if self.weight is None else self.weight

    @property
    def window(self) -> int:
        """How many hits the page reaches down to (``offset + k``)."""
        return self.offset + self.k

    @property
    def hybrid_depth(self) -> int:
        """The hybrid query's ``pagination_depth``: hits per leg normalised and fused, in blocks of ``depth``
        (default :data:`lacl_search.core.queries.HYBRID_DEPTH`) reaching down to the page's window."""
        return queries.pagination_depth(self.window, self.depth or queries.HYBRID_DEPTH)

    @property
    def reranks(self) -> bool:
        """Whether hits are grouped or re-ranked on the client after retrieval."""
        return self.group_by is not None or bool(self.prefer_langs)

    def combined_filter(self) -> F.Filter | None:
        """The language restriction and the structured filter, ANDed."""
        langs = F.Terms("lang", self.langs) if self.langs else None
        return F.all_of(langs, self.filter)

    def filter_clauses(self) -> list[dict]:
        """The filter as a list of DSL clauses (empty when unfiltered)."""
        combined = self.combined_filter()
        return [] if combined is None else [F.to_query(combined)]

    def with_changes(self, **changes: object) -> SearchRequest:
        """A copy with some fields replaced (validated again)."""
        return replace(self, **changes)
