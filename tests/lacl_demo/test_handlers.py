"""The demo's pure handlers and HTML rendering, with a fake searcher (no cluster, no model)."""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
from dataclasses import dataclass, field

import pytest
from opensearchpy.exceptions import ConnectionError as TransportConnectionError

from lacl_demo import handlers, render
from lacl_demo.handlers import MODES, Options, QueryError
from lacl_search.core.request import MAX_QUERY_CHARS
from lacl_search.core.types import Fusion
from lacl_search.serving.client import ClusterUnavailable


@dataclass
class FakeHit:
    doc_id: str
    lang: str | None
    title: str | None
    text: str
    score: float
    scores: dict = field(default_factory=dict)
    highlights: list = field(default_factory=list)


class FakeIndexMissing(LookupError):
    """Stands in for ``lacl_search.serving.search.IndexMissing`` (a LookupError)."""


class FakeSearcher:
    """Returns fixed hits per mode (or raises ``error``) and records every call."""

    def __init__(self, hits=None, error=None, info=None):
        self.hits = hits if hits is not None else {m: [_hit(f"{m}-1", "en")] for m in MODES}
        self.error = error
        self.info = info if info is not None else {"index": "docs", "docs": 3, "langs": {"en": 2, "de": 1}}
        self.calls = []

    def search(self, query, mode="hybrid", k=10, langs=None, **extra):
        self.calls.append({"query": query, "mode": mode, "k": k, "langs": langs, **extra})
        if self.error is not None:
            raise self.error
        return self.hits[mode]

    def index_info(self):
        if isinstance(self.error, (ClusterUnavailable, FakeIndexMissing)):
            raise self.error
        return self.info


def _hit(doc_id, lang, title="A title", text="some text", highlights=()):
    return FakeHit(doc_id, lang, title, text, 1.5, {"bm25": 1.5, "dense": None, "fused": None}, list(highlights))


def _page(searchers, query, mode="hybrid", k=10, weight=0.5, langs=None, detect=lambda q: "de", fusion="auto"):
    """A click: the widgets send the slider's weight and the fusion radio's value every time."""
    if not isinstance(searchers, dict):
        searchers = {"enc": searchers}
    options = Options.from_widgets(mode, k, weight, langs, fusion=fusion)
    return handlers.search_page(searchers, "docs", detect, query, options)

AUTO, MINMAX = Fusion.AUTO, Fusion.MINMAX


# ------------------------------------------------------------------------------------ validation
@pytest.mark.parametrize("query", [None, "", "   \n\t "])
def test_empty_query_is_refused(query):
    with pytest.raises(QueryError, match="Type a query"):
        handlers.validate_query(query)


def test_over_long_query_is_refused_at_the_limit():
    assert handlers.validate_query("x" * MAX_QUERY_CHARS) == "x" * MAX_QUERY_CHARS
    with pytest.raises(QueryError, match=str(MAX_QUERY_CHARS)):
        handlers.validate_query("x" * (MAX_QUERY_CHARS + 1))


def test_options_are_clamped_and_mode_checked():
    assert Options.from_widgets("BM25", 0, -1, None, fusion="minmax") == Options("bm25", 1, 0.0, (), fusion=MINMAX)
    assert Options.from_widgets(None, 500.0, 2, ["de"], fusion="minmax") == Options(
        "hybrid", handlers.MAX_K, 1.0, ("de",), fusion=MINMAX)
    with pytest.raises(QueryError, match="Unknown mode"):
        Options.from_widgets("sparse", 10, 0.5, None)


def test_the_weight_counts_only_for_the_fixed_weight_fusion():
    """The slider always sends its value; under the fitted profile or the learned ranker it means nothing, so it
    is dropped. An API caller's weight without a fusion asks for min-max at it, as in the library."""
    assert Options.from_widgets("hybrid", 10, 0.3, [], fusion="auto") == Options(weight=None, fusion=AUTO)
    assert Options.from_widgets("hybrid", 10, 0.3, [], fusion="learned").weight is None
    assert Options.from_widgets("hybrid", 10, 0.3, []) == Options(weight=0.3, fusion=MINMAX)
    assert Options.from_widgets("hybrid", 10, None, []) == Options(weight=None, fusion=AUTO)
    for bad in ("rrf", "sparse"):
        with pytest.raises(QueryError, match="Unknown fusion"):
            Options.from_widgets("hybrid", 10, 0.5, [], fusion=bad)


