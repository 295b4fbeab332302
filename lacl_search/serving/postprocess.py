"""Client-side steps after retrieval: a language preference and one hit per translation group.

Both work on a candidate list longer than the page and are pure functions over
:class:`~lacl_search.core.types.Hit` lists. The searchers fetch ``CANDIDATE_FACTOR`` times the block of hits
the page lies in (:func:`ranked_window`: pages of one block rank the same candidates, so they neither repeat
nor skip hits), and when grouping leaves fewer hits than the block needs while the server had more to give (a
set of translations fills several candidate slots: eleven languages per description on the DDTP corpora),
fetch ``WIDENING_FACTOR`` times more, up to ``MAX_WIDENINGS`` times (:func:`wider_window`):

- :func:`prefer_languages` adds ``boost`` to the min-max normalised score of hits in preferred
  languages, so "my language first" and language-agnostic ranking are one flag apart, and documents in
  other languages stay in the list (unlike a filter);
- :func:`group_hits` keeps the first hit of each group (a metadata key, e.g. the id of a set of
  translations), preferring a preferred-language member when the group has one among the candidates
  (scored as the group's first member, so scores still fall down the page), and lists the group's other
  languages among the candidates in ``Hit.variants``; the searchers then ask the index for every language
  of the page's groups (:func:`variants_body`, :func:`attach_variants`: one aggregation), so the list does
  not depend on which members the candidates held.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from lacl_search.core import queries
from lacl_search.core.filters import field_path
from lacl_search.core.request import MAX_WINDOW, SearchRequest
from lacl_search.core.types import Hit

log = logging.getLogger(__name__)
CANDIDATE_FACTOR = 2  # candidates per hit of the ranked block: 60 for pages inside the first 30 hits
WIDENING_FACTOR = 4
MAX_WIDENINGS = 3  # at most 4 requests: a block of 30 grows 60 -> 240 -> 960 -> 3,840 candidates


def ranked_window(request: SearchRequest) -> int:
    """How far down the re-ranked list is built: the page's window rounded up to the hybrid block (``depth``,
    default :data:`~lacl_search.core.queries.HYBRID_DEPTH`), as the hybrid query's ``pagination_depth`` is.
    Every page inside one block then fetches the same candidates and ranks them the same way (min-max
    normalisation and the preference's boost depend on the candidate list), so pages neither repeat nor skip
    hits; a window per page made 38 of 60 preferred hybrid queries repeat a hit within three pages of 10."""
    return min(queries.pagination_depth(request.window, request.depth or queries.HYBRID_DEPTH), MAX_WINDOW)


def candidates_request(request: SearchRequest, k: int | None = None) -> SearchRequest:
    """The request that fetches ``k`` candidates for grouping / preference (from the top; default
    ``CANDIDATE_FACTOR`` times :func:`ranked_window`)."""
    return request.with_changes(offset=0, k=k or min(ranked_window(request) * CANDIDATE_FACTOR, MAX_WINDOW))


def wider_window(request: SearchRequest, k: int, fetched: int, ranked: int) -> int | None:
    """How many candidates to fetch next after ``k`` were asked for, ``fetched`` came back and ranking them
    left ``ranked`` hits; None when the ranked block is full (:func:`ranked_window`: decided per block, not
    per page, so that every page of the block ranks the same candidates), the server had no more, or the
    widening is at its limit."""
    window = ranked_window(request)
    if ranked >= window or fetched < k:
        return None
    wider = min(k * WIDENING_FACTOR, MAX_WINDOW, window * CANDIDATE_FACTOR * WIDENING_FACTOR ** MAX_WIDENINGS)
    return wider if wider > k else None


def prefer_languages(hits: Sequence[Hit], langs: Sequence[str], boost: float) -> list[Hit]:
    """``hits`` re-ranked by min-max normalised score + ``boost`` for documents in ``langs`` (stable); that
    is each hit's ``score`` afterwards, so scores fall down the list (the retrieval scores stay in
    ``Hit.scores``)."""
    if not hits or not langs:
        return list(hits)
    low, high = min(h.score for h in hits), max(h.score for h in hits)
    span = high - low
    for hit in hits:
        normalised = (hit.score - low) / span if span > 0 else 1.0
        hit.score = normalised + (boost if hit.lang in langs else 0.0)
    return sorted(hits, key=lambda hit: hit.score, reverse=True)


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
        best.score = members[group][0].score  # the score that ranked the group (its first member's)
        out.append(best)
    return out


def rank(request: SearchRequest, candidates: Sequence[Hit]) -> list[Hit]:
    """Preference, then grouping (every ranked hit, not yet the page)."""
    ranked = prefer_languages(candidates, request.prefer_langs, request.prefer_boost)
    if request.group_by:
        ranked = group_hits(ranked, request.group_by, request.prefer_langs)
    return ranked


def apply(request: SearchRequest, candidates: Sequence[Hit]) -> list[Hit]:
    """Preference, then grouping, then the requested page."""
    return rank(request, candidates)[request.offset : request.window]


def variants_body(request: SearchRequest, page: Sequence[Hit]) -> dict | None:
    """The request for every language of the groups on a grouped ``page`` (under the request's filters), or
    None (not grouped, or no hit of the page has the key)."""
    if not request.group_by:
        return None
    groups = list({str(v): v for h in page if (v := h.metadata.get(request.group_by)) is not None}.values())
    if not groups:
        if page:
            log.warning("no hit has metadata %r: nothing was grouped (ingest it with --metadata-field %s)",
                        request.group_by, request.group_by)
        return None
    return queries.group_languages_query(field_path(request.group_by), groups, request.filter_clauses())


def attach_variants(page: Sequence[Hit], key: str, response: dict) -> list[Hit]:
    """Each grouped hit's ``variants``: the other languages its group has in the index (``response`` of
    :func:`variants_body`)."""
    langs = {str(bucket["key"]): {b["key"] for b in bucket["langs"]["buckets"]}
             for bucket in response.get("aggregations", {}).get("groups", {}).get("buckets", [])}
    for hit in page:
        group = hit.metadata.get(key)
        if group is not None and str(group) in langs:
            hit.variants = sorted(langs[str(group)] - {hit.lang})
    return list(page)
