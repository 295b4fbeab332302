"""End to end: the demo against a real OpenSearch, driven in Debian's headless Chromium.

Playwright's own browser download does not work on these machines, so the tests launch
``/usr/bin/chromium`` (``scripts/install-chromium.sh`` installs it) through
``launch_persistent_context`` with a fresh user-data folder. The demo runs in this process
(``prevent_thread_lock``) on a free port; every test ingests its own small multilingual corpus into a
throw-away index.

The cross-lingual assertion needs an encoder that knows languages, so it uses the real default model
(``lacl-search model install``, run by CI before the tests); the other test uses the tiny random
encoder of ``tests/tiny_encoder.py``.
"""

from __future__ import annotations

import logging
import re
import socket
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from lacl_search.core.request import MAX_QUERY_CHARS
from lacl_search.core.types import Document
from tests.support import REPO_ROOT

pytestmark = [pytest.mark.integration, pytest.mark.browser]
log = logging.getLogger(__name__)

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
ARTIFACTS = REPO_ROOT / "artifacts"
GERMAN_QUERY = "Werkzeug zum Komprimieren von Dateien"
RELEVANT_ENGLISH = {"en-gzip", "en-xz", "en-zip"}

CORPUS = [
    ("en-gzip", "en", "GNU compression utility",
     "gzip reduces the size of files using Lempel-Ziv coding (LZ77). Whenever possible, each file is "
     "replaced by one with the extension .gz. This package provides the standard compression and "
     "decompression tool."),
    ("en-xz", "en", "XZ-format compression utilities",
     "XZ is the successor to the LZMA compression format, which provides memory-hungry but powerful "
     "compression and fast, easy decompression. This package provides the command-line tools for "
     "compressing and decompressing files."),
    ("en-zip", "en", "Archiver for .zip files",
     "This is InfoZIP's zip program, a compression and file packaging utility that packs many files "
     "into one smaller archive."),
    ("en-firefox", "en", "Mozilla Firefox web browser",
     "Firefox is a powerful, extensible web browser with support for modern web application technologies."),
    ("en-vim", "en", "Vi IMproved - enhanced vi editor",
     "Vim is an almost compatible version of the UNIX editor Vi, with multi-level undo, syntax "
     "highlighting and command line history."),
    ("en-mutt", "en", "text-based mailreader supporting MIME, GPG, PGP and threading",
     "Mutt is a sophisticated text-based mail user agent for reading and sending e-mail."),
    ("en-gimp", "en", "GNU Image Manipulation Program",
     "GIMP is an advanced picture editing and painting program for photo retouching."),
    ("en-rhythmbox", "en", "music player and organizer for GNOME",
     "Rhythmbox is an easy to use music playing and management program supporting many audio formats."),
    ("en-ufw", "en", "program for managing a Netfilter firewall",
     "The Uncomplicated FireWall is a front-end for iptables that makes managing a firewall easy."),
    ("en-fonts", "en", "DejaVu TrueType font family",
     "DejaVu fonts extend the Bitstream Vera fonts to cover more of Unicode."),
    ("en-tetris", "en", "falling blocks puzzle game",
     "A clone of the classic falling blocks game with a networked two-player mode."),
    ("de-gzip", "de", "GNU-Komprimierungswerkzeug",
     "gzip verkleinert Dateien mit Lempel-Ziv-Kodierung (LZ77). Dieses Paket enthält das "
     "Standardwerkzeug zum Komprimieren und Entpacken."),
    ("de-firefox", "de", "Mozilla Firefox Webbrowser",
     "Firefox ist ein leistungsstarker, erweiterbarer Webbrowser mit Unterstützung moderner Webanwendungen."),
    ("de-vim", "de", "Vi IMproved – erweiterter vi-Editor",
     "Vim ist eine fast kompatible Version des UNIX-Editors Vi mit Syntaxhervorhebung."),
    ("ja-xz", "ja", "XZ 形式圧縮ユーティリティ",
     "XZ は LZMA 圧縮形式の後継で、強力な圧縮と高速な展開を提供します。このパッケージはファイルを圧縮・展開する"
     "コマンドラインツールを提供します。"),
    ("ja-gimp", "ja", "GNU 画像処理プログラム", "GIMP は写真の修正に使える高度な画像編集・描画プログラムです。"),
    ("fr-rhythmbox", "fr", "lecteur et organisateur de musique pour GNOME",
     "Rhythmbox est un programme très simple de lecture et de gestion de musique."),
    ("ru-mutt", "ru", "текстовый почтовый клиент",
     "Mutt — мощный текстовый почтовый агент для чтения и отправки электронной почты."),
    ("zh-firefox", "zh", "Mozilla Firefox 网页浏览器", "Firefox 是一个功能强大、可扩展的网页浏览器。"),
    ("es-vim", "es", "Vi IMproved - editor vi mejorado",
     "Vim es una versión casi compatible del editor de UNIX Vi con resaltado de sintaxis."),
]  # fmt: skip
EVIL = ("en-evil", "en", "<img src=x onerror=window.__pwned=1> quarantine",
        "quarantine <script>window.__pwned=2</script> ${window.__pwned=3} </div></em>")  # fmt: skip


