"""The Gradio app: :func:`build_demo` lays out the page and wires the pure handlers of :mod:`.handlers`.

Building the page opens no connection and loads no model: the searchers are created by the caller
(``lacl-search demo`` at launch, a test fixture in the tests) and queried only when an event fires.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Mapping, Sequence

import gradio as gr

from . import handlers, render
from .handlers import FUSIONS, MAX_K, MODES, Detector
from .protocols import SearcherLike

log = logging.getLogger(__name__)

EXAMPLES = (
    "Werkzeug zum Komprimieren von Dateien",  # German
    "画像を編集するためのプログラム",  # Japanese
    "网页浏览器",  # Chinese
    "утилита для резервного копирования",  # Russian
    "lecteur de musique pour le bureau",  # French
    "editor de texto para la terminal",  # Spanish
    "이메일 클라이언트",  # Korean
    "command-line tool to download files",  # English
)
MODE_CHOICES = [(render.MODE_LABELS[m], m) for m in MODES]


def fusion_radio(fusions: Sequence[str]) -> gr.Radio:
    """The hybrid-fusion control offering ``fusions``, the first selected."""
    return gr.Radio([(render.FUSION_LABELS[f], f) for f in fusions], value=fusions[0],
                    label="Hybrid fusion", elem_id="lacl-fusion")


def weight_slider(fusion: str) -> gr.Slider:
    """The fixed weight, editable only while the fixed-weight fusion is selected (the others ignore it)."""
    return gr.Slider(interactive=fusion == "minmax")


def detect_language(text: str) -> str | None:
    """The library's language detector, imported on first use (lingua loads its models lazily)."""
    from lacl_search.core.langid import detect_language as detect

    return detect(text)


def _controls(grouping: bool) -> tuple:
    with gr.Row():
        mode = gr.Radio(MODE_CHOICES, value="hybrid", label="Mode (Results tab)", elem_id="lacl-mode")
        k = gr.Slider(1, MAX_K, value=10, step=1, label="Results per ranking", elem_id="lacl-k")
    with gr.Row():
        fusion = fusion_radio([f.value for f in FUSIONS])
        weight = gr.Slider(
            0.0,
            1.0,
            value=0.5,
            step=0.05,
            label="Fixed weight: dense share of hybrid (BM25 gets the rest)",
            elem_id="lacl-weight",
            interactive=False,
        )
    with gr.Row():
        langs = gr.CheckboxGroup(
            choices=[], label="Only documents in these languages (none ticked: all)", elem_id="lacl-langs"
        )
        prefer = gr.CheckboxGroup(
            choices=[], label="Prefer these languages (others stay in the ranking)", elem_id="lacl-prefer"
        )
    with gr.Row():
        group = gr.Checkbox(value=grouping, visible=grouping, label="One hit per translation set (other languages "
                            "as badges)", elem_id="lacl-group")
    return mode, weight, k, langs, prefer, group, fusion


def _result_panels(names: Sequence[str]) -> tuple[list[gr.HTML], gr.HTML, list[gr.HTML]]:
    """The side-by-side columns, the single-ranking panel and (with two encoders) the compare columns."""
    with gr.Tabs():
        with gr.Tab("BM25 | dense | hybrid", id="side-by-side"):
            with gr.Row(equal_height=False):
                columns = [gr.HTML(elem_id=f"col-{m}", elem_classes=["lacl-column"]) for m in MODES]
        with gr.Tab("Results", id="results"):
            results = gr.HTML(elem_id="lacl-results")
        compare: list[gr.HTML] = []
        if len(names) > 1:
            with gr.Tab("Compare encoders", id="compare"):
                gr.Markdown("The same query and mode, ranked with each encoder.")
                with gr.Row(equal_height=False):
                    for i, name in enumerate(names):
                        with gr.Column():
                            gr.HTML(f"<b>{html.escape(name)}</b>")
                            compare.append(gr.HTML(elem_id=f"compare-{i}"))
    return columns, results, compare


def _query_row() -> tuple[gr.Textbox, gr.Button]:
    with gr.Row(equal_height=True):
        query = gr.Textbox(
            label="Query (any language, any script)",
            placeholder="e.g. Werkzeug zum Komprimieren von Dateien",
            elem_id="lacl-query",
            scale=5,
            lines=1,
        )
        button = gr.Button("Search", variant="primary", elem_id="lacl-search-button", scale=1)
    return query, button


