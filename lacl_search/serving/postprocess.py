"""Client-side steps after retrieval: a language preference and one hit per translation group.

Both work on a candidate list longer than the page (the searchers fetch ``CANDIDATE_FACTOR`` times the
page window) and are pure functions over :class:`~lacl_search.core.types.Hit` lists:

- :func:`prefer_languages` adds ``boost`` to the min-max normalised score of hits in preferred
  languages, so "my language first" and language-agnostic ranking are one flag apart, and documents in
  other languages stay in the list (unlike a filter);
- :func:`group_hits` keeps the first hit of each group (a metadata key, e.g. the id of a set of
  translations), preferring a preferred-language member when the group has one among the candidates,
  and lists the group's other languages in ``Hit.variants``.
"""

from __future__ import annotations

from collections.abc import Sequence

from lacl_search.core.request import MAX_WINDOW, SearchRequest
from lacl_search.core.types import Hit

CANDIDATE_FACTOR = 4


def candidates_request(request: SearchRequest) -> SearchRequest:
    """The request that fetches the candidates for grouping / preference (from the top, larger window)."""
    return request.with_changes(offset=0, k=min(request.window * CANDIDATE_FACTOR, MAX_WINDOW))


def prefer_languages(hits: Sequence[Hit], langs: Sequence[str], boost: float) -> list[Hit]:
    """``hits`` re-ranked by min-max normalised score + ``boost`` for documents in ``langs`` (stable)."""
    if not hits or not langs:
        return list(hits)
    low, high = min(h.score for h in hits), max(h.score for h in hits)
    span = high - low

    def key(hit: Hit) -> float:
        normalised = (hit.score - low) / span if span > 0 else 1.0
        return normalised + (boost if hit.lang in langs else 0.0)

    return sorted(hits, key=key, reverse=True)


def group_hits(hits: Sequence[Hit], key: str, prefer: Sequence[str] = ()) -> list[Hit]:
    """One hit per value of ``metadata[key]`` (hits without it are their own group), in rank order."""
    order: list[str] = []
    members: dict[str, list[Hit]] = {}
    for hit in hits:
        group = str(hit.metadata.get(key, f"\0{hit.doc_id}"))
        if group not in members:
            order.append(group)
            members[group] = []
        members[group].append(hit)
    out = []
    for group in order:
        best = next((h for h in members[group] if h.lang in prefer), members[group][0])
        best.variants = sorted({h.lang for h in members[group] if h is not best and h.lang})
        out.append(best)
    return out


def apply(request: SearchRequest, candidates: Sequence[Hit]) -> list[Hit]:
    """Preference, then grouping, then the requested page."""
    ranked = prefer_languages(candidates, request.prefer_langs, request.prefer_boost)
    if request.group_by:
        ranked = group_hits(ranked, request.group_by, request.prefer_langs)
    return ranked[request.offset : request.window]
