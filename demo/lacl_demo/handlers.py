"""Pure handlers of the demo: validate a query, run the rankings, turn errors into messages.

Nothing here imports Gradio, so every function can be tested with a fake searcher. The user's text is
only ever passed to :meth:`SearcherLike.search` as query text; the library builds ``match`` /
``multi_match`` and k-NN bodies from it, never ``query_string``, so no query syntax can be injected.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from opensearchpy.exceptions import ConnectionError as TransportConnectionError
from opensearchpy.exceptions import NotFoundError

from lacl_search.core.request import MAX_QUERY_CHARS
from lacl_search.core.types import Mode
from lacl_search.serving.client import ClusterUnavailable

from . import render
from .protocols import SearcherLike

log = logging.getLogger(__name__)

MODES = tuple(Mode.choices())
MAX_K = 50
Detector = Callable[[str], "str | None"]


class QueryError(ValueError):
    """A query the demo refuses before searching; the message is shown to the user as is."""


@dataclass(frozen=True)
class SearchView:
    """Everything one click renders, as HTML strings.

    Attributes:
        language: the detected-language badge of the query.
        results: the ranking of the selected mode.
        columns: ``{mode: html}`` for the side-by-side view, one entry per mode in :data:`MODES`.
        compare: one ranking per encoder (selected mode), empty when only one encoder is loaded.
    """

    language: str
    results: str
    columns: dict[str, str]
    compare: tuple[str, ...] = ()


def validate_query(query: str | None) -> str:
    """Return the stripped query, or raise :class:`QueryError` for an empty or over-long one."""
    text = (query or "").strip()
    if not text:
        raise QueryError("Type a query first: any language, any script.")
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError(f"The query has {len(text)} characters; the limit is {MAX_QUERY_CHARS}.")
    return text


def normalize_options(mode: str | None, k: float | None, weight: float | None) -> tuple[str, int, float]:
    """Clamp the UI options to what the searcher accepts: a known mode, 1 <= k <= 50, 0 <= weight <= 1."""
    mode = (mode or "hybrid").lower()
    if mode not in MODES:
        raise QueryError(f"Unknown mode {mode!r}; choose one of {', '.join(MODES)}.")
    k_int = min(max(10 if k is None else int(k), 1), MAX_K)
    w = min(max(float(0.5 if weight is None else weight), 0.0), 1.0)
    return mode, k_int, w


def classify_error(exc: Exception) -> str:
    """Sort ``exc`` into ``"query"``, ``"index"`` (missing), ``"cluster"`` (unreachable) or ``"other"``."""
    if isinstance(exc, QueryError):
        return "query"
    # lacl_search.serving.search.IndexMissing is a LookupError; KeyError / IndexError are bugs, not a missing index.
    if isinstance(exc, (NotFoundError, LookupError)) and not isinstance(exc, (KeyError, IndexError)):
        return "index"
    if isinstance(exc, (ClusterUnavailable, TransportConnectionError, OSError)):
        return "cluster"
    return "other"


def friendly_error(exc: Exception, index: str) -> str:
    """A one-sentence message for ``exc``: no stack trace, no URL, no credentials."""
    kind = classify_error(exc)
    if kind == "query":
        return str(exc)
    if kind == "index":
        return f"The index {index!r} does not exist. Ingest a corpus first (lacl-search ingest ...)."
    if kind == "cluster":
        return "The OpenSearch cluster is not reachable. Start it (lacl-search opensearch start) and retry."
    return f"The search failed ({type(exc).__name__}). The server log has the details."


def index_empty(searcher: SearcherLike) -> bool:
    """True when the searcher's index reports no documents (errors count as not empty)."""
    try:
        return int(searcher.index_info().get("docs", 0) or 0) == 0  # type: ignore[call-overload]
    except Exception:  # noqa: BLE001 - a failing info call must not hide the search result
        return False


def detect_badge(query: str, detect: Detector) -> str:
    """The language badge for ``query``; a failing detector reads as "unknown"."""
    try:
        lang = detect(query)
    except Exception:  # noqa: BLE001 - detection is a nicety, never an error page
        log.warning("language detection failed", exc_info=True)
        lang = None
    return render.language_badge(lang)