# ------------------------------------------------------------------------------------ escaping
@pytest.mark.parametrize(
    ("fragment", "expected"),
    [
        ("a <em>Editor</em> b", 'a <em style="{s}">Editor</em> b'),
        ("<script>x</script> <em>hit</em>", '&lt;script&gt;x&lt;/script&gt; <em style="{s}">hit</em>'),
        ("<em>open only", '<em style="{s}">open only</em>'),
        ("stray</em> <em>x</em></em>", 'stray <em style="{s}">x</em>'),
        ('<em onclick="alert(1)">x', "&lt;em onclick=&quot;alert(1)&quot;&gt;x"),
        ("<em><em>nested</em>", '<em style="{s}">nested</em>'),
        ("</div><img src=x onerror=alert(1)>", "&lt;/div&gt;&lt;img src=x onerror=alert(1)&gt;"),
    ],
)
def test_safe_highlight_keeps_only_balanced_em(fragment, expected):
    assert render.safe_highlight(fragment) == expected.format(s=render._EM_STYLE)


def test_hit_html_escapes_every_document_field():
    evil = '"><script>alert(1)</script>'
    hit = FakeHit(evil, evil, evil, evil, 1.0, {}, [])
    out = render.hit_html(hit, 1)
    assert "<script" not in out
    assert "&lt;script&gt;" in out
    assert 'data-doc-id="&quot;&gt;&lt;script' in out


def test_snippet_uses_highlights_else_truncated_text():
    assert "<em" in render.snippet("ignored", ["the <em>term</em>"])
    long_text = "word " * 200
    out = render.snippet(long_text, [])
    assert out.endswith("…") and len(out) <= render.SNIPPET_CHARS + 2
    assert render.snippet("a < b & c", []) == "a &lt; b &amp; c"


def test_score_parts_show_a_dash_for_absent_parts():
    assert render.score_parts({"bm25": 7.21, "dense": None}) == "BM25 7.210 · dense – · fused –"


def test_hit_without_title_or_lang_renders():
    out = render.hit_html(FakeHit("d1", None, None, "text", 0.5, {}, []), 3)
    assert "d1" in out and "3." in out and "?" in out


# ------------------------------------------------------------------------------------ the click handler
def test_search_page_renders_three_rankings_and_the_selected_one():
    searcher = FakeSearcher()
    view = _page(searcher, "  Dateien komprimieren ", mode="dense", k=5, weight=0.3, fusion="minmax")
    assert [c["mode"] for c in searcher.calls] == list(MODES)
    assert all(c["query"] == "Dateien komprimieren" and c["k"] == 5 for c in searcher.calls)
    assert {c["mode"]: c.get("weight") for c in searcher.calls} == {"bm25": None, "dense": None, "hybrid": 0.3}
    for mode in MODES:
        assert f'data-doc-id="{mode}-1"' in view.columns[mode]
    assert view.results == view.columns["dense"]
    assert 'data-lang="de"' in view.language and "German" in view.language
    assert view.compare == ()


def test_query_syntax_is_passed_verbatim_as_query_text():
    searcher = FakeSearcher()
    query = 'title:(foo OR bar) AND text:"x" ~2 *:* \\ {"script": 1}'
    _page(searcher, query)
    assert {c["query"] for c in searcher.calls} == {query}


def test_language_filter_is_passed_as_a_list_and_empty_means_all():
    searcher = FakeSearcher()
    _page(searcher, "q", langs=("en", "ja"))
    assert searcher.calls[0]["langs"] == ["en", "ja"]
    searcher.calls.clear()
    _page(searcher, "q", langs=[])
    assert searcher.calls[0]["langs"] is None


@pytest.mark.parametrize("query", ["", "x" * (MAX_QUERY_CHARS + 1)])
def test_bad_query_shows_a_message_everywhere_and_searches_nothing(query):
    searcher = FakeSearcher()
    view = _page({"a": searcher, "b": FakeSearcher()}, query)
    assert searcher.calls == []
    for html in (view.results, *view.columns.values(), *view.compare):
        assert 'class="lacl-error"' in html
    assert len(view.compare) == 2


