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

from lacl_search.core.request import SearchRequest
from lacl_search.core.types import Fusion, Mode
from lacl_search.errors import BadInput
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


FUSIONS = (Fusion.AUTO, Fusion.LEARNED, Fusion.MINMAX)


@dataclass(frozen=True)
class Options:
    """The page's settings, in one order everywhere (widgets, API endpoint, handlers).

    Attributes:
        mode: the ranking shown in the Results tab (:class:`~lacl_search.core.types.Mode`).
        k: hits per ranking (1 to :data:`MAX_K`).
        weight: dense share of a fixed-weight hybrid (0 to 1); set only with ``fusion`` ``minmax``.
        langs: only documents in these languages (empty: all).
        prefer: documents in these languages first, the others kept (empty: language-agnostic ranking).
        group_by: metadata key of translation sets: one hit per set (None: every language version).
        fusion: how hybrid fuses its legs, one of :data:`FUSIONS`: ``auto`` (the index's fitted profile, else
            min-max 0.5/0.5), ``learned`` (the profile's learned ranker) or ``minmax`` at ``weight``.
    """

    mode: Mode = Mode.HYBRID
    k: int = 10
    weight: float | None = None
    langs: tuple[str, ...] = ()
    prefer: tuple[str, ...] = ()
    group_by: str | None = None
    fusion: Fusion = Fusion.AUTO

    @classmethod
    def from_widgets(cls, mode: str | None, k: float | None, weight: float | None, langs: Sequence[str] | None,
                     prefer: Sequence[str] | None = None, group_by: str | None = None,
                     fusion: str | None = None) -> Options:
        """Clamp what the widgets (or an API caller) give: a known mode and fusion, 1 <= k <= 50, 0 <= weight
        <= 1. The weight counts only for fixed-weight fusion: the widgets always send the slider's value, and
        an API caller's weight without a fusion means ``minmax`` at that weight (as in the library)."""
        try:
            parsed = Mode.parse(mode or Mode.HYBRID)
        except BadInput:
            raise QueryError(f"Unknown mode {mode!r}; choose one of {', '.join(MODES)}.") from None
        chosen = _fusion(fusion, weight)
        k_int = min(max(10 if k is None else int(k), 1), MAX_K)
        w = min(max(float(weight), 0.0), 1.0) if chosen is Fusion.MINMAX and weight is not None else None
        return cls(parsed, k_int, w, tuple(langs or ()), tuple(prefer or ()), group_by or None, chosen)


def _fusion(fusion: str | None, weight: float | None) -> Fusion:
    if fusion is None:
        return Fusion.MINMAX if weight is not None else Fusion.AUTO
    try:
        parsed = Fusion.parse(fusion)
    except BadInput:
        parsed = None
    if parsed not in FUSIONS:
        raise QueryError(f"Unknown fusion {fusion!r}; choose one of {', '.join(f.value for f in FUSIONS)}.")
    return parsed


def build_request(query: str | None, options: Options) -> SearchRequest:
    """The library's :class:`SearchRequest` (its one validator: length limit, languages) for the page's
    query and options, or :class:`QueryError` with a message for the user."""
    if not (query or "").strip():
        raise QueryError("Type a query first: any language, any script.")
    try:
        return SearchRequest(query=query, mode=options.mode, k=options.k, weight=options.weight,
                             langs=options.langs, prefer_langs=options.prefer, group_by=options.group_by,
                             fusion=options.fusion)
    except BadInput as exc:
        raise QueryError(f"{str(exc)[0].upper()}{str(exc)[1:]}.") from None


def _search_options(request: SearchRequest, mode: str) -> dict:
    """The keyword options of ``Searcher.search`` for ``request`` in ``mode`` (only the ones set; the fusion
    and its weight only for hybrid)."""
    options: dict = {"mode": mode, "k": request.k, "langs": list(request.langs) or None,
                     "explain": True}  # the page shows each hit's score parts
    if request.prefer_langs:
        options["prefer_langs"] = list(request.prefer_langs)
    if request.group_by:
        options["group_by"] = request.group_by
    if mode == Mode.HYBRID.value and request.fusion is not Fusion.AUTO:
        options["fusion"] = request.fusion.value
        if request.weight is not None:
            options["weight"] = request.weight
    return options


def validate_query(query: str | None) -> str:
    """Return the stripped query, or raise :class:`QueryError` for an empty or over-long one."""
    return build_request(query, Options()).query


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


