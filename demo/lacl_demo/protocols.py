"""The two interfaces the demo needs from the library, as :class:`typing.Protocol` types.

``lacl_search.serving.search.Searcher`` and ``Hit`` satisfy them; the handler tests use small fakes instead.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol


class HitLike(Protocol):
    """What the demo reads from a result (``lacl_search.serving.search.Hit`` has these fields)."""

    @property
    def doc_id(self) -> str: ...
    @property
    def lang(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def text(self) -> str: ...
    @property
    def score(self) -> float: ...
    @property
    def scores(self) -> Mapping[str, float | None]: ...
    @property
    def highlights(self) -> Sequence[str]: ...


class SearcherLike(Protocol):
    """What the demo needs from ``lacl_search.serving.search.Searcher``."""

    def search(self, query: str, **options: object) -> Sequence[HitLike]:
        """``options``: ``mode``, ``k``, ``langs``, ``weight`` and, when set, ``prefer_langs``, ``group_by``."""

    def index_info(self) -> Mapping[str, object]: ...