def test_unreachable_cluster_is_one_message_without_traceback_or_credentials():
    exc = ClusterUnavailable("OpenSearch at http://admin:s3cret@10.0.0.1:9200 is not reachable")
    searcher = FakeSearcher(error=exc)
    view = _page(searcher, "query")
    assert len(searcher.calls) == 1  # the other modes are not retried
    for html in view.columns.values():
        assert "not reachable" in html
        assert "s3cret" not in html and "admin" not in html and "Traceback" not in html


def test_transport_connection_error_counts_as_unreachable():
    assert handlers.classify_error(TransportConnectionError("N/A", "refused", None)) == "cluster"
    assert handlers.classify_error(ConnectionRefusedError()) == "cluster"


def test_missing_index_is_named_in_the_message():
    view = _page(FakeSearcher(error=FakeIndexMissing("nope")), "query")
    assert "The index &#x27;docs&#x27; does not exist" in view.results


def test_unexpected_error_names_its_type_only():
    view = _page(FakeSearcher(error=RuntimeError("search failed: {'secret': 'body'}")), "query")
    assert "RuntimeError" in view.results and "secret" not in view.results


def test_key_error_is_not_mistaken_for_a_missing_index():
    assert handlers.classify_error(KeyError("hits")) == "other"


def test_empty_index_says_so():
    searcher = FakeSearcher(hits={m: [] for m in MODES}, info={"docs": 0, "langs": {}})
    view = _page(searcher, "query")
    assert "is empty" in view.results


def test_no_results_in_a_filled_index_says_no_results():
    view = _page(FakeSearcher(hits={m: [] for m in MODES}), "query")
    assert render.NO_RESULTS_CLASS in view.results and "is empty" not in view.results


def test_failing_language_detection_reads_unknown():
    def broken(text):
        raise RuntimeError("lingua exploded")

    view = _page(FakeSearcher(), "query", detect=broken)
    assert "unknown" in view.language


def test_compare_runs_the_second_encoder_in_the_selected_mode_only():
    main, lacl = FakeSearcher(), FakeSearcher(hits={m: [_hit("lacl-doc", "ja")] for m in MODES})
    view = _page({"default": main, "lacl": lacl}, "query", mode="dense")
    assert [c["mode"] for c in lacl.calls] == ["dense"]
    assert view.compare[0] == view.columns["dense"]
    assert 'data-doc-id="lacl-doc"' in view.compare[1]


# ------------------------------------------------------------------------------------ header and API
def test_header_lists_index_documents_languages_and_encoders():
    info = {"index": "docs", "docs": 1234, "langs": {"en": 1000, "de": 234}, "model": "default"}
    state = handlers.load_header({"e5 <small>": FakeSearcher(info=info)}, "docs")
    assert "1,234" in state.header and ">en<" in state.header and ">de<" in state.header
    assert "e5 &lt;small&gt;" in state.header and "<small>" not in state.header
    assert state.langs == ["de", "en"]


def test_header_reports_an_unreachable_cluster():
    state = handlers.load_header({"e": FakeSearcher(error=ClusterUnavailable("down"))}, "docs")
    assert "not reachable" in state.header and state.langs == []


def test_header_reports_an_empty_index():
    state = handlers.load_header({"e": FakeSearcher(info={"docs": 0, "langs": {}})}, "docs")
    assert "is empty" in state.header


@pytest.mark.parametrize(
    ("fusion", "says", "choices"),
    [
        ({"auto": "language", "learned": True, "languages": ["de", "fr"], "lexicon": "x"},
         "fitted language-aware fusion (weights for 2 query languages and a fallback, learned ranker available)",
         ("auto", "learned", "minmax")),
        ({"auto": "language", "learned": False, "languages": [], "lexicon": None},
         "fitted language-aware fusion (fallback weights)", ("auto", "minmax")),
        ({"auto": "minmax", "learned": False, "languages": [], "lexicon": None},
         "min-max at the slider", ("minmax",)),
    ],
)  # fmt: skip
def test_header_says_what_hybrid_fuses_with_and_offers_only_what_the_index_has(fusion, says, choices):
    info = {"index": "docs", "docs": 3, "langs": {"en": 3}, "fusion": fusion}
    state = handlers.load_header({"e": FakeSearcher(info=info)}, "docs")
    assert says in state.header and state.fusions == choices