def _documents(rows) -> list[Document]:
    return [Document(doc_id=d, lang=lang, title=title, text=text) for d, lang, title, text in rows]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def browser():
    """A Chromium context with a fresh profile (Debian's binary, not Playwright's download)."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/install-chromium.sh")
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="lacl-chromium-") as profile, sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            profile, executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS, headless=True,
            viewport={"width": 1500, "height": 1100},
        )  # fmt: skip
        yield context
        context.close()


@pytest.fixture(scope="module")
def default_encoder():
    """The real offline multilingual model; CI installs it with ``lacl-search model install``."""
    from lacl_search.core.encoder import Encoder

    try:
        return Encoder.from_registry("default", device="cpu")
    except FileNotFoundError as exc:
        pytest.fail(f"the default model is needed for the cross-lingual check: {exc}")


def _ingest(client, alias: str, encoder, rows) -> None:
    from lacl_search.serving.indexing import LoadOptions, load_documents

    _, report = load_documents(client, alias, encoder, _documents(rows), options=LoadOptions(model_name="default"))
    assert report.indexed == len(rows) and report.failed == 0, report.as_dict()
    client.indices.refresh(index=alias)


@contextmanager
def _serve(searchers: dict, index: str) -> Iterator[str]:
    from lacl_demo.app import build_demo, launch

    demo = build_demo(searchers, index)
    url = launch(demo, "127.0.0.1", _free_port())
    try:
        yield url
    finally:
        demo.close()


def _run_query(page, query: str) -> float:
    """Type ``query``, click Search, wait until all three columns show new content; return the seconds."""
    # The inner element: the outer one also holds Gradio's status tracker, which changes on every click.
    columns = [f"#col-{mode} .lacl-column" for mode in ("bm25", "dense", "hybrid")]
    before = [page.inner_html(sel) if page.locator(sel).count() else "" for sel in columns]
    page.fill("#lacl-query textarea", query)
    start = time.perf_counter()
    page.click("#lacl-search-button")
    page.wait_for_function(
        """([columns, before]) => columns.every((sel, i) => {
            const el = document.querySelector(sel);
            return el && el.innerHTML !== before[i] && el.querySelector('.lacl-ranking, .lacl-error');
        })""",
        arg=[columns, before],
        timeout=60_000,
    )
    return time.perf_counter() - start


def _doc_ids(page, mode: str) -> list[str]:
    return page.eval_on_selector_all(f"#col-{mode} .lacl-hit", "els => els.map(e => e.dataset.docId)")


def _set_k(page, k: int) -> None:
    box = page.locator("#lacl-k input[type=number]")
    box.fill(str(k))
    box.press("Enter")


def test_german_query_finds_english_documents_in_dense_and_hybrid(
    browser, os_client, index_name, default_encoder, record_property
):
    from lacl_search.serving.search import Searcher

    _ingest(os_client, index_name, default_encoder, CORPUS)
    with _serve({"default": Searcher(os_client, index=index_name, encoder=default_encoder)}, index_name) as url:
        page = browser.new_page()
        page.goto(url)
        page.wait_for_selector(".lacl-doc-count")
        assert page.inner_text(".lacl-doc-count") == str(len(CORPUS))
        page.wait_for_selector(".lacl-fusion[data-fusion=minmax]")  # no profile: min-max at the slider's weight
        assert page.eval_on_selector_all("#lacl-fusion input", "els => els.map(e => e.value)") == ["minmax"]
        assert not page.is_disabled("#lacl-weight input[type=range]")
        _set_k(page, 5)
        seconds = _run_query(page, GERMAN_QUERY)
        log.info("query -> rendered results: %.2f s", seconds)
        record_property("query_to_render_s", round(seconds, 3))
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "demo-screenshot.png"), full_page=True)
        ranked = {mode: _doc_ids(page, mode) for mode in ("bm25", "dense", "hybrid")}
        log.info("rankings for %r: %s", GERMAN_QUERY, ranked)
        assert page.get_attribute(".lacl-detected", "data-lang") == "de"
        assert all(len(ids) == 5 for ids in (ranked["dense"], ranked["hybrid"])), ranked
        assert len(RELEVANT_ENGLISH & set(ranked["dense"])) >= 2, ranked
        assert RELEVANT_ENGLISH & set(ranked["hybrid"]), ranked
        assert not RELEVANT_ENGLISH & set(ranked["bm25"]), ranked  # what the dense side adds
        assert re.search(r"BM25 (–|\d\.\d{3}) · dense \d\.\d{3} · fused \d\.\d{3}", page.inner_text("#col-hybrid"))
        warm = _run_query(page, "Programm zum Packen von Archiven")  # second query: pipeline and models warm
        log.info("second query -> rendered results: %.2f s", warm)
        record_property("warm_query_to_render_s", round(warm, 3))
        page.close()


def _library(os_client, index, encoder, query: str, **options) -> list:
    from lacl_search.serving.search import Searcher

    return Searcher(os_client, index=index, encoder=encoder).search(query, mode="hybrid", k=5, **options)


def _choose_fusion(page, fusion: str) -> None:
    page.check(f"#lacl-fusion input[value={fusion}]")
    slider = "#lacl-weight input[type=range]"
    page.wait_for_function(f"() => document.querySelector('{slider}').disabled === {str(fusion != 'minmax').lower()}")


def _set_weight(page, weight: float) -> None:
    box = page.locator("#lacl-weight input[type=number]")
    box.fill(str(weight))
    box.press("Enter")


def test_fusion_control_follows_the_index_profile(browser, os_client, index_name, default_encoder):
    """With the quickstart's profile on the index, hybrid ranks by it and the weight slider is locked (it would
    change nothing); "learned ranker" reranks with its ranker; "fixed weight" unlocks the slider and hybrid
    becomes min-max at its value. Every ranking shown is the library's for the same options."""
    from lacl_provision.models.store import SHIPPED_PROFILE
    from lacl_search.core.fusion_profile import FusionProfile
    from lacl_search.serving import profiles
    from lacl_search.serving.search import Searcher

    query = "Programm zum Packen von Archiven"
    _ingest(os_client, index_name, default_encoder, CORPUS)
    shipped = FusionProfile.read(SHIPPED_PROFILE)
    assert shipped.ranker is not None and shipped.ranker.uses_translated_dense  # the translated dense leg too
    assert shipped.ranker.induces  # and induced translations for the languages the lexicon lacks
    assert profiles.attach(os_client, index_name, shipped)
    with _serve({"default": Searcher(os_client, index=index_name, encoder=default_encoder)}, index_name) as url:
        page = browser.new_page()
        page.goto(url)
        page.wait_for_selector(".lacl-fusion[data-fusion=language]")
        assert "learned ranker available" in page.inner_text("#lacl-header")
        assert page.is_checked("#lacl-fusion input[value=auto]")
        assert page.is_disabled("#lacl-weight input[type=range]")
        _set_k(page, 5)
        _run_query(page, query)
        fitted = {mode: _doc_ids(page, mode) for mode in ("bm25", "dense", "hybrid")}
        assert fitted["hybrid"] == [h.doc_id for h in _library(os_client, index_name, default_encoder, query)]

        _choose_fusion(page, "learned")
        _run_query(page, GERMAN_QUERY)
        _run_query(page, query)
        learned = _doc_ids(page, "hybrid")
        log.info("fitted %s, learned hybrid %s", fitted, learned)
        assert len(learned) == 5 and RELEVANT_ENGLISH & set(learned), learned
        shown = [float(x) for x in re.findall(r"fused (-?\d\.\d{3})", page.inner_text("#col-hybrid"))]
        library = _library(os_client, index_name, default_encoder, query, fusion="learned")
        assert learned == [h.doc_id for h in library] and shown == [round(h.score, 3) for h in library]
        assert {m: _doc_ids(page, m) for m in ("bm25", "dense")} == {m: fitted[m] for m in ("bm25", "dense")}

        _choose_fusion(page, "minmax")
        fixed = {}
        for weight in (0.0, 1.0):
            _set_weight(page, weight)
            _run_query(page, GERMAN_QUERY)
            _run_query(page, query)
            fixed[weight] = _doc_ids(page, "hybrid")
            library = _library(os_client, index_name, default_encoder, query, weight=weight)
            assert fixed[weight] == [h.doc_id for h in library], (weight, fixed[weight])
        log.info("fixed weight 0 / 1: %s", fixed)
        assert fixed[0.0] != fixed[1.0]  # the slider now moves the ranking
        page.close()