def _event_functions(searchers: Mapping[str, SearcherLike], index: str, detect: Detector,
                     group_by: str | None) -> tuple:
    """The three functions Gradio calls: click/submit, page load, and the ``search`` API endpoint."""
    main = next(iter(searchers.values()))

    def on_search(text: str, mode: str, k: float, weight: float, langs: list[str], prefer: list[str],
                  grouped: bool, fusion: str) -> tuple[str, ...]:
        options = handlers.Options.from_widgets(mode, k, weight, langs, prefer, group_by if grouped else None,
                                                fusion)
        view = handlers.search_page(searchers, index, detect, text, options)
        return (view.language, view.results, *(view.columns[m] for m in MODES), *view.compare)

    def on_load() -> tuple:
        state = handlers.load_header(searchers, index)
        return (state.header, gr.CheckboxGroup(choices=state.langs), gr.CheckboxGroup(choices=state.langs),
                fusion_radio(state.fusions), weight_slider(state.fusions[0]))

    def search(
        query: str, mode: str = "hybrid", k: int = 10, weight: float | None = None, langs: list[str] | None = None,
        prefer: list[str] | None = None, grouped: bool = False, fusion: str | None = None,
    ) -> dict:
        """Search the index (mode bm25, dense or hybrid; langs = filter; prefer = languages ranked first;
        grouped = one hit per translation set; fusion = how hybrid fuses: auto (the index's fitted profile),
        learned (its learned ranker) or minmax at weight, the dense share; a weight without a fusion means
        minmax).

        Returns {query, language, mode, hits: [{doc_id, lang, title, text, score, scores, highlights,
        variants}], error}; a refused query or an unreachable cluster raises an error with a one-line message.
        """
        try:
            options = handlers.Options.from_widgets(mode, k, weight, langs, prefer, group_by if grouped else None,
                                                    fusion)
        except handlers.QueryError as exc:
            raise gr.Error(str(exc), print_exception=False) from None
        answer = handlers.api_search(main, index, detect, query, options)
        if answer["error"]:
            raise gr.Error(answer["error"], print_exception=False)
        return answer

    return on_search, on_load, search


def build_demo(
    searchers: Mapping[str, SearcherLike],
    index: str,
    detect: Detector | None = None,
    examples: Sequence[str] = EXAMPLES,
    group_by: str | None = None,
) -> gr.Blocks:
    """Build the demo page (not launched).

    Args:
        searchers: encoder name -> searcher over ``index``. The first is the main one; a second one (a
            LACL-trained encoder) adds the "Compare encoders" tab.
        index: index or alias name, shown in the header and in messages.
        detect: text -> ISO 639-1 code or None; default :func:`detect_language`.
        examples: example queries (several languages and scripts).
        group_by: metadata key of translation sets; when set, a checkbox groups hits by it.

    Returns:
        The Blocks app, with the JSON API endpoint ``/search`` for ``gradio_client``.
    """
    if not searchers:
        raise ValueError("build_demo needs at least one searcher")
    names = list(searchers)
    on_search, on_load, search = _event_functions(searchers, index, detect or detect_language, group_by)
    with gr.Blocks(title="lacl-search demo", analytics_enabled=False) as demo:
        header = gr.HTML(render.header_html(index, None, names, None), elem_id="lacl-header")
        query, button = _query_row()
        detected = gr.HTML(render.language_badge(None), elem_id="lacl-detected")
        mode, weight, k, langs, prefer, group, fusion = _controls(group_by is not None)
        gr.Examples(examples=[[q] for q in examples], inputs=[query], label="Examples")
        columns, results, compare = _result_panels(names)
        inputs = [query, mode, k, weight, langs, prefer, group, fusion]
        outputs = [detected, results, *columns, *compare]
        gr.on([button.click, query.submit], on_search, inputs, outputs, api_visibility="private")
        demo.load(on_load, None, [header, langs, prefer, fusion, weight], api_visibility="private")
        fusion.change(weight_slider, fusion, weight, api_visibility="private")
        gr.api(search, api_name="search")
    return demo


def launch(demo: gr.Blocks, host: str = "127.0.0.1", port: int = 7860) -> str:
    """Start ``demo`` on ``host:port`` without blocking; return its local URL.

    Raises:
        RuntimeError: the port is taken (one line for the CLI, not a stack trace).
    """
    try:
        _, url, _ = demo.launch(
            server_name=host,
            server_port=port,
            prevent_thread_lock=True,
            quiet=True,
            show_error=False,
            footer_links=["api"],
        )
    except OSError as exc:
        raise RuntimeError(f"cannot start the demo on {host}:{port}: {exc}") from None
    log.info("demo running at %s", url)
    return url