def test_api_search_returns_plain_hits_and_errors_as_messages():
    searcher = FakeSearcher(hits={m: [_hit("d1", "en", text="<b>raw</b>")] for m in MODES})
    answer = handlers.api_search(searcher, "docs", lambda q: "de", "Frage", Options.from_widgets("bm25", 3, 0.5, []))
    assert answer["error"] is None and answer["language"] == "de" and answer["mode"] == "bm25"
    assert answer["hits"][0]["doc_id"] == "d1" and answer["hits"][0]["text"] == "<b>raw</b>"
    failed = handlers.api_search(searcher, "docs", lambda q: None, "", Options.from_widgets("bm25", 3, 0.5, []))
    assert failed["hits"] == [] and "Type a query" in failed["error"]


# ------------------------------------------------------------------------------------ app and CLI
def test_cli_registration_imports_neither_gradio_nor_torch():
    code = (
        "import sys, argparse; import lacl_demo.cli as c; "
        "p = argparse.ArgumentParser(); c.register(p.add_subparsers()); "
        "assert 'gradio' not in sys.modules and 'torch' not in sys.modules, sorted(sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_cli_defaults_bind_localhost():
    from lacl_demo import cli

    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers())
    args = parser.parse_args(["demo"])
    assert (args.host, args.port, args.model, args.compare_model) == ("127.0.0.1", 7860, "default", None)


def test_build_demo_queries_nothing_until_an_event():
    from lacl_demo.app import build_demo

    searcher = FakeSearcher()
    demo = build_demo({"enc": searcher}, "docs", detect=lambda q: "en")
    assert searcher.calls == []
    assert "search" in {d.api_name for d in demo.fns.values()}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_search_endpoint_answers_gradio_client():
    from gradio_client import Client

    from lacl_demo.app import build_demo, launch

    demo = build_demo({"enc": FakeSearcher()}, "docs", detect=lambda q: "de")
    url = launch(demo, "127.0.0.1", _free_port())
    try:
        client = Client(url, verbose=False)
        answer = client.predict(query="Dateien", mode="dense", k=3, weight=0.5, langs=[], api_name="/search")
        assert answer["hits"][0]["doc_id"] == "dense-1" and answer["language"] == "de"
        with pytest.raises(Exception, match="Type a query"):
            client.predict(query=" ", api_name="/search")
    finally:
        demo.close()


def test_preference_and_grouping_reach_the_searcher_only_when_set():
    searcher = FakeSearcher()
    handlers.search_page({"enc": searcher}, "docs", lambda q: "de", "q", Options.from_widgets("dense", 5, None, []))
    assert all(set(c) == {"query", "mode", "k", "langs", "explain"} for c in searcher.calls)
    assert all(c["explain"] for c in searcher.calls)  # the page shows score parts
    searcher.calls.clear()
    options = Options.from_widgets("dense", 5, 0.5, [], prefer=["de"], group_by="group")
    handlers.search_page({"enc": searcher}, "docs", lambda q: "de", "q", options)
    assert all(c["prefer_langs"] == ["de"] and c["group_by"] == "group" for c in searcher.calls)


def test_variants_render_as_badges():
    hit = _hit("a-en", "en")
    hit.variants = ["de", "ja"]
    html = render.hit_html(hit, 1)
    assert "lacl-variants" in html and html.count('class="lacl-lang"') == 3
    assert render.hit_dict(hit)["variants"] == ["de", "ja"]


@pytest.mark.parametrize(
    ("fusion", "hybrid"),
    [("auto", {}), ("learned", {"fusion": "learned"}), ("minmax", {"fusion": "minmax", "weight": 0.3})],
)
def test_fusion_and_weight_reach_the_hybrid_search_only(fusion, hybrid):
    """The fitted profile is the searcher's default (nothing passed); the slider's weight goes with min-max only."""
    searcher = FakeSearcher()
    _page(searcher, "q", k=5, weight=0.3, fusion=fusion)
    sent = {c["mode"]: {key: c[key] for key in ("fusion", "weight") if key in c} for c in searcher.calls}
    assert sent == {"bm25": {}, "dense": {}, "hybrid": hybrid}