def run_modes(
    searcher: SearcherLike,
    query: str,
    modes: Sequence[str],
    options: tuple[int, list[str] | None, float],
    index: str,
) -> dict[str, str]:
    """Render the ranking of each of ``modes``; a cluster or index failure stops the remaining modes.

    Args:
        searcher: runs the queries.
        query: validated query text.
        modes: subset of :data:`MODES`, in display order.
        options: ``(k, langs, weight)``.
        index: index name for messages.

    Returns:
        ``{mode: html}``: hits, "no results", or an error message per mode.
    """
    k, langs, weight = options
    out: dict[str, str] = {}
    fatal: str | None = None
    for mode in modes:
        if fatal is not None:
            out[mode] = render.error_box(fatal)
            continue
        try:
            hits = searcher.search(query, mode=mode, k=k, langs=langs, weight=weight)
        except Exception as exc:  # noqa: BLE001 - every failure becomes a message in the page
            log.warning("%s search failed: %s: %s", mode, type(exc).__name__, exc)
            message = friendly_error(exc, index)
            out[mode] = render.error_box(message)
            if classify_error(exc) in ("index", "cluster"):
                fatal = message
            continue
        out[mode] = render.hits_html(hits, mode)
    return out


def search_page(
    searchers: Mapping[str, SearcherLike],
    index: str,
    detect: Detector,
    query: str | None,
    options: tuple[str | None, float | None, float | None, Sequence[str] | None],
) -> SearchView:
    """The pure click handler: validate, detect the language, run three rankings (and the compare).

    Args:
        searchers: encoder name -> searcher; the first is the main one, a second enables the compare.
        index: index name, for messages.
        detect: text -> ISO 639-1 code or None.
        query: raw text from the query box.
        options: ``(mode, k, weight, langs)`` as the widgets give them.

    Returns:
        The HTML of every panel; errors are messages inside it, never exceptions.
    """
    mode, k, weight, langs = options
    try:
        text = validate_query(query)
        mode, k_int, w = normalize_options(mode, k, weight)
    except QueryError as exc:
        box = render.error_box(str(exc))
        compare = (box,) * len(searchers) if len(searchers) > 1 else ()
        return SearchView(render.language_badge(None), box, dict.fromkeys(MODES, box), compare)
    lang_filter = list(langs) if langs else None
    run_options = (k_int, lang_filter, w)
    main, *others = searchers.values()
    columns = run_modes(main, text, MODES, run_options, index)
    if all(render.NO_RESULTS_CLASS in html for html in columns.values()) and index_empty(main):
        columns = dict.fromkeys(
            MODES, render.error_box(f"The index {index!r} is empty. Ingest documents first.")
        )
    compare: tuple[str, ...] = ()
    if others:
        extra = [run_modes(s, text, (mode,), run_options, index)[mode] for s in others]
        compare = (columns[mode], *extra)
    return SearchView(detect_badge(text, detect), columns[mode], columns, compare)


def load_header(searchers: Mapping[str, SearcherLike], index: str) -> tuple[str, list[str]]:
    """The page-load handler: header HTML and the languages offered by the filter.

    Runs on every page load, so a cluster started after the demo shows up without a restart.
    """
    main = next(iter(searchers.values()))
    try:
        info = main.index_info()
    except Exception as exc:  # noqa: BLE001 - an unreachable cluster is a message, not a crash
        log.warning("index info failed: %s: %s", type(exc).__name__, exc)
        return render.header_html(index, None, list(searchers), friendly_error(exc, index)), []
    langs = info.get("langs") or {}
    return render.header_html(index, info, list(searchers), None), sorted(map(str, langs))  # type: ignore[call-overload]


def api_search(
    searcher: SearcherLike,
    index: str,
    detect: Detector,
    query: str | None,
    options: tuple[str, int, float, list[str]],
) -> dict:
    """The JSON answer of the ``search`` API endpoint.

    Returns:
        ``{"query", "language", "mode", "hits": [...], "error"}``; ``error`` is None on success and a
        user-facing message otherwise (then ``hits`` is empty).
    """
    mode, k, weight, langs = options
    answer: dict = {"query": query, "language": None, "mode": mode, "hits": [], "error": None}
    try:
        text = validate_query(query)
        mode, k_int, w = normalize_options(mode, k, weight)
        answer["mode"] = mode
        answer["language"] = detect(text)
        hits = searcher.search(text, mode=mode, k=k_int, langs=list(langs) if langs else None, weight=w)
    except Exception as exc:  # noqa: BLE001 - the API answers with a message, not a traceback
        if not isinstance(exc, QueryError):
            log.warning("API search failed: %s: %s", type(exc).__name__, exc)
        answer["error"] = friendly_error(exc, index)
        return answer
    answer["hits"] = [render.hit_dict(hit) for hit in hits]
    return answer