def test_page_escapes_documents_and_reports_errors(browser, os_client, index_name):
    from lacl_search.serving.search import Searcher
    from tests.tiny_encoder import build_tiny_encoder

    encoder = build_tiny_encoder()
    _ingest(os_client, index_name, encoder, [*CORPUS[:4], EVIL])
    searchers = {"tiny": Searcher(os_client, index=index_name, encoder=encoder)}
    with _serve(searchers, index_name) as url:
        page = browser.new_page()
        page.goto(url)
        page.wait_for_selector(".lacl-doc-count")
        _run_query(page, "quarantine")
        assert "en-evil" in _doc_ids(page, "bm25")
        assert "<img src=x onerror=window.__pwned=1>" in page.inner_text("#col-bm25")
        assert page.evaluate("() => window.__pwned") is None
        assert page.locator("#col-bm25 em").first.inner_text().lower() == "quarantine"
        for query, message in (("   ", "Type a query"), ("x" * (MAX_QUERY_CHARS + 1), f"limit is {MAX_QUERY_CHARS}")):
            _run_query(page, query)
            assert message in page.inner_text("#col-hybrid .lacl-error")
        page.close()
    missing = f"{index_name}-missing"
    with _serve({"tiny": Searcher(os_client, index=missing, encoder=encoder)}, missing) as url:
        page = browser.new_page()
        page.goto(url)
        page.wait_for_selector("#lacl-header .lacl-error")
        assert "does not exist" in page.inner_text("#lacl-header")
        _run_query(page, GERMAN_QUERY)
        assert "does not exist" in page.inner_text("#col-dense .lacl-error")
        assert "Traceback" not in page.content()
        page.close()