def run_modes(searcher: SearcherLike, request: SearchRequest, modes: Sequence[str], index: str) -> dict[str, str]:
    """Render the ranking of each of ``modes``; a cluster or index failure stops the remaining modes.

    Args:
        searcher: runs the queries.
        request: the validated request; each mode runs it with that mode.
        modes: subset of :data:`MODES`, in display order.
        index: index name for messages.

    Returns:
        ``{mode: html}``: hits, "no results", or an error message per mode.
    """
    out: dict[str, str] = {}
    fatal: str | None = None
    for mode in modes:
        if fatal is not None:
            out[mode] = render.error_box(fatal)
            continue
        try:
            hits = searcher.search(request.query, **_search_options(request, mode))
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
    options: Options,
) -> SearchView:
    """The pure click handler: validate, detect the language, run three rankings (and the compare).

    Args:
        searchers: encoder name -> searcher; the first is the main one, a second enables the compare.
        index: index name, for messages.
        detect: text -> ISO 639-1 code or None.
        query: raw text from the query box.
        options: the page's settings (:meth:`Options.from_widgets`).

    Returns:
        The HTML of every panel; errors are messages inside it, never exceptions.
    """
    try:
        request = build_request(query, options)
    except QueryError as exc:
        box = render.error_box(str(exc))
        compare = (box,) * len(searchers) if len(searchers) > 1 else ()
        return SearchView(render.language_badge(None), box, dict.fromkeys(MODES, box), compare)
    mode = str(request.mode)
    main, *others = searchers.values()
    columns = run_modes(main, request, MODES, index)
    if all(render.NO_RESULTS_CLASS in html for html in columns.values()) and index_empty(main):
        columns = dict.fromkeys(
            MODES, render.error_box(f"The index {index!r} is empty. Ingest documents first.")
        )
    compare: tuple[str, ...] = ()
    if others:
        extra = [run_modes(s, request, (mode,), index)[mode] for s in others]
        compare = (columns[mode], *extra)
    return SearchView(detect_badge(request.query, detect), columns[mode], columns, compare)


@dataclass(frozen=True)
class PageState:
    """What a page load sets: the header, the languages the filters offer, and the hybrid fusions the index
    supports (``fusions``, the first selected; the slider counts only under ``minmax``)."""

    header: str
    langs: list[str]
    fusions: tuple[str, ...] = tuple(f.value for f in FUSIONS)


def fusion_choices(fusion: Mapping[str, object] | None) -> tuple[str, ...]:
    """The fusions to offer for an index (``Searcher.index_info()["fusion"]``), the default first: the fitted
    profile (and its learned ranker when it has one) and the fixed weight; only the fixed weight without a
    profile for the encoder."""
    if not fusion:
        return tuple(f.value for f in FUSIONS)
    if fusion.get("auto") != Fusion.LANGUAGE.value:
        return (Fusion.MINMAX.value,)
    learned = (Fusion.LEARNED.value,) if fusion.get("learned") else ()
    return (Fusion.AUTO.value, *learned, Fusion.MINMAX.value)


def load_header(searchers: Mapping[str, SearcherLike], index: str) -> PageState:
    """The page-load handler: header HTML, the languages offered by the filters, the fusions offered.

    Runs on every page load, so a cluster started after the demo shows up without a restart.
    """
    main = next(iter(searchers.values()))
    try:
        info = main.index_info()
    except Exception as exc:  # noqa: BLE001 - an unreachable cluster is a message, not a crash
        log.warning("index info failed: %s: %s", type(exc).__name__, exc)
        return PageState(render.header_html(index, None, list(searchers), friendly_error(exc, index)), [])
    langs = info.get("langs") or {}
    return PageState(render.header_html(index, info, list(searchers), None), sorted(map(str, langs)),  # type: ignore[call-overload]
                     fusion_choices(info.get("fusion")))  # type: ignore[arg-type]


def api_search(
    searcher: SearcherLike,
    index: str,
    detect: Detector,
    query: str | None,
    options: Options,
) -> dict:
    """The JSON answer of the ``search`` API endpoint.

    Returns:
        ``{"query", "language", "mode", "hits": [...], "error"}``; ``error`` is None on success and a
        user-facing message otherwise (then ``hits`` is empty).
    """
    answer: dict = {"query": query, "language": None, "mode": str(options.mode), "hits": [], "error": None}
    try:
        request = build_request(query, options)
        answer["language"] = detect(request.query)
        hits = searcher.search(request.query, **_search_options(request, str(request.mode)))
    except Exception as exc:  # noqa: BLE001 - the API answers with a message, not a traceback
        if not isinstance(exc, QueryError):
            log.warning("API search failed: %s: %s", type(exc).__name__, exc)
        answer["error"] = friendly_error(exc, index)
        return answer
    answer["hits"] = [render.hit_dict(hit) for hit in hits]
    return answer
